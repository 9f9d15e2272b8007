"""Token representations: sentences in, one row per content token per layer out.

- ``sampling``: which tokens (uniform over the corpus, or the fewest sentences holding them);
- ``extraction``: tokenise, encode in batches and keep the sampled rows (``TokenSample``);
- ``hidden_states``: the per-layer hidden states of one batch, pooled to content tokens;
- ``cache``: the content-keyed on-disk cache of ``TokenSample``s;
- ``word_alignment``: matching words across two tokenisations (two models on the same sentences).

The run's orchestrator of these (cache first, encoder only on a miss) is
``geomexp.experiment.representations.Representations``.
"""
