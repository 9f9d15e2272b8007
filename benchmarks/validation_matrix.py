"""The validation matrix of the beyond-the-paper measures: geomexp against a faithful transcription of each
measure's reference (``tests/references.py``) on the same seeded arrays; the largest absolute deviation
over the cases, as a Markdown table (``docs/validation.md``).

    python benchmarks/validation_matrix.py            # prints the table and writes docs/validation.md

Cases: for each seed, X (N, d) Gaussian with a rogue dimension and a decaying spectrum, and Y a noisy
linear image of part of X (related but not equal, with no tied canonical correlations), at a few shapes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import _common  # noqa: F401  (sys.path)
import numpy as np
from _common import ROOT, machine

sys.path.insert(0, str(ROOT / "tests"))

SHAPES = ((200, 16), (400, 40), (600, 24))


def cases(seeds=(0, 1, 2)):
    """``(label, X, Y)`` of every shape and seed."""
    for n, d in SHAPES:
        for seed in seeds:
            rng = np.random.default_rng(seed)
            X = rng.standard_normal((n, d)) * np.linspace(3.0, 0.2, d)
            X[:, 0] += 4.0
            Y = X[:, : d // 2] @ rng.standard_normal((d // 2, d // 2)) + 0.8 * rng.standard_normal((n, d // 2))
            yield f"{n}x{d} seed {seed}", X, Y


def rows(seeds=(0, 1, 2)) -> list[dict]:
    """One row per measure: its reference, the convention differences, the largest |geomexp - reference|."""
    import references as ref

    from geomexp import metrics

    k = 10
    measures = [
        (
            "cosine k-NN (indices)",
            "brute force, float64, ties by index",
            "",
            lambda X, Y: (metrics.cosine_knn(X, k), ref.reference_knn(X, k)),
        ),
        (
            "mutual k-NN",
            "platonic-rep metrics.py `mutual_knn`",
            "features L2-normalised (as its pipeline)",
            lambda X, Y: (metrics.mutual_knn(X, Y, k), ref.reference_mutual_knn(X, Y, k)),
        ),
        (
            "CKNNA",
            "platonic-rep metrics.py `cknna` (unbiased)",
            "no `+ 1e-6` in the denominator",
            lambda X, Y: (metrics.cknna(X, Y, k), ref.reference_cknna(X, Y, k, eps=0.0)),
        ),
        (
            "CKNNA, with the reference's + 1e-6",
            "platonic-rep metrics.py `cknna`",
            "the deviation its epsilon makes",
            lambda X, Y: (metrics.cknna(X, Y, k), ref.reference_cknna(X, Y, k)),
        ),
        (
            "canonical correlations",
            "textbook Sxx^-1/2 Sxy Syy^-1/2 (Hotelling 1936)",
            "",
            lambda X, Y: (metrics.canonical_correlations(X, Y), ref.reference_canonical_correlations(X, Y)),
        ),
        (
            "PWCCA",
            "Morcos et al. 2018, projection weights from the textbook CCA",
            "centred columns of the first argument",
            lambda X, Y: (metrics.pwcca(X, Y), ref.reference_pwcca(X, Y)),
        ),
        (
            "RankMe",
            "Garrido et al. 2023, eq. 1 on numpy's SVD",
            "",
            lambda X, Y: (metrics.rankme(X), ref.reference_rankme(X)),
        ),
        (
            "alpha-ReQ",
            "least squares of log eigenvalue on log rank, numpy.cov",
            "every non-zero eigenvalue",
            lambda X, Y: (metrics.alpha_req(X), ref.reference_alpha_req(X)),
        ),
        (
            "RSA",
            "scipy spearmanr of scipy pdist(cosine)",
            "",
            lambda X, Y: (metrics.rsa(X, Y), ref.reference_rsa(X, Y)),
        ),
        (
            "GRIDE (n1 = 1, 2, 4)",
            "Denti et al. 2022 eq. 4, scipy bounded minimiser (as DADApy)",
            "Euclidean neighbours; the bounded solver's tolerance",
            lambda X, Y: (
                [metrics.gride(X, n1=n1) for n1 in (1, 2, 4)],
                [ref.reference_gride(X, n1, 2 * n1) for n1 in (1, 2, 4)],
            ),
        ),
        (
            "label overlap",
            "DADApy `return_label_overlap` (Doimo et al. 2020)",
            "cosine neighbours (DADApy: Euclidean); labels: column 0 above its mean",
            lambda X, Y: (metrics.label_overlap(X, X[:, 0] > 4.0, k), ref.reference_label_overlap(X, X[:, 0] > 4.0, k)),
        ),
        (
            "retrieval accuracy",
            "brute force strict arg-max",
            "",
            lambda X, Y: (
                metrics.retrieval_accuracy(X[:, : Y.shape[1]], Y),
                ref.reference_retrieval_accuracy(X[:, : Y.shape[1]], Y),
            ),
        ),
    ]
    measures += pypi_measures()
    all_cases = list(cases(seeds))
    out = []
    for name, reference, convention, fn in measures:
        worst = 0.0
        for _, X, Y in all_cases:
            ours, theirs = fn(X, Y)
            worst = max(worst, float(np.max(np.abs(np.asarray(ours, dtype=float) - np.asarray(theirs, dtype=float)))))
        out.append({"measure": name, "reference": reference, "convention": convention or "the same", "max_dev": worst})
    return out


def pypi_measures() -> list[tuple]:
    """The rows against reference code installed from PyPI (``requirements-references.txt``): Google's SVCCA and
    PWCCA and yuanli2333's CKA as vendored by similarity-repository 0.0.1; none where it is not installed."""
    import references as ref
    from pypi_references import google_svcca, yuanli2333_cka

    from geomexp import metrics

    svcca_code, cka_code = google_svcca(), yuanli2333_cka()
    if svcca_code is None or cka_code is None:
        print("similarity-repository is not installed: its rows are left out", file=sys.stderr)
        return []
    cca_core, pwcca_code = svcca_code
    google = "google/svcca `{}` (PyPI similarity-repository 0.0.1)"

    def google_cca(X, Y):
        return np.sort(cca_core.get_cca_similarity(X.T, Y.T, epsilon=0.0, verbose=False)["cca_coef1"])[::-1]

    return [
        (
            "canonical correlations (Google's code)",
            google.format("cca_core.get_cca_similarity"),
            "arrays transposed to its (neurons, data points)",
            lambda X, Y: (metrics.canonical_correlations(X, Y), google_cca(X, Y)),
        ),
        (
            "SVCCA (Google's code)",
            google.format("cca_core.get_cca_similarity") + " after the 99 % SVD step",
            "the SVD step transcribed (`svd_reduce`)",
            lambda X, Y: (metrics.svcca(X, Y), google_cca(ref.svd_reduce(X), ref.svd_reduce(Y)).mean()),
        ),
        (
            "PWCCA (Google's code as published)",
            google.format("pwcca.compute_pwcca"),
            "it adds the neuron means back to the canonical directions and weights the uncentred activations; "
            "geomexp follows Morcos et al.'s formula on centred ones (the transcription above); its first "
            "argument must be the narrower side",
            lambda X, Y: (
                metrics.pwcca(Y, X),
                pwcca_code.compute_pwcca(Y.T, X.T, epsilon=0.0)[0],
            ),
        ),
        (
            "linear CKA, biased (yuanli2333's code)",
            "yuanli2333 `CKA.linear_CKA` (PyPI similarity-repository 0.0.1)",
            "",
            lambda X, Y: (metrics.linear_cka(X, Y, debiased=False), cka_code.linear_CKA(X, Y)),
        ),
    ]


def markdown(table: list[dict], n_cases: int) -> str:
    info = machine()
    lines = [
        "# Validation matrix: geomexp against the reference formulas",
        "",
        f"Generated by `python benchmarks/validation_matrix.py` on {dt.date.today().isoformat()} ({info['cpu']}); "
        f"{n_cases} cases (shapes {', '.join(f'{n} x {d}' for n, d in SHAPES)}, 3 seeds each; k = 10). "
        "The references are faithful transcriptions in `tests/references.py`, named by their source, and, "
        "where the original code is on PyPI, that code (`tests/pypi_references.py`, "
        "`requirements-references.txt`); the tests assert the same agreements.",
        "",
        "| measure | reference | convention differences | max abs deviation |",
        "|---|---|---|---:|",
    ]
    lines += [f"| {r['measure']} | {r['reference']} | {r['convention']} | {r['max_dev']:.1e} |" for r in table]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(ROOT / "docs" / "validation.md"))
    args = ap.parse_args()
    table = rows()
    text = markdown(table, len(SHAPES) * 3)
    print(text)
    Path(args.out).write_text(text)
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
