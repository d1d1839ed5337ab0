"""Label issues: how well cleanlab finds the demo's known flips, and how fast issues and the review queue are at scale.

    .venv/bin/python bench/label_issues.py [--project DEMO] [--sizes 224,128,64] [--seeds 0,1,2]
                                           [--rows 200000] [--no-browser]

1. Demo accuracy. The demo's flipped train labels are known (demo_truth.csv). Scan runs at each
   image size of --sizes (default config otherwise: in-process, as `workbench scan` runs them;
   reused from --project when it already has such a run) give out-of-fold probabilities; for the
   first run alone (once per fold seed of --seeds: the split alone moves these figures by several
   points) and for the average of all sizes, the precision and recall of `is_label_issue` and the
   precision of the first k ranked items (k = number of flips). Target: precision and recall >= 0.8.
2. Scale. --rows train rows x 17 classes of synthetic out-of-fold probabilities (8% flips) written
   as a run's oof.csv: `issues_for_runs(..., data=False)` end to end (read the CSV, cleanlab's
   scores and find_label_issues, write the cache), cold. Target <= 10 s. Datalab (outliers, near
   duplicates, leakage) on 20,000 x 128 embeddings is printed for information.
3. Queue at scale: what the Issues page does per decision on the 200,000-row issues (record the
   decision, read the current decisions, pick the next item of the filtered queue), with 5,000
   decisions already stored. Target <= 0.5 s. Then, in Chromium, the demo's Issues page: keypress
   to the next item painted, 15 decisions. Target <= 0.5 s (median).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _fixtures  # noqa: E402
from _fixtures import note, report, temp_dir  # noqa: E402

BENCH = "label_issues"
_fixtures.PORTS = range(8670, 8691)  # this benchmark's servers bind here


def scan_runs(layout, sizes: list[int], *, seed: int = 0) -> list[str]:
    """A succeeded default scan run per image size and fold seed `seed` (reused when the project has one)."""
    from core.config import resolve_config
    from core.runs.catalog import list_runs
    from core.runs.entry import main as job_main
    from core.runs.folder import create_run, read_status

    def overrides(size: int) -> list[str]:
        return [f"scan.image_size={size}", f"data.seed={seed}"]

    existing = {}
    for run in list_runs(layout):
        if run.kind == "scan" and run.state == "succeeded" and run.status.get("labels") == "original":
            size = run.config().scan.image_size
            default = resolve_config(kind="scan", overrides=overrides(size))
            # A run from before scan.prune existed reads back with today's default: its metrics tell.
            pruned_as_default = default.scan.prune == 0 or "scan_pruned" in run.status.get("metrics", {})
            if run.config().scan == default.scan and run.config().data == default.data and pruned_as_default:
                existing.setdefault(size, run.run_id)
    run_ids = []
    for size in sizes:
        if size in existing:
            note(f"reusing scan run {existing[size]} ({size} px, fold seed {seed})")
            run_ids.append(existing[size])
            continue
        run_dir = create_run(layout, resolve_config(kind="scan", overrides=overrides(size)))
        start = time.perf_counter()
        code = job_main(["--config", str(run_dir / "config.yaml")])
        status = read_status(run_dir)
        note(
            f"scan {size} px, fold seed {seed}: {time.perf_counter() - start:.0f} s, exit {code}, {status.get('metrics')}"
        )
        run_ids.append(run_dir.name)
    return run_ids


def flip_scores(table, truth) -> tuple[float, float, float, int]:
    """(precision, recall, precision at k, k) of a ranked issues table against demo_truth."""
    flipped = set(truth.loc[truth["flipped"].astype(bool), "ID"])
    flagged = set(table.loc[table["is_label_issue"], "ID"])
    hits = len(flagged & flipped)
    k = len(flipped)
    top = set(table["ID"].head(k))
    return hits / max(len(flagged), 1), hits / max(k, 1), len(top & flipped) / max(k, 1), k


def demo_accuracy(project: Path, sizes: list[int], seeds: list[int]) -> list[str]:
    import pandas as pd

    from core.issues.run_issues import issues_for_runs
    from core.project.layout import open_layout

    layout = open_layout(project)
    truth = pd.read_csv(project / "demo_truth.csv", dtype={"ID": str})
    run_ids = scan_runs(layout, sizes, seed=seeds[0])
    print(f"\n1. label issues on the demo ({len(truth):,} train images, {int(truth.flipped.sum())} flipped)")
    variants = [(f"one scan ({sizes[0]} px, fold seed {seeds[0]})", run_ids[:1])]
    for seed in seeds[1:]:  # the same scan with other folds: how much the figures move with the split alone
        variants.append((f"one scan ({sizes[0]} px, fold seed {seed})", scan_runs(layout, sizes[:1], seed=seed)))
    if len(run_ids) > 1:
        variants.append((f"average of {len(run_ids)} scans ({', '.join(map(str, sizes))} px)", run_ids))
    for title, ids in variants:
        result = issues_for_runs(layout, ids, data=False, refresh=True)
        precision, recall, at_k, k = flip_scores(result.labels, truth)
        flagged = int(result.labels["is_label_issue"].sum())
        note(f"{title}: {flagged} flagged")
        report(BENCH, f"{title}: precision of is_label_issue", precision, "", target=0.8, higher_is_better=True)
        report(BENCH, f"{title}: recall of is_label_issue", recall, "", target=0.8, higher_is_better=True)
        report(BENCH, f"{title}: precision of the first k={k} ranked", at_k, "")
    return run_ids


def synthetic_run(layout, rows: int, *, classes: int = 17, seed: int = 0) -> str:
    """A succeeded run whose oof.csv holds `rows` synthetic rows (8% of labels flipped)."""
    import numpy as np

    from core.config import resolve_config
    from core.runs.folder import RunWriter, create_run, write_oof

    rng = np.random.default_rng(seed)
    true = rng.integers(0, classes, rows)
    given = true.copy()
    flipped = rng.random(rows) < 0.08
    given[flipped] = (true[flipped] + rng.integers(1, classes, flipped.sum())) % classes
    logits = rng.normal(0, 1, (rows, classes)).astype(np.float32)
    logits[np.arange(rows), true] += 3
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)
    run_dir = create_run(layout, resolve_config(kind="scan"), run_id="20260101-000000-scan-big0")
    write_oof(run_dir, [f"img_{i:07d}.jpg" for i in range(rows)], np.arange(rows) % 5, given, probs)
    RunWriter(run_dir).status(state="succeeded", labels="original")
    return run_dir.name


def scale(rows: int) -> None:
    import numpy as np

    from core.issues.data_issues import data_issues
    from core.issues.run_issues import issues_for_runs
    from core.labels.decisions import DecisionRequest, current_decisions, record_decision, record_decisions
    from core.labels.review import review_queue
    from core.project.layout import open_layout

    print(f"\n2. scale: {rows:,} train rows x 17 classes")
    with temp_dir("wb-bench-issues-") as tmp:
        (tmp / "train").mkdir()
        (tmp / "train.csv").write_text("ID,target\n")
        layout = open_layout(tmp)
        layout.ensure_work_dir()
        run_id = synthetic_run(layout, rows)
        size = (layout.runs_dir / run_id / "oof.csv").stat().st_size / 1e6
        note(f"oof.csv {size:.0f} MB")
        import cleanlab.filter  # noqa: F401 - the import (about 1 s) is paid once per process, not per run

        start = time.perf_counter()
        result = issues_for_runs(layout, [run_id], data=False)
        seconds = time.perf_counter() - start
        flagged = int(result.labels["is_label_issue"].sum())
        report(BENCH, f"issues of {rows:,} x 17 (read, cleanlab, cache), cold", seconds, "s", target=10.0)
        note(f"{flagged:,} flagged")
        start = time.perf_counter()
        issues_for_runs(layout, [run_id], data=False)
        report(BENCH, "the same, read back from the cache", time.perf_counter() - start, "s")

        rng = np.random.default_rng(1)
        embeddings = rng.normal(0, 1, (20_000, 128)).astype(np.float32)
        labels = rng.integers(0, 17, 20_000)
        start = time.perf_counter()
        data_issues(embeddings[:16_000], labels[:16_000], test_embeddings=embeddings[16_000:])
        report(BENCH, "Datalab on 16,000 train + 4,000 test x 128-d embeddings", time.perf_counter() - start, "s")

        queue = result.queue()
        # Keep the queue longer than the decisions stored, so the timed loop always has a next item.
        stored = min(5000, max(0, len(queue) - 100))
        print(f"\n3. per decision on the {rows:,}-row issues, {stored:,} decisions stored")
        db_path = layout.db_path
        earlier = [DecisionRequest(i, "keep", 0) for i in queue["ID"].iloc[:stored]]
        record_decisions(db_path, earlier, source="bulk")
        timings = []
        for _ in range(30):
            start = time.perf_counter()
            decided = set(current_decisions(db_path)["ID"])
            item = review_queue(queue, decided, kinds=["label"]).iloc[0]
            record_decision(db_path, item["ID"], "keep", old_label=int(item["given_label"]), expected_latest=None)
            timings.append(time.perf_counter() - start)
        report(BENCH, "decision + next item of the queue (server, median)", statistics.median(timings), "s", target=0.5)
        report(BENCH, "decision + next item of the queue (server, max)", max(timings), "s")


def browser_queue(project: Path, decisions: int = 15) -> None:
    from _fixtures import chromium_page, streamlit_server

    print("\n3b. the Issues page in Chromium (demo): keypress -> next item painted")
    home = project.parent / "bench-home"
    env = {"WORKBENCH_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    measure = """(before) => new Promise((resolve) => {
      const start = window.__wbKeyDown; let host = null;
      const current = () => {
        if (!host || !host.isConnected) host = [...document.querySelectorAll('*')].find((e) => e.shadowRoot && e.shadowRoot.querySelector('.wb-review'));
        const el = host && host.shadowRoot.querySelector('.wb-id'); return el ? el.textContent : null; };
      const tick = () => { const now = current(); if (now !== null && now !== before) resolve(performance.now() - start); else requestAnimationFrame(tick); };
      tick(); setTimeout(() => resolve(-1), 15000); })"""
    with (
        streamlit_server("workbench/app.py", env=env, args=["--project", str(project)]) as url,
        chromium_page() as page,
    ):
        page.goto(f"{url}/issues")
        page.locator(".wb-review .wb-id").wait_for()
        page.evaluate(
            "() => document.addEventListener('keydown', () => { window.__wbKeyDown = performance.now(); }, true)"
        )
        page.wait_for_timeout(1000)
        timings = []
        for _ in range(decisions):
            before = page.locator(".wb-review .wb-id").inner_text()
            page.keyboard.press("k")
            timings.append(page.evaluate(measure, before) / 1000)
            page.wait_for_timeout(200)  # a reviewer glances at the card
    timings = [t for t in timings if t > 0]
    report(
        BENCH,
        f"keypress -> next item on screen (median of {len(timings)})",
        statistics.median(timings),
        "s",
        target=0.5,
    )
    report(BENCH, "keypress -> next item on screen (max)", max(timings), "s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", help="an existing demo project (its scan runs are reused); default: build one")
    parser.add_argument("--sizes", default="224", help="scan.image_size of the runs to average (first: alone)")
    parser.add_argument("--seeds", default="0", help="data.seed (fold splits) of the single-scan figures")
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args(argv)
    print(f"label_issues (load average {os.getloadavg()[0]:.1f})")
    sizes = [int(s) for s in args.sizes.split(",") if s]
    with temp_dir("wb-bench-demo-") as tmp:
        if args.project:
            project = Path(args.project).resolve()
        else:
            from core.project.demo import build_demo

            project = tmp / "demo"
            build_demo(project)
        demo_accuracy(project, sizes, [int(s) for s in args.seeds.split(",") if s])
        scale(args.rows)
        if not args.no_browser:
            import shutil

            # A copy without decisions: the timing presses K through the queue, which must not touch
            # the project's own decisions.
            copy = tmp / "browser"
            shutil.copytree(project, copy, ignore=shutil.ignore_patterns("workbench.db*"), symlinks=True)
            browser_queue(copy)


if __name__ == "__main__":
    main()
