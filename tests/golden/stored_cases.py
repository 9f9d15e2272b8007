"""Every metric, enhancer and STS score computed in float64 from the STORED hidden states of
``stored_inputs.npz`` (see ``make_fixtures.py``), through the library API (no Hydra, no encoder).

``compute(inputs) -> {"<input>[/<space>]:<metric>": value}``; ``infos()`` the metadata that says how
each compares. ``python tests/golden/stored_cases.py`` writes ``stored_results.json`` (only when a
number changes on purpose: say why in the commit).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1])]

CLUSTER = {"n_clusters": 7, "n_components": 12, "random_state": 0}


def infos():
    from geomexp.analyses import (
        crosslingual_analysis,
        dimensions_analysis,
        isoscore_analysis,
        isotropy_analysis,
        outliers_analysis,
    )
    from geomexp.analyses.intrinsic import intrinsic_analysis
    from geomexp.tasks.sts.task import STS_INFO

    fns = (isotropy_analysis, dimensions_analysis, outliers_analysis, isoscore_analysis, intrinsic_analysis)
    return [f.info for f in (*fns, crosslingual_analysis)] + [STS_INFO]


def load_inputs(path: Path = HERE / "stored_inputs.npz") -> dict[str, np.ndarray]:
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


def compute(inputs: dict[str, np.ndarray]) -> dict[str, float]:
    from geomexp.analyses import (
        crosslingual_analysis,
        dimensions_analysis,
        isoscore_analysis,
        isotropy_analysis,
        outliers_analysis,
    )
    from geomexp.analyses.intrinsic import intrinsic_analysis
    from geomexp.enhancement import make_enhancer
    from geomexp.tasks.sts.scoring import cosine_scores, mean_pool, sts_scores

    out: dict[str, float] = {}

    def add(where: str, metrics: dict) -> None:
        out.update({f"{where}:{k}": float(v) for k, v in metrics.items()})

    for name in ("en", "en6", "sw"):
        X = inputs[name]
        add(name, isotropy_analysis(X, plot=False).metrics)
        add(name, dimensions_analysis(X, plot=False, n_pairs=500).metrics)
        add(name, outliers_analysis(X, plot=False).metrics)
        add(name, isoscore_analysis(X).metrics)
        add(name, intrinsic_analysis(X, plot=False).metrics)
    add(
        "en",
        crosslingual_analysis(inputs["en"], lang_reps={"en": inputs["en"], "sw": inputs["sw"]}, plot=False).metrics,
    )
    for method, params in (("center", {}), ("abtt", {}), ("whiten", {}), ("cluster", CLUSTER)):
        Y = make_enhancer(method, **params).fit_transform(inputs["en"])
        add(f"en/{method}", isotropy_analysis(Y, plot=False).metrics)
        add(f"en/{method}", isoscore_analysis(Y).metrics)
    zero_shot = make_enhancer("cluster", **CLUSTER).fit(inputs["en"])
    add("sw/cluster/zero_shot", isotropy_analysis(zero_shot.transform(inputs["sw"]), plot=False).metrics)

    gold, n = inputs["sts_gold"], len(inputs["sts_gold"])
    A, B, ia, ib = inputs["sts_a"], inputs["sts_b"], inputs["sts_a_ids"], inputs["sts_b_ids"]

    def sts(Ya, Yb) -> dict:
        scores = sts_scores(cosine_scores(mean_pool(Ya, ia, n), mean_pool(Yb, ib, n)), gold)
        return {"sts_spearman": scores["spearman"], "sts_pearson": scores["pearson"]}

    add("sts5", sts(A, B))
    individual = make_enhancer("cluster", **{**CLUSTER, "n_clusters": 3}).fit(np.concatenate([A, B]))
    add("sts5/cluster", sts(individual.transform(A), individual.transform(B)))
    add("sts5/cluster/zero_shot", sts(zero_shot.transform(A), zero_shot.transform(B)))
    return out


def main() -> None:
    values = compute(load_inputs())
    (HERE / "stored_results.json").write_text(json.dumps(values, indent=1, sort_keys=True) + "\n")
    print(f"wrote {HERE / 'stored_results.json'}: {len(values)} values")


if __name__ == "__main__":
    main()
