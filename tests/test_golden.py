"""Numbers must not move by accident: every metric of a fixed set of small configs
(``tests/golden/cases.py``: both offline encoders, every analysis, every enhancer, STS on
two tracks, every layer) against ``tests/golden/results.json``.

On the machine kind the file was written on (same torch, same CPU model and flags) values
must agree to 1e-12 relative. Elsewhere the float32 encoder kernels may round differently,
so values must agree to 1e-4 relative and dimension indices / counts are not compared.
Regenerate the file only for an intended change: ``python tests/golden/make_golden.py``.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parent / "golden"
sys.path.insert(0, str(GOLDEN))

from cases import CASES  # noqa: E402
from golden_run import data_root, environment, run_case  # noqa: E402

RECORDED = json.loads((GOLDEN / "results.json").read_text())
SAME_MACHINE_KIND = RECORDED["environment"] == environment()
RTOL = 1e-12 if SAME_MACHINE_KIND else 1e-4
#: metrics that are indices or counts: equal on the same machine kind, not compared elsewhere
DISCRETE = ("_dim", "n_outliers")


#: enhancement method of each case that has one (its enhanced keys carry it as a suffix now)
METHOD = {
    "me5_en_center_all": "center",
    "me5_en_abtt_all": "abtt",
    "me5_en_whiten_all": "whiten",
    "me5_en_cluster_all": "cluster",
    "minilm_sw_cluster_zeroshot_en": "cluster/zero_shot",
    "me5_sts1_cluster_last": "cluster",
    "me5_sts2_abtt_all": "abtt",
}


def current_key(case: str, recorded: str) -> str:
    """The key a recorded metric has now: the explicit renames of the results schema (issue 11).

    ``m/before`` -> ``m`` (raw space, same key in every run); ``m/after`` -> ``m/<method>``
    (``/<method>/zero_shot`` when fitted on another language); STS ``/baseline`` -> plain,
    ``/individual`` -> ``/<method>``, ``/zero_shot`` -> ``/<method>/zero_shot``;
    ``xl_overlap/<a>_<b>`` -> ``xl_overlap.<a>_<b>``.
    """
    name, _, space = recorded.partition("/")
    if name == "xl_overlap":
        return f"xl_overlap.{space}"
    method = METHOD.get(case, "")
    sts_method = method.replace("/zero_shot", "")
    renamed = {
        "": name,
        "before": name,
        "baseline": name,
        "after": f"{name}/{method}",
        "individual": f"{name}/{sts_method}",
        "zero_shot": f"{name}/{sts_method}/zero_shot",
    }
    return renamed.get(space, recorded)  # a file written after the rename has today's keys


@pytest.fixture(scope="module")
def golden_cache(tmp_path_factory):
    if not (data_root() / "Wikipedia").is_dir():
        pytest.skip("the paper's data is not beside the project (set GEOMEXP_DATA_DIR)")
    return tmp_path_factory.mktemp("golden-cache")


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_case(case, golden_cache, tmp_path):
    now = run_case(CASES[case], tmp_path, golden_cache)
    expected = RECORDED["cases"][case]
    missing, wrong = [], []
    for key, value in expected.items():
        name, _, layer = key.rpartition("@")
        new = f"{current_key(case, name)}@{layer}"
        if new not in now:
            missing.append(new)
            continue
        if not SAME_MACHINE_KIND and any(name.endswith(s) or name.startswith(s) for s in DISCRETE):
            continue
        got = now[new]
        if not (math.isclose(got, value, rel_tol=RTOL, abs_tol=1e-300) or (math.isnan(got) and math.isnan(value))):
            wrong.append(f"{new}: recorded {value!r}, now {got!r}")
    assert not missing, f"{case}: {len(missing)} recorded metrics are gone: {missing[:10]}"
    assert not wrong, f"{case}: {len(wrong)} values moved (rtol {RTOL}):\n" + "\n".join(wrong[:20])
