"""``python benchmarks/_run_legacy.py <run.py arguments>``: run.py with the pre-change extractor
(``benchmarks/legacy_extraction.py``) patched in, for before/after measurements (benchmarks/memory.py --legacy).
"""

import runpy
import sys

import _common  # noqa: F401  (sys.path)
from legacy_extraction import legacy_extract_tokens

import geomexp.experiment.representations

geomexp.experiment.representations.extract_tokens = legacy_extract_tokens
sys.argv = [str(_common.ROOT / "run.py"), *sys.argv[1:]]
runpy.run_path(str(_common.ROOT / "run.py"), run_name="__main__")
