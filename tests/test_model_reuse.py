"""One model load per process for the jobs of a sweep (issue 15, item 2): ``geomexp.encoders.reuse``.

A tiny BERT saved with ``save_pretrained`` and the real ``Representations`` of a run (what the runner
asks for data): two jobs of one process load it once; another model, or the same folder rewritten,
loads anew; the kept model encodes exactly as a fresh load. (The end-to-end sweep that shows it is
``python benchmarks/sweep.py``.)
"""

from __future__ import annotations

import shutil

import numpy as np

from geomexp.config.spec import DataSpec, SampleSpec
from geomexp.encoders import EncoderSpec, describe_encoder, reuse
from geomexp.experiment.representations import Representations
from geomexp.experiment.sources import DataSources

SENTENCES = ("The cat sat on the mat.", "Kiswahili ni lugha ya Afrika Mashariki.", "A third, longer sentence here.")


def _encode(folder, cache_dir, sentences=SENTENCES):
    """One job's worth: a fresh ``Representations`` (as each run makes) encoding ``sentences`` (a cache miss)."""
    spec = EncoderSpec(name="tiny", source="hf", path=str(folder), device="cpu")
    reps = Representations(
        spec, describe_encoder(spec), SampleSpec(), DataSources(DataSpec()), cache_dir=str(cache_dir), progress=False
    )
    return reps.encode(sentences)


def test_jobs_in_one_process_load_the_model_once(tiny_bert_dir, tmp_path):
    reuse.forget()
    before = reuse.loads
    first = _encode(tiny_bert_dir, tmp_path / "c1")
    again = _encode(tiny_bert_dir, tmp_path / "c2")  # a cache miss in a new job: served by the kept model
    assert reuse.loads - before == 1
    reuse.forget()
    fresh = _encode(tiny_bert_dir, tmp_path / "c3")
    assert reuse.loads - before == 2
    assert np.array_equal(again.hidden, fresh.hidden) and np.array_equal(first.hidden, fresh.hidden)
    # another folder is another model; the same folder rewritten in place is, too
    copy = tmp_path / "copy"
    shutil.copytree(tiny_bert_dir, copy)
    _encode(copy, tmp_path / "c4")
    assert reuse.loads - before == 3
    (copy / "config.json").write_text((copy / "config.json").read_text() + "\n")
    _encode(copy, tmp_path / "c5")
    assert reuse.loads - before == 4
    _encode(copy, tmp_path / "c6")
    assert reuse.loads - before == 4


def test_the_reuse_line_is_said_once_a_job_not_once_a_seed(tiny_bert_dir, tmp_path, caplog):
    """Issue 31: every seed of a run printed "reusing the copy ... for an earlier job", even the seeds of
    the job that had loaded it. Now: silent within the loading job, one line in each later job."""
    import logging

    reuse.forget()
    reuse.new_job()
    with caplog.at_level(logging.INFO, logger="geomexp.encoders.reuse"):
        for seed in range(3):  # one job, three seeds, each a fresh Representations (cache misses)
            _encode(tiny_bert_dir, tmp_path / f"a{seed}")
        assert "reusing" not in caplog.text
        reuse.new_job()
        for seed in range(3):
            _encode(tiny_bert_dir, tmp_path / f"b{seed}")
    assert caplog.text.count("reusing the copy this process loaded for an earlier job") == 1
