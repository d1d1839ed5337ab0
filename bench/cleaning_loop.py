"""The whole label-cleaning loop on the demo: scan, accept cleanlab's flagged suggestions, export, rescan, compare.

    .venv/bin/python bench/cleaning_loop.py [--project DEMO] [--size 64] [--average 96,128]

A scan run (scan.image_size = --size) on the original labels; cleanlab's flagged label issues of
that run (averaged with scans at the --average sizes when given: they rank errors better) are all
accepted as suggested (one bulk decision each, as the Issues page's "Accept all" does); the clean
CSV is exported (labels/train_v<N>.csv); the same config runs again on that version. Printed: how
many flips were fixed and how many right labels were broken (from demo_truth.csv), and the macro-F1
on test_labels.csv and the out-of-fold macro-F1 against the true train labels, before and after.
Scan runs are the CPU path; the embeddings are cached, so the second scan only refits the folds.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _fixtures import note, report, temp_dir  # noqa: E402

BENCH = "cleaning_loop"


def scan(layout, overrides: list[str]) -> Path:
    from core.config import resolve_config
    from core.runs.entry import main as job_main
    from core.runs.folder import create_run, read_status

    run_dir = create_run(layout, resolve_config(kind="scan", overrides=overrides))
    start = time.perf_counter()
    code = job_main(["--config", str(run_dir / "config.yaml")])
    note(f"scan {' '.join(overrides)}: {time.perf_counter() - start:.0f} s, exit {code}")
    if read_status(run_dir).get("state") != "succeeded":
        raise SystemExit(f"scan failed: {read_status(run_dir).get('message')}")
    return run_dir


def oof_f1_against_truth(run_dir: Path, truth, num_classes: int) -> float:
    from core.analysis.scores import macro_f1
    from core.runs.folder import read_oof

    oof = read_oof(run_dir).merge(truth[["ID", "true_target"]], on="ID")
    return macro_f1(oof["true_target"].to_numpy(), oof["predicted"].to_numpy(), num_classes=num_classes)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", help="an existing demo project to copy (default: build one)")
    parser.add_argument("--size", type=int, default=64, help="scan.image_size of the run that is retrained")
    parser.add_argument("--average", default="", help="sizes of extra scans whose probabilities are averaged in")
    args = parser.parse_args(argv)
    print(f"cleaning_loop (load average {os.getloadavg()[0]:.1f})")

    import shutil

    import pandas as pd

    from core.issues.run_issues import issues_for_runs
    from core.labels.decisions import DecisionRequest, record_decisions
    from core.labels.versions import export_version
    from core.project.layout import open_layout
    from core.runs.folder import read_status

    with temp_dir("wb-bench-loop-") as tmp:
        project = tmp / "demo"
        if args.project:
            # Keep the embedding cache (the scans reuse it), not the runs or decisions.
            shutil.copytree(
                args.project, project, ignore=shutil.ignore_patterns("runs", "labels", "workbench.db*", "issues")
            )
        else:
            from core.project.demo import build_demo

            build_demo(project)
        layout = open_layout(project)
        layout.ensure_work_dir()
        truth = pd.read_csv(project / "demo_truth.csv", dtype={"ID": str})
        num_classes = int(truth["true_target"].max()) + 1
        base = [f"scan.image_size={args.size}"]
        before = scan(layout, base)
        runs = [before.name]
        for size in [int(s) for s in args.average.split(",") if s]:
            runs.append(scan(layout, [f"scan.image_size={size}"]).name)

        issues = issues_for_runs(layout, runs, data=False).labels
        flagged = issues.loc[issues["is_label_issue"] & (issues["suggested_label"] != issues["given_label"])]
        requests = [
            DecisionRequest(r.ID, "relabel", int(r.given_label), int(r.suggested_label), expected_latest=None)
            for r in flagged.itertuples(index=False)
        ]
        record_decisions(layout.db_path, requests, source="bulk", run_id=",".join(runs))
        exported = export_version(layout)
        note(f"exported v{exported.version}: {exported.relabeled} relabelled from {len(runs)} run(s)")

        true_of = dict(zip(truth["ID"], truth["true_target"]))
        given_of = dict(zip(truth["ID"], truth["given_target"]))
        fixed = sum(true_of[i] == s != given_of[i] for i, s in zip(flagged["ID"], flagged["suggested_label"]))
        broken = sum(true_of[i] == given_of[i] for i in flagged["ID"])
        wrong_before = int((truth["given_target"] != truth["true_target"]).sum())
        clean = pd.read_csv(exported.path, dtype={"ID": str})
        wrong_after = int((clean["target"].to_numpy() != clean["ID"].map(true_of).to_numpy()).sum())
        report(BENCH, "flipped labels fixed by accepting the suggestions", fixed, "labels")
        report(BENCH, "right labels broken by accepting the suggestions", broken, "labels")
        report(BENCH, "wrong train labels before -> after", wrong_before, f"-> {wrong_after}")

        after = scan(layout, [*base, f"data.labels=v{exported.version}"])
        metrics_before = read_status(before)["metrics"]
        metrics_after = read_status(after)["metrics"]
        title = f"scan {args.size} px"
        report(BENCH, f"{title} on the original labels: test macro-F1", metrics_before["test_macro_f1"], "")
        report(BENCH, f"{title} on the cleaned labels: test macro-F1", metrics_after["test_macro_f1"], "")
        report(
            BENCH,
            f"{title} on the original labels: OOF macro-F1 vs true labels",
            oof_f1_against_truth(before, truth, num_classes),
            "",
        )
        report(
            BENCH,
            f"{title} on the cleaned labels: OOF macro-F1 vs true labels",
            oof_f1_against_truth(after, truth, num_classes),
            "",
        )


if __name__ == "__main__":
    main()
