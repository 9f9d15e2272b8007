"""Regenerate the measured STS table of docs/guide-enhancement-sts.md ("k = 7 or 27 matters") from runs at
today's defaults.

    python docs/sts_table.py --run      # run the sweep below into experiment readme_sts, then print
    python docs/sts_table.py            # print the table from the runs already in the store

The sweep: ``python run.py -m experiment=offline_sts 'enhancement.params.n_clusters=7,27'
tracking.experiment=readme_sts`` (me5_small, last layer, all seven STS 2017 tracks; Spearman x 100).
The table's caption carries the method version it was measured under (``METHOD_VERSION``);
``tests/test_docs_tables.py`` fails when the page's caption and the code's version differ, so a
number changed on purpose cannot leave the measured table stale silently.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EXPERIMENT = "readme_sts"
TRACKS = ("1", "2", "3", "4a", "4b", "5", "6")
HEADERS = ("1 ar-ar", "2 ar-en", "3 es-es", "4a es-en", "4b es-en", "5 en-en", "6 tr-en")
SWEEP = [
    "run.py",
    "-m",
    "experiment=offline_sts",
    "enhancement.params.n_clusters=7,27",
    f"tracking.experiment={EXPERIMENT}",
    "enhancement.save=false",
    "analysis.sts.plot=false",
]
#: the marker line of the table's caption (the test reads the version after it)
CAPTION = "measured under method version"


def sts_table(records) -> str:
    """The markdown table: raw, then per k individual and zero-shot; one column per track.

    records: finished measurement ``RunRecord``s of the sweep (one per track and k)."""
    cells: dict[tuple[str, str], float] = {}
    for r in records:
        if r.status != "FINISHED" or r.tags.get("geomexp.kind") != "measurement":
            continue
        track = r.tags["sts_track"]
        k = r.params.get("enhancement.n_clusters") or r.params["enhancement.params"].split("n_clusters=")[1].split()[0]
        last = max(layer for _, layer in r.metrics)
        for key, label in (
            ("sts_spearman", "raw"),
            ("sts_spearman/cluster", f"cluster k={k}, individual"),
            ("sts_spearman/cluster/zero_shot", f"cluster k={k}, zero-shot"),
        ):
            if (key, last) in r.metrics:
                cells[(label, track)] = r.metrics[(key, last)]
    rows = ["raw"] + [f"cluster k={k}, {m}" for k in (7, 27) for m in ("individual", "zero-shot")]
    lines = ["| space | " + " | ".join(HEADERS) + " |", "|---|" + "---:|" * len(HEADERS)]
    for row in rows:
        values = [f"{cells[(row, t)]:.1f}" if (row, t) in cells else "–" for t in TRACKS]
        lines.append(f"| {row} | " + " | ".join(values) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    from geomexp.experiment.identity import METHOD_VERSION
    from geomexp.reproduce import default_tracking_uri
    from geomexp.tracking import run_records

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", action="store_true", help="run the sweep first")
    parser.add_argument("--tracking-uri", default=None)
    args = parser.parse_args(argv)
    uri = args.tracking_uri or default_tracking_uri()
    if args.run:
        subprocess.run([sys.executable, *SWEEP, f"tracking.uri={uri}"], cwd=ROOT, check=True)
    records = run_records(uri, experiment=EXPERIMENT)
    current = [r for r in records if r.tags.get("geomexp.method_version") == str(METHOD_VERSION)]
    print(f"({CAPTION} {METHOD_VERSION}: `python docs/sts_table.py --run`, i.e. `python {' '.join(SWEEP)}`)")
    print()
    print(sts_table(current))
    return 0


if __name__ == "__main__":
    sys.exit(main())
