"""How much each of the authors' own choices moves the numbers: the table of docs/guide-paper.md.

    python docs/faithful_table.py                 # measure (no MLflow), print the table; every value as CSV
                                                  # in benchmarks/results/faithful_table.csv
    python docs/faithful_table.py --models minilm --langs sw   # a smaller grid
    python docs/faithful_table.py --from-csv benchmarks/results/faithful_table.csv   # the tables again

For each offline encoder and language (last layer, the default 10,000-token uniform draw, seed 0), the
paper's isotropy and cosine-contribution measures and the cluster method (k = 27, D = 12) are measured
at geomexp's defaults, then with ONE of the authors' choices (``experiment=rp2022_faithful`` takes them
all) and with all of them. The representations are shared through the cache, except where a choice
changes what is encoded: no special tokens fed is another sample, and one sentence per forward pass
re-encodes into a fresh cache folder (the batch size is not part of the cache key: it is not supposed
to change a number, and this measures by how much it does).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geomexp.experiment.identity import machine_tags  # noqa: E402
from geomexp.tag_names import MACHINE_CPU  # noqa: E402

BASE = ["layer=last", "analysis=[isotropy,dimensions]", "enhancement=cluster", "enhancement.save=false"]
BASE += ["analysis.isotropy.plot=false", "analysis.dimensions.plot=false", "progress=false", "seed=0"]
FRESH_CACHE = "<fresh cache>"
#: (label, overrides on top of BASE); FRESH_CACHE: encode into a new cache folder
CHOICES = [
    ("no [CLS]/[SEP] fed (`data.add_special_tokens=false`)", ["data.add_special_tokens=false"]),
    ("one sentence per forward pass (`model.batch_size=1`)", ["model.batch_size=1", FRESH_CACHE]),
    ("I_PC with one sign of u (`analysis.isotropy.i_pc_signs=single`)", ["analysis.isotropy.i_pc_signs=single"]),
    (
        "cosine contributions from 1,000 random pairs (`analysis.dimensions.exact=false`)",
        ["analysis.dimensions.exact=false"],
    ),
    (
        "k-means from random points, 10 iterations (`enhancement.params.init=random enhancement.params.n_iter=10`)",
        ["enhancement.params.init=random", "enhancement.params.n_iter=10"],
    ),
    ("all of them (`experiment=rp2022_faithful`)", ["experiment=rp2022_faithful"]),
]
#: (metric key, column label); the same key may come from one of two analyses' logs
METRICS = [
    ("i_cos", "I_Cos"),
    ("i_pc", "I_PC"),
    ("log_i_pc", "log I_PC"),
    ("cc_top1_share", "top-1 dim share"),
    ("cc_top1_dim", "top-1 dim"),
    ("i_cos/cluster", "I_Cos cluster"),
    ("i_pc/cluster", "I_PC cluster"),
]


def measure(model: str, lang: str, overrides: list[str]) -> dict[str, float]:
    """The last layer's metrics of one configuration (``geomexp.measure``: no MLflow store)."""
    from geomexp.config import compose
    from geomexp.config.spec import RunSpec
    from geomexp.experiment import measure as run_measure

    extra = [o for o in overrides if o != FRESH_CACHE]
    if FRESH_CACHE in overrides:
        extra.append(f"paths.cache_dir={tempfile.mkdtemp(prefix='geomexp-faithful-')}")
    # the experiment sets the model, layer and analyses: the grid's come after it (command-line groups win)
    cfg = compose([*extra, *BASE, f"model={model}", f"lang={lang}"])
    m = run_measure(RunSpec.from_config(cfg), keep_figures=False)
    layer = max(layer for _, layer in m.metrics)
    return {key: m.metrics[(key, layer)] for key, _ in METRICS if (key, layer) in m.metrics}


def change(a: float, b: float, key: str) -> str:
    """How ``b`` differs from ``a``: absolute for cosines and log I_PC, relative for the others; the top
    dimension's index as "same" or "a → b"."""
    if key == "cc_top1_dim":
        return "same" if a == b else f"{a:.0f} → {b:.0f}"
    if a == b:
        return "0"
    if key == "log_i_pc" or key.startswith("i_cos"):
        return f"{b - a:+.2g}"
    rel = (b - a) / abs(a)
    return f"{rel:+.1%}" if abs(rel) >= 1e-3 else f"{rel:+.1e} rel."


def largest(rows, keys) -> dict[str, dict[str, str]]:
    """Per choice, the largest change of each metric over the models and languages (as ``change`` writes it)."""
    base = {(r["model"], r["lang"]): r for r in rows if r["choice"] == "geomexp defaults"}
    out: dict[str, dict[str, tuple[float, str]]] = {}
    for r in rows:
        if r["choice"] == "geomexp defaults":
            continue
        b = base[(r["model"], r["lang"])]
        cells = out.setdefault(r["choice"], {})
        for k in keys:
            if k not in r or k not in b:
                continue
            if k == "cc_top1_dim":
                size = float(r[k] != b[k])
                text = "same" if size == 0 else f"changes ({r['model']}, {r['lang']})"
            else:
                size = abs(r[k] - b[k]) / (1.0 if (k == "log_i_pc" or k.startswith("i_cos")) else abs(b[k]) or 1.0)
                text = change(b[k], r[k], k)
            if size >= cells.get(k, (-1.0, ""))[0]:
                cells[k] = (size, text)
    return {choice: {k: text for k, (_, text) in cells.items()} for choice, cells in out.items()}


def print_tables(rows, out_name: str, measured: datetime.date | None = None) -> None:
    keys = [k for k, _ in METRICS]
    labels = " | ".join(label for _, label in METRICS)
    cpu = machine_tags()[MACHINE_CPU]
    print(
        f"\nmeasured {datetime.date.today().isoformat()} on {cpu}; `python docs/faithful_table.py`; every value: {out_name}"
    )
    print("\nThe largest change over the models and languages (last layer):\n")
    print(f"| choice | {labels} |")
    print("|---|" + "---:|" * len(METRICS))
    for choice, cells in largest(rows, keys).items():
        print(f"| {choice} | " + " | ".join(cells.get(k, "—") for k in keys) + " |")
    print("\nEvery model and language:\n")
    print(f"| model | language | choice | {labels} |")
    print("|---|---|---|" + "---:|" * len(METRICS))
    for row in rows:
        if row["choice"] == "geomexp defaults":
            base = row
            cells = [f"{row[k]:.4g}" if k in row else "—" for k in keys]
        else:
            cells = [change(base[k], row[k], k) if k in row and k in base else "—" for k in keys]
        print(f"| {row['model']} | {row['lang']} | {row['choice']} | " + " | ".join(cells) + " |")


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return [
            {k: (v if k in ("model", "lang", "choice") else float(v)) for k, v in row.items() if v != ""}
            for row in csv.DictReader(fh)
        ]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="me5_small,minilm")
    ap.add_argument("--langs", default="en,sw")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "faithful_table.csv")
    ap.add_argument("--from-csv", type=Path, help="print the tables of an earlier run's CSV; measure nothing")
    args = ap.parse_args(argv)
    if args.from_csv:
        measured = datetime.date.fromtimestamp(args.from_csv.stat().st_mtime)
        print_tables(read_csv(args.from_csv), args.from_csv.name, measured)
        return 0
    rows = []
    for model in args.models.split(","):
        for lang in args.langs.split(","):
            print(f"{model} {lang}: defaults", flush=True)
            base = measure(model, lang, [])
            rows.append({"model": model, "lang": lang, "choice": "geomexp defaults", **base})
            for label, overrides in CHOICES:
                print(f"{model} {lang}: {label}", flush=True)
                rows.append({"model": model, "lang": lang, "choice": label, **measure(model, lang, overrides)})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="") as fh:
        writer = csv.DictWriter(fh, ["model", "lang", "choice", *(k for k, _ in METRICS)])
        writer.writeheader()
        writer.writerows(rows)
    print_tables(rows, args.out.name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
