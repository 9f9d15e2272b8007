"""Write ``tests/golden/results.json``: every metric of every golden case (see ``cases.py``).

    python tests/golden/make_golden.py [--cache-dir DIR] [--only CASE ...]

Run it only when a number changes ON PURPOSE, and say why in the commit.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1]), str(HERE.parent)]

from cases import CASES  # noqa: E402
from golden_run import environment, run_case  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--only", nargs="+", choices=sorted(CASES), help="recompute these cases, keep the others")
    args = parser.parse_args()
    out_file = HERE / "results.json"
    with tempfile.TemporaryDirectory() as tmp:
        cache = args.cache_dir or tmp
        results = json.loads(out_file.read_text())["cases"] if args.only else {}
        for name, overrides in CASES.items():
            if args.only and name not in args.only:
                continue
            print(f"{name} ...", flush=True)
            results[name] = run_case(overrides, Path(tmp) / name, cache)
    out = {"environment": environment(), "python": platform.python_version(), "cases": results}
    out_file.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print(f"wrote {out_file}: {sum(len(v) for v in results.values())} values")


if __name__ == "__main__":
    main()
