"""Token representations for a run: corpus samples per language and whole sentence lists, from
the content-keyed cache or encoded now (the encoder is loaded only on a cache miss).

``Representations`` turns sentences into vectors; where the sentences come from is its
``sources`` (``DataSources``: corpora, pair sources, STS tracks). It holds no config, only specs.
"""

from __future__ import annotations

import logging

from geomexp.config.spec import SampleSpec
from geomexp.data import Corpus
from geomexp.encoders import EncoderInfo, EncoderSpec
from geomexp.encoders.reuse import shared_encoder
from geomexp.experiment.sources import DataSources
from geomexp.representations.cache import cache_key, entry_lock, load_sample, save_sample
from geomexp.representations.extraction import TokenSample, extract_tokens

log = logging.getLogger(__name__)


def sample_description(
    info: EncoderInfo, corpus: Corpus, sample: SampleSpec, whole_corpus: bool = False, layers=None
) -> dict:
    """Everything that determines the sampled representations (the cache key's content).

    ``whole_corpus``: every token of every sentence (a task's data) instead of ``sample``'s sampling,
    in corpus order and independent of the run's seed (issue 32: each seed used to encode a task's
    sentences again, in a seed-permuted row order that alone moved a k-means-enhanced STS score).
    ``layers``: hidden-state indices kept (None: all; the key then has no ``layers`` entry, as before
    they could be chosen). The model's dtype is in ``info.identity``.
    """
    unit = "sentences" if whole_corpus else sample.sample_unit
    extra = {} if layers is None else {"layers": [int(i) for i in layers]}
    if sample.long_sentences != "cut" and not whole_corpus:  # a task keeps every sentence (pairs stay aligned);
        extra["long_sentences"] = sample.long_sentences  # a "cut" key is as before the option existed
    return {
        **extra,
        "model": info.identity,
        "corpus": {"lang": corpus.lang, "checksum": corpus.checksum},
        "sample_unit": unit,
        "whole_corpus": whole_corpus,
        "n_tokens": sample.n_tokens if unit == "tokens" else None,
        "token_sampling": sample.token_sampling if unit == "tokens" else None,
        "n_sentences": (len(corpus.sentences) if whole_corpus else sample.n_sentences) if unit == "sentences" else None,
        "allow_fewer": sample.allow_fewer,
        "seed": None if whole_corpus else sample.seed,
        "add_special_tokens": sample.add_special_tokens,
        "max_length": int(min(sample.max_length, info.max_length)),
    }


class Representations:
    """Cached token representations of one encoder, under one sampling, for any corpus of the run.

    corpus_sample(code): the run's sampling of a language's corpus; encode(sentences): every
    token of a sentence list; layernorm_weights(): (L, d); sources: where sentences come from.
    ``fetched`` records every cache lookup (what, key, hit); the first is the run's own language.
    """

    def __init__(
        self,
        encoder: EncoderSpec,
        info: EncoderInfo,
        sample: SampleSpec,
        sources: DataSources,
        *,
        cache_dir: str,
        batch_size: int = 32,
        progress: bool = True,
        layers=None,
    ):
        self.encoder_spec, self.info, self.sample, self.sources = encoder, info, sample, sources
        self.layers = None if layers is None else sorted({int(i) for i in layers})
        if self.layers == list(range(info.num_layers + 1)):
            self.layers = None  # every layer: the all-layers entry itself
        self.cache_dir, self.batch_size, self.progress = cache_dir, batch_size, progress
        self._encoder = None
        self._samples: dict[str, TokenSample] = {}
        self._encoded: dict[str, TokenSample] = {}
        self._layernorm = None
        self.fetched: list[tuple[str, str, bool]] = []  # (what, cache key, hit)

    @property
    def encoder_loaded(self) -> bool:
        return self._encoder is not None

    def encoder(self):
        """The loaded encoder (loaded now if it was not, or the one an earlier job of this process loaded)."""
        if self._encoder is None:
            self._encoder = shared_encoder(self.encoder_spec, self.info)
        return self._encoder

    def corpus_sample(self, code: str) -> TokenSample:
        """The run's sampling of language ``code``'s corpus (cached on disk and in memory)."""
        if code not in self._samples:
            self._samples[code] = self._get(self.sources.corpus(code), whole_corpus=False, what=f"corpus {code}")
        return self._samples[code]

    def encode(self, sentences) -> TokenSample:
        """Every token of every sentence of ``sentences`` (e.g. one side of an STS track), cached."""
        from geomexp.data.corpus import sentences_checksum

        checksum = sentences_checksum(sentences)
        if checksum not in self._encoded:
            corpus = Corpus(lang="sentences", sentences=tuple(sentences), source="list", checksum=checksum)
            self._encoded[checksum] = self._get(corpus, whole_corpus=True, what=f"{len(corpus.sentences)} sentences")
        return self._encoded[checksum]

    def layernorm_weights(self):
        """(L, d) float64 output-LayerNorm weights of the model (loads it; read once per run)."""
        from geomexp.encoders.loading import output_layernorm_weights

        if self._layernorm is None:
            self._layernorm = output_layernorm_weights(self.encoder().model)
        return self._layernorm

    def _get(self, corpus: Corpus, *, whole_corpus: bool, what: str) -> TokenSample:
        description = sample_description(self.info, corpus, self.sample, whole_corpus, self.layers)
        key = cache_key(description)
        sample = load_sample(self.cache_dir, key)
        if sample is None and self.layers is not None:  # an entry of every layer serves a subset
            full_key = cache_key(sample_description(self.info, corpus, self.sample, whole_corpus))
            full = load_sample(self.cache_dir, full_key)
            if full is not None:
                log.info("cache hit %s (%s; layers %s of an all-layers entry)", full_key[:12], what, self.layers)
                self.fetched.append((what, full_key, True))
                return full.select(self.layers)
        if sample is None:
            with entry_lock(self.cache_dir, key):  # another worker may be computing this very key
                sample = load_sample(self.cache_dir, key)
                if sample is None:
                    sample = self._encode_and_save(corpus, key, description)
                    self.fetched.append((what, key, False))
                    return sample
        log.info("cache hit %s (%s)", key[:12], what)
        self.fetched.append((what, key, True))
        return sample

    def _encode_and_save(self, corpus: Corpus, key: str, description: dict) -> TokenSample:
        enc = self.encoder()
        sample = extract_tokens(
            enc.model,
            enc.tokenizer,
            corpus.sentences,
            n_tokens=description["n_tokens"],
            n_sentences=description["n_sentences"],
            token_sampling=description["token_sampling"] or "uniform",
            seed=description["seed"],
            allow_fewer=description["allow_fewer"] or description["whole_corpus"],
            add_special_tokens=description["add_special_tokens"],
            max_length=description["max_length"],
            long_sentences=description.get("long_sentences", "cut"),
            batch_size=self.batch_size,
            device=enc.device,
            progress=self.progress,
            layers=self.layers,
            what=f"the {corpus.lang} corpus ({corpus.source}) tokenized by {self.encoder_spec.name}",
        )
        save_sample(self.cache_dir, key, sample, description)
        return sample


def run_representations(spec, encoder: EncoderSpec, info: EncoderInfo, layers=None) -> Representations:
    """The ``Representations`` of ``encoder`` under a run's sampling, data, cache and batch settings
    (``spec``: the run's ``RunSpec``)."""
    return Representations(
        encoder,
        info,
        spec.sample,
        DataSources(spec.data, spec.languages),
        cache_dir=spec.cache_dir,
        batch_size=spec.batch_size,
        progress=spec.progress,
        layers=layers,
    )
