"""Repeated measurement inside one run (``seeds=[...]``): the summary against hand-computed values,
and a real run against the same seeds run one by one."""

import json
import math

import pytest
from mlflow.tracking import MlflowClient

from geomexp.analyses.base import AnalysisInfo, MetricInfo
from geomexp.config.spec import RunSpec
from geomexp.errors import ConfigError
from geomexp.experiment import run
from geomexp.experiment.repeats import summarize_seeds, t_quantile
from geomexp.report import build_tables, collect_runs

INFOS = [
    AnalysisInfo(
        "toy",
        "toy",
        metrics=(
            MetricInfo("score", "score", 4, "higher"),
            MetricInfo("top_dim", "top dim", 0, kind="index"),
            MetricInfo("gain_p", "p", 4, "lower", kind="p_value"),
        ),
    )
]


def test_summary_is_the_mean_sd_and_t_interval_and_keeps_indices():
    per_seed = [
        {("score", 3): 1.0, ("score/cluster", 3): 10.0, ("top_dim", 3): 7.0},
        {("score", 3): 2.0, ("score/cluster", 3): 10.0, ("top_dim", 3): 9.0},
        {("score", 3): 3.0, ("score/cluster", 3): 10.0, ("top_dim", 3): 7.0},
    ]
    out = summarize_seeds(per_seed, INFOS)
    t2 = math.sqrt(2 * 0.95**2 / (1 - 0.95**2))  # df = 2: F(t) = 1/2 + t / (2 sqrt(2 + t^2)) = 0.975
    assert t_quantile(0.95, 2) == pytest.approx(t2, rel=1e-12)
    half = t2 * 1.0 / math.sqrt(3)  # sd of 1, 2, 3 is 1
    assert out[("score", 3)] == 2.0 and out[("score_sd", 3)] == 1.0
    assert out[("score_seeds_ci_low", 3)] == pytest.approx(2 - half, rel=1e-12)
    assert out[("score_seeds_ci_high", 3)] == pytest.approx(2 + half, rel=1e-12)
    assert out[("score_sd/cluster", 3)] == 0.0 and out[("score/cluster", 3)] == 10.0  # suffix stays last
    assert out[("top_dim", 3)] == 7.0 and ("top_dim_sd", 3) not in out  # an index is not averaged
    per_seed[1].pop(("score", 3))
    assert math.isnan(summarize_seeds(per_seed, INFOS)[("score", 3)])  # a missing value is not dropped


def test_p_values_of_seeds_are_combined_by_twice_the_median_never_averaged():
    """Issue 32: the seeds summary printed sts_gain_p = 0.310 +- 0.157, a mean of p-values (not a p-value)."""
    per_seed = [{("gain_p", 3): p} for p in (0.01, 0.04, 0.9)]
    out = summarize_seeds(per_seed, INFOS)
    assert out[("gain_p", 3)] == pytest.approx(0.08)  # 2 x median(0.01, 0.04, 0.9); the mean would be 0.317
    assert ("gain_p_sd", 3) not in out and ("gain_p_seeds_ci_low", 3) not in out
    assert summarize_seeds([{("gain_p", 3): p} for p in (0.6, 0.7)], INFOS)[("gain_p", 3)] == 1.0  # capped


def test_bad_seeds_are_refused_with_the_value(make_cfg):
    for seeds in ("[1]", "[0,0]", "[0,-1]"):
        with pytest.raises(ConfigError, match=r"seeds must list two or more distinct integers >= 0.*; got \["):
            RunSpec.from_config(make_cfg("model=minilm", "lang=sw", f"seeds={seeds}"))


def test_repeated_run_equals_the_mean_of_the_seeds_run_one_by_one(make_cfg, store_uri):
    common = [
        "model=minilm",
        "lang=sw",
        "data.n_tokens=120",
        "analysis=[isotropy]",
        "analysis.isotropy.plot=false",
        "enhancement=cluster",
        "enhancement.params.n_clusters=2",
        "enhancement.params.n_components=2",
        "enhancement.save=false",
    ]
    singles = [run(make_cfg(*common, f"seed={s}", "tracking.enabled=false")) for s in (0, 1, 2)]
    repeated = run(make_cfg(*common, "seeds=[0,1,2]"))
    assert repeated.cache_hit  # the same three samples, already encoded
    for key in ("i_cos", "i_pc", "i_cos_exact", "i_cos/cluster", "i_pc/cluster"):
        values = [r.metrics[(key, 6)] for r in singles]
        assert len(set(values)) == 3, key  # the seeds really differ (sample and k-means start)
        mean = sum(values) / 3
        assert repeated.metrics[(key, 6)] == pytest.approx(mean, rel=1e-12), key
        base, _, suffix = key.partition("/")
        sd_key = f"{base}_sd" + (f"/{suffix}" if suffix else "")
        sd = math.sqrt(sum((v - mean) ** 2 for v in values) / 2)
        assert repeated.metrics[(sd_key, 6)] == pytest.approx(sd, rel=1e-9), key
    client = MlflowClient(store_uri)
    r = client.get_run(repeated.run_id)
    assert r.data.params["seeds"] == "0,1,2" and "seed" not in r.data.params
    assert r.data.tags["seeds"] == "0,1,2"
    assert r.data.metrics["i_cos"] == pytest.approx(repeated.metrics[("i_cos", 6)], rel=1e-12)
    assert r.data.metrics["i_cos_seeds_ci_low"] < r.data.metrics["i_cos"] < r.data.metrics["i_cos_seeds_ci_high"]
    with open(client.download_artifacts(repeated.run_id, "tables/per_seed.json")) as f:
        table = json.load(f)
    assert table["seeds"] == [0, 1, 2]
    assert table["metrics"]["i_cos"]["6"] == [s.metrics[("i_cos", 6)] for s in singles]
    single = run(make_cfg(*common, "seed=0"))  # tracked: its group differs from the repeated run's
    assert r.data.tags["geomexp.group"] != client.get_run(single.run_id).data.tags["geomexp.group"]
    # the report shows the repeated run's own spread: mean ± sd (n=3 seeds), apart from the single run
    tables = build_tables(collect_runs(store_uri, experiment="geomexp"))
    df = tables["i_cos"]
    rows = df[df["sw n"] == 3] if "sw n" in df else df.iloc[0:0]
    assert len(rows) == 2  # raw and cluster spaces of the repeated run
    for (_, row), key in zip(rows.iterrows(), ("i_cos", "i_cos/cluster")):
        base, _, suffix = key.partition("/")
        sd_key = f"{base}_sd" + (f"/{suffix}" if suffix else "")
        assert row["sw"] == pytest.approx(repeated.metrics[(key, 6)], rel=1e-9)
        assert row["sw sd"] == pytest.approx(repeated.metrics[(sd_key, 6)], rel=1e-9)


def test_seeds_share_one_encoding_of_a_tasks_sentences_in_corpus_order(make_cfg, tiny_bert_dir):
    """Issue 32: with seeds=[0..4] each seed encoded the STS tracks again (70 cache entries, 4.8 GB),
    in a seed-permuted row order that alone moved a cluster-enhanced STS score. Now what a seed varies
    is the token draw and the k-means start; a task's sentences are encoded once, in corpus order."""
    from geomexp.encoders import describe_encoder
    from geomexp.experiment.representations import run_representations

    sentences = [f"the cat number {i} sat on mat {i % 3} today" for i in range(12)]
    fetched = []
    for seed in (0, 1):
        spec = RunSpec.from_config(make_cfg("model=bert", f"model.path={tiny_bert_dir}", f"seed={seed}"))
        reps = run_representations(spec, spec.encoder, describe_encoder(spec.encoder))
        sample = reps.encode(sentences)
        fetched.append(reps.fetched[-1])
        ids = sample.sentence_ids
        assert (ids[1:] >= ids[:-1]).all() and set(ids.tolist()) == set(range(12))  # corpus order, every sentence
    (_, key0, hit0), (_, key1, hit1) = fetched
    assert key0 == key1 and not hit0 and hit1  # the second seed reads the first one's entry
