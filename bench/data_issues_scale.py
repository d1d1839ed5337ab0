"""Data issues (cleanlab's Datalab) beyond EXACT_ROWS: the approximate neighbour graph against the exact search.

    .venv/bin/python bench/data_issues_scale.py [--train 20000] [--test 5000] [--project DIR] [--skip-agreement]

core.issues.data_issues hands Datalab an approximate k-nearest-neighbour graph (a 128-d projection and
pynndescent) when a run has more than EXACT_ROWS train or train + test rows; below, Datalab searches
every pair itself. This measures what that changes, on real images whose classes overlap:

1. Agreement, on Fashion-MNIST (Debian's `dataset-fashion-mnist`, 784 pixels per photo as the
   embedding) and on scikit-learn's digits (64 pixels; the demo's source): --train photos, --test
   others, with planted copies (60 test photos that are train photos with faint noise: leakage; 60
   train pairs the same: near duplicates). The same call with the exact search and with the
   approximate graph; for each flag (outlier, near duplicate, leakage): how many, and the share of the
   exact flags the approximate graph also raises (recall) and of its flags the exact search raises
   (precision); the planted copies found by each.
2. Scale, with --project (bench/scale_project.py's 200,000-image project): `issues_for_runs` with
   data issues on its scan run, uncached, in a fresh process: seconds and peak resident memory.
"""

from __future__ import annotations

import argparse
import gzip
import resource
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from _fixtures import note, report  # noqa: E402

from core.issues.data_issues import data_issues  # noqa: E402

FASHION = Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")
FASHION_LABELS = Path("/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz")
PLANTED = 60


def _fashion() -> tuple[np.ndarray, np.ndarray]:
    with gzip.open(FASHION, "rb") as handle:
        pixels = np.frombuffer(handle.read(), dtype=np.uint8, offset=16).reshape(-1, 784)
    with gzip.open(FASHION_LABELS, "rb") as handle:
        labels = np.frombuffer(handle.read(), dtype=np.uint8, offset=8)
    return pixels.astype(np.float32) / 255.0, labels.astype(np.int64)


def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    return digits.data.astype(np.float32) / 16.0, digits.target.astype(np.int64)


def _planted(features: np.ndarray, labels: np.ndarray, *, train: int, test: int, seed: int = 0):
    """(train x, train y, test x, planted leakage train rows, planted duplicate pairs) from shuffled rows."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(features))
    train_rows, test_rows = order[:train], order[train : train + test]
    x, y, t = features[train_rows].copy(), labels[train_rows].copy(), features[test_rows].copy()
    planted = min(PLANTED, train // 10, test // 4)
    leaked = rng.choice(train, size=planted, replace=False)
    t[:planted] = x[leaked] + rng.normal(0, 0.01, size=x[leaked].shape).astype(np.float32)
    rest = np.setdiff1d(np.arange(train), leaked)
    sources = rng.choice(rest, size=2 * planted, replace=False)
    pairs = list(zip(sources[:planted], sources[planted:]))
    for a, b in pairs:
        x[b] = x[a] + rng.normal(0, 0.01, size=x[a].shape).astype(np.float32)
        y[b] = y[a]
    return x, y, t, leaked, pairs


def _agreement(name: str, features: np.ndarray, labels: np.ndarray, *, train: int, test: int) -> None:
    x, y, t, leaked, pairs = _planted(features, labels, train=train, test=test)
    ids = [f"tr{i}" for i in range(len(x))]
    test_ids = [f"te{i}" for i in range(len(t))]
    found = {}
    for how, exact_rows in (("exact", 10**9), ("approximate", 0)):
        started = time.perf_counter()
        found[how] = data_issues(x, y, ids=ids, test_embeddings=t, test_ids=test_ids, exact_rows=exact_rows)
        report("data_issues", f"{name}: {how} search, seconds", time.perf_counter() - started, "s")
    exact, approx = found["exact"].table, found["approximate"].table
    for flag in ("is_outlier_issue", "is_near_duplicate_issue", "is_leakage_issue"):
        e, a = exact[flag].to_numpy(bool), approx[flag].to_numpy(bool)
        note(f"{name}: {flag}: exact {e.sum():,}, approximate {a.sum():,}, both {(e & a).sum():,}")
        for what, base in (("recall of the exact flags", e), ("precision vs the exact flags", a)):
            if base.sum():
                share = (e & a).sum() / base.sum()
                report("data_issues", f"{name}: {flag}, {what}", share, "", target=0.9, higher_is_better=True)
    for how, result in found.items():
        table = result.table
        leak_found = table["is_leakage_issue"].to_numpy(bool)[leaked].mean()
        dup = table["is_near_duplicate_issue"].to_numpy(bool)
        group = table["near_duplicate_group"].to_numpy()
        pair_found = np.mean([dup[a] and dup[b] and group[a] == group[b] for a, b in pairs])
        report("data_issues", f"{name}: {how}: planted leaks found", leak_found, "", target=0.95, higher_is_better=True)
        report(
            "data_issues",
            f"{name}: {how}: planted duplicate pairs found",
            pair_found,
            "",
            target=0.95,
            higher_is_better=True,
        )


def _scale(project: Path) -> None:
    from core.issues.run_issues import issues_for_runs
    from core.project.layout import open_layout
    from core.runs.catalog import list_runs

    layout = open_layout(project)
    run_ids = [r.run_id for r in list_runs(layout) if r.state == "succeeded"][:1]
    started = time.perf_counter()
    result = issues_for_runs(layout, run_ids, data=True, refresh=True)
    seconds = time.perf_counter() - started
    table = result.data.table
    note(
        f"{project}: {len(table):,} train rows; outliers {int(table['is_outlier_issue'].sum()):,}, near duplicates "
        f"{int(table['is_near_duplicate_issue'].sum()):,}, leakage {int(table['is_leakage_issue'].sum()):,}"
    )
    report("data_issues", "scale: label + data issues, uncached", seconds, "s", target=120)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report("data_issues", "scale: peak resident memory", peak, "MB", target=4096)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=int, default=20_000)
    parser.add_argument("--test", type=int, default=5_000)
    parser.add_argument("--project", help="a project from bench/scale_project.py: time the whole issue ranking")
    parser.add_argument("--skip-agreement", action="store_true")
    args = parser.parse_args(argv)
    if not args.skip_agreement:
        _agreement("digits", *_digits(), train=1300, test=497)
        if FASHION.is_file():
            _agreement("fashion-mnist", *_fashion(), train=args.train, test=args.test)
        else:
            note(f"{FASHION} is missing (apt-get install dataset-fashion-mnist): Fashion-MNIST skipped")
    if args.project:
        _scale(Path(args.project))


if __name__ == "__main__":
    main()
