"""Label-issue flags and label health on the demo AND on real photos whose classes overlap (Fashion-MNIST).

    .venv/bin/python bench/label_health.py [--work DIR] [--sizes 224,128] [--seed 0] [--projects demo,mixed,systematic]

Builds (or reuses, under --work) three projects whose wrong train labels are known: the demo (digits,
well separated), and two Fashion-MNIST projects from bench/fashion_project.py (T-shirt / shirt /
pullover / coat overlap) with 120 wrong labels of 1,999: mixed noise and systematic noise. Each gets
a default scan at each of --sizes (through the job entry, as `workbench scan` runs it; reused when
present, the embedding cache makes a rerun cheap). For each size alone, and for all of them averaged
(what the Issues page and `workbench issues` use by default), it prints against the truth kept
outside the project:

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


def measure(name: str, root: Path, truth_csv: Path, *, sizes: list[int], seed: int) -> None:
    """Scan at every size (reused when present), then score each size alone and all averaged."""
    from core.project.layout import open_layout
    from core.runs.folder import read_events

    layout = open_layout(root)
    started = time.perf_counter()
    run_ids = scan_runs(layout, sizes, seed=seed)
    note(f"{name}: scans at {sizes} px (fold seed {seed}): {time.perf_counter() - started:.0f} s here (0 when reused)")
    for run_id in run_ids:  # the run's own account: embedding (cached or not) and fitting
        lines = [e["text"] for e in read_events(layout.runs_dir / run_id, kinds=("message",))]
        note(f"run {run_id}: " + "; ".join(t for t in lines if t.startswith(("scan finished", "pruning pass"))))
    groups = [[r] for r in run_ids] + ([run_ids] if len(run_ids) > 1 else [])
    for group in groups:
        title = "+".join(f"{s}px" for s, r in zip(sizes, run_ids) if r in group)
        if len(group) > 1:
            title += " averaged (the Issues page's default)"
        score(f"{name}, {title}", layout, group, truth_csv)


def score(name: str, layout, run_ids: list[str], truth_csv: Path) -> None:
    """The default flags and label health of `run_ids` (averaged) against the truth."""
    import pandas as pd

    from core.issues.health import label_health
    from core.issues.run_issues import issues_for_runs
    from core.runs.folder import prob_columns

    table = issues_for_runs(layout, run_ids, data=False).labels
    truth = pd.read_csv(truth_csv, dtype={"ID": str}).set_index("ID").loc[table["ID"]]
    wrong = (truth["given_target"] != truth["true_target"]).to_numpy()
    true = truth["true_target"].to_numpy()
    flagged = table["is_label_issue"].to_numpy(dtype=bool)
    k = int(wrong.sum())
    fixed = int((flagged & wrong & (table["suggested_label"].to_numpy() == true)).sum())
    after = k - fixed + int((flagged & ~wrong).sum())
    probs = table[[c for c in table.columns if c.startswith("prob_")]]
    health = label_health(table["given_label"].to_numpy(), probs[prob_columns(probs.shape[1])].to_numpy())

    print(f"\n{name}: {len(table):,} train images, {k} wrong labels")
    report(BENCH, f"{name}: flagged (true {k})", int(flagged.sum()), "images")
    hits = int((flagged & wrong).sum())
    report(BENCH, f"{name}: precision", hits / max(flagged.sum(), 1), "", target=0.75, higher_is_better=True)
    report(BENCH, f"{name}: recall", hits / max(k, 1), "", target=0.8, higher_is_better=True)
    report(BENCH, f"{name}: precision of the first k={k}", wrong[:k].mean(), "", target=0.8, higher_is_better=True)
    report(BENCH, f"{name}: wrong labels after accepting every flag (from {k})", after, "images", target=k / 2)
    for title, estimate in (("likely wrong", health.likely_wrong), ("cleanlab's estimate", health.cleanlab_estimate)):
        ratio = estimate / max(k, 1)
        report(BENCH, f"{name}: {title} {estimate} / true {k}", max(ratio, 1 / max(ratio, 1e-9)), "x", target=1.5)
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
    parser.add_argument("--sizes", default="224,128", help="scan sizes, each scored alone and all averaged")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--projects", default="demo,mixed,systematic")
    args = parser.parse_args(argv)
    work = Path(args.work).expanduser()
    work.mkdir(parents=True, exist_ok=True)
    for name, (root, truth) in ensure_projects(work, args.projects.split(",")).items():
        measure(name, root, truth, sizes=[int(x) for x in args.sizes.split(",")], seed=args.seed)


if __name__ == "__main__":
    main()
