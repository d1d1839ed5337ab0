"""Label-issue flags and label health on the demo AND on real photos whose classes overlap (Fashion-MNIST).

    .venv/bin/python bench/label_health.py [--work DIR] [--size 224] [--seed 0] [--projects demo,mixed,systematic]

Builds (or reuses, under --work) three projects whose wrong train labels are known: the demo (digits,
well separated), and two Fashion-MNIST projects from bench/fashion_project.py (T-shirt / shirt /
pullover / coat overlap) with 120 wrong labels of 1,999: mixed noise and systematic noise. Each gets
one default scan (through the job entry, as `workbench scan` runs it; reused when present, the
embedding cache makes a rerun cheap). For each it prints, against the truth kept outside the project:

- the default flags (what the Issues page and `workbench issues` flag): flagged count vs true count,
  precision, recall, precision of the first k ranked (k = true count), and the wrong-label count after
  accepting every flagged suggestion;
- label health (core.issues.health): likely wrong labels and cleanlab's calibrated estimate vs the truth.

Targets (the label-cleaning issue): precision >= 0.75 at recall >= 0.8, precision@k >= 0.8, the estimate
within 1.5x of the true count, and accepting every flag at least halves the wrong labels.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _fixtures import note, report  # noqa: E402
from fashion_project import build_fashion_project, truth_path  # noqa: E402
from label_issues import scan_runs  # noqa: E402

BENCH = "label_health"


def ensure_projects(work: Path, names: list[str]) -> dict[str, tuple[Path, Path]]:
    """{name: (project folder, truth CSV)}, built on first use."""
    from core.project.demo import TRUTH_FILE, build_demo

    projects = {}
    for name in names:
        root = work / name
        if name == "demo":
            if not (root / "train.csv").is_file():
                build_demo(root)
            projects[name] = (root, root / TRUTH_FILE)
        else:
            if not (root / "train.csv").is_file():
                build_fashion_project(root, regime=name, seed={"mixed": 0, "systematic": 1}[name])
            projects[name] = (root, truth_path(root))
    return projects


def measure(name: str, root: Path, truth_csv: Path, *, size: int, seed: int) -> None:
    import pandas as pd

    from core.issues.health import label_health
    from core.issues.run_issues import issues_for_runs
    from core.project.layout import open_layout
    from core.runs.folder import prob_columns

    layout = open_layout(root)
    started = time.perf_counter()
    run_ids = scan_runs(layout, [size], seed=seed)
    scan_s = time.perf_counter() - started
    result = issues_for_runs(layout, run_ids, data=False)
    table = result.labels
    truth = pd.read_csv(truth_csv, dtype={"ID": str}).set_index("ID").loc[table["ID"]]
    wrong = (truth["given_target"] != truth["true_target"]).to_numpy()
    true = truth["true_target"].to_numpy()
    flagged = table["is_label_issue"].to_numpy(dtype=bool)
    k = int(wrong.sum())
    fixed = int((flagged & wrong & (table["suggested_label"].to_numpy() == true)).sum())
    after = k - fixed + int((flagged & ~wrong).sum())
    health = label_health(table["given_label"].to_numpy(), table[prob_columns(result.num_classes)].to_numpy())

    print(f"\n{name}: {len(table):,} train images, {k} wrong labels ({root})")
    note(f"scan ({size} px, fold seed {seed}): {scan_s:.0f} s on this machine (0 s when reused)")
    for run_id in run_ids:  # the run's own account: embedding (cached or not) and fitting
        from core.runs.folder import read_events

        lines = [e["text"] for e in read_events(layout.runs_dir / run_id, kinds=("message",))]
        note(f"run {run_id}: " + "; ".join(t for t in lines if t.startswith(("scan finished", "pruning pass"))))
    report(BENCH, f"{name}: flagged (true {k})", int(flagged.sum()), "images")
    report(
        BENCH,
        f"{name}: precision of the flags",
        (flagged & wrong).sum() / max(flagged.sum(), 1),
        "",
        target=0.75,
        higher_is_better=True,
    )
    report(
        BENCH,
        f"{name}: recall of the flags",
        (flagged & wrong).sum() / max(k, 1),
        "",
        target=0.8,
        higher_is_better=True,
    )
    report(
        BENCH, f"{name}: precision of the first k={k} ranked", wrong[:k].mean(), "", target=0.8, higher_is_better=True
    )
    report(BENCH, f"{name}: wrong labels after accepting every flag (from {k})", after, "images", target=k / 2)
    for title, estimate in (
        ("likely wrong (health)", health.likely_wrong),
        ("cleanlab's estimate", health.cleanlab_estimate),
    ):
        ratio = estimate / max(k, 1)
        report(BENCH, f"{name}: {title} / true count", max(ratio, 1 / max(ratio, 1e-9)), "x", target=1.5)
        note(f"{name}: {title}: {estimate} (true {k})")
    worst = health.classes.head(3)
    note(
        f"{name}: worst classes by likely wrong share: "
        + ", ".join(f"{int(r.target)} {r.likely_wrong_share:.0%}" for r in worst.itertuples())
    )
    if len(health.overlapping):
        pair = health.overlapping.iloc[0]
        note(f"{name}: most overlapping pair {int(pair.class_a)} / {int(pair.class_b)} ({int(pair.examples)} images)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default=str(Path.home() / ".cache" / "workbench-bench" / "label_health"))
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--projects", default="demo,mixed,systematic")
    args = parser.parse_args(argv)
    work = Path(args.work).expanduser()
    work.mkdir(parents=True, exist_ok=True)
    for name, (root, truth) in ensure_projects(work, args.projects.split(",")).items():
        measure(name, root, truth, size=args.size, seed=args.seed)


if __name__ == "__main__":
    main()
