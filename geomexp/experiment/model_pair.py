"""The ``model_pair`` input: the run's model and another model on the SAME corpus sentences, their
words matched by character span (``geomexp.representations.word_alignment``).

The run's sample (e.g. the uniform token draw) holds some tokens of each of its sentences; a word
needs all its sub-tokens, so up to ``n_sentences`` of the sample's sentences (drawn with the run's
seed) are encoded WHOLE by both models, through ``Representations.encode`` (content-keyed cache:
a second run, or the STS-style ``encode`` of the same sentences, is a cache hit). The other model is
the ``conf/model/<other>.yaml`` option, on the run's device, under the run's sampling settings
(``max_length``, special tokens). The runner prepares one ``ModelPairSource`` per run and asks it
for each analysed layer and space (``at``); the analysis only does arithmetic on arrays.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from geomexp.representations.extraction import TokenSample
from geomexp.representations.word_alignment import WordAlignment, align_words, unit_means

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelPair:
    """What ``analysis=model_similarity`` compares at one layer of the run's model.

    own: (n_a, d) float32 rows of the run's model at ``layer``, in the analysed space (raw, or the
    run's enhancement applied): every content token of ``sentences``, row k in unit ``alignment.unit_a[k]``.
    other_words: ``{layer: (U, d') float64}`` the other model's word vectors (mean of each unit's
    sub-tokens) at each of its layers (0 = embeddings), raw space, computed once per run.
    num_layers / other_num_layers: L of each model. sentences: the texts both encoded.
    """

    own: np.ndarray
    other_words: dict
    alignment: WordAlignment
    other_name: str
    num_layers: int
    other_num_layers: int
    sentences: tuple[str, ...]
    other_terms: dict = field(default_factory=dict)  # {layer: Centred}, shared by every layer of the run

    def other_centred(self, layer: int):
        """The other model's words at ``layer`` as a ``metrics.similarity.Centred`` (computed once per run)."""
        from geomexp.metrics.similarity import Centred

        if layer not in self.other_terms:
            self.other_terms[layer] = Centred(self.other_words[layer], f"{self.other_name} layer {layer}")
        return self.other_terms[layer]


@dataclass
class ModelPairSource:
    """Both models' whole-sentence encodings and their word alignment, made once per run."""

    own: TokenSample
    other_words: dict
    alignment: WordAlignment
    other_name: str
    num_layers: int
    other_num_layers: int
    sentences: tuple[str, ...]
    other_terms: dict = field(default_factory=dict)

    def at(self, layer: int, enhancer=None) -> ModelPair:
        """The pair at ``layer`` of the run's model; ``enhancer``: the fitted enhancer of the analysed
        space (None: raw), applied to the run's model's rows only (the other model stays raw)."""
        own = self.own.layer(layer)
        if enhancer is not None:
            own = enhancer.transform(own)
        return ModelPair(
            own=own,
            other_words=self.other_words,
            alignment=self.alignment,
            other_name=self.other_name,
            num_layers=self.num_layers,
            other_num_layers=self.other_num_layers,
            sentences=self.sentences,
            other_terms=self.other_terms,
        )


def pick_sentences(sentence_ids, n_sentences: int, seed: int) -> np.ndarray:
    """(k,) sorted distinct corpus sentence ids: all of ``sentence_ids``'s, or ``n_sentences`` of them drawn
    with ``seed`` when there are more."""
    ids = np.unique(np.asarray(sentence_ids, dtype=np.int64))
    if ids.size > n_sentences:
        ids = np.sort(np.random.default_rng(seed).choice(ids, size=n_sentences, replace=False))
    return ids


def prepare_model_pair(spec, reps, sample: TokenSample, params: dict) -> ModelPairSource:
    """Encode the chosen sentences with the run's model (``reps``) and with ``params["other"]``, and match
    their words (``params["exact_words"]``: only words both tokenizers cut identically)."""
    from geomexp.config.spec import encoder_option
    from geomexp.encoders import describe_encoder
    from geomexp.experiment.representations import run_representations

    corpus = reps.sources.corpus(spec.lang.code)
    ids = pick_sentences(sample.sentence_ids, int(params.get("n_sentences", 300)), spec.seed)
    texts = tuple(corpus.sentences[int(i)] for i in ids)
    other_spec = encoder_option(str(params["other"]), device=spec.encoder.device)
    other_info = describe_encoder(other_spec)
    other_reps = run_representations(spec, other_spec, other_info)
    log.info(
        "model_similarity: %d sentences encoded whole by %s and %s", len(texts), spec.encoder.name, other_spec.name
    )
    own, other = reps.encode(texts), other_reps.encode(texts)
    alignment = align_words(
        texts,
        own.sentence_ids,
        own.word_ids,
        own.char_spans,
        other.sentence_ids,
        other.word_ids,
        other.char_spans,
        exact=bool(params.get("exact_words", False)),
    )
    n = alignment.n_units
    return ModelPairSource(
        own=own,
        other_words={o: unit_means(other.layer(o), alignment.unit_b, n) for o in other.layer_indices},
        alignment=alignment,
        other_name=other_spec.name,
        num_layers=reps.info.num_layers,
        other_num_layers=other_info.num_layers,
        sentences=texts,
    )
