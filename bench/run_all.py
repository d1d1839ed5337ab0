"""Run every benchmark (each in its own process) and print one summary table of the figures with targets.

    .venv/bin/python bench/run_all.py [--only thumbnails,overview_load] [--no-browser] [--what-if]

Each benchmark prints its own detail as it runs; the table at the end repeats the figures that
have a target (PASS / MISS) and the wall time of each script. Exit status is 0 even when a target
is missed (these are measurements, not tests); it is 1 only when a benchmark script fails.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = (
    "thumbnails",
    "overview_load",
    "gallery_page",
    "scan_demo",
    "train_throughput",
    "data_pipeline",
    "label_issues",
    "cleaning_loop",
    "confusion_click",
    "umap_embeddings",
)
BROWSER_BENCHMARKS = {"overview_load", "gallery_page"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated subset of: " + ", ".join(BENCHMARKS))
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium parts")
    parser.add_argument("--what-if", action="store_true", help="overview_load: also time the page variants")
    args = parser.parse_args(argv)
    chosen = [b for b in BENCHMARKS if not args.only or b in args.only.split(",")]

    figures: list[dict] = []
    durations: dict[str, tuple[float, int]] = {}
    with tempfile.TemporaryDirectory(prefix="wb-bench-results-") as tmp:
        for name in chosen:
            results = Path(tmp) / f"{name}.jsonl"
            cmd = [sys.executable, str(HERE / f"{name}.py")]
            if args.no_browser and name in BROWSER_BENCHMARKS:
                cmd.append("--no-browser")
            if args.what_if and name == "overview_load":
                cmd.append("--what-if")
            print(f"\n$ {' '.join(cmd)}", flush=True)
            start = time.perf_counter()
            proc = subprocess.run(cmd, env={**os.environ, "BENCH_RESULTS": str(results)}, check=False)
            durations[name] = (time.perf_counter() - start, proc.returncode)
            if results.is_file():
                figures += [json.loads(line) for line in results.read_text(encoding="utf-8").splitlines() if line]

    print("\nSummary (figures with a target)")
    print(f"  {'benchmark':<14} {'figure':<62} {'value':>10} {'unit':<9} {'target':<18} verdict")
    for fig in figures:
        if fig["target"] is None:
            continue
        value = f"{fig['value']:,.3f}" if abs(fig["value"]) < 100 else f"{fig['value']:,.0f}"
        print(
            f"  {fig['bench']:<14} {fig['name'].strip():<62} {value:>10} {fig['unit']:<9} "
            f"{fig['target_text']:<18} {fig['verdict']}"
        )
    print("\nScript run times")
    for name, (seconds, code) in durations.items():
        print(f"  {name:<14} {seconds:7.1f} s" + ("" if code == 0 else f"   FAILED (exit {code})"))
    missed = sum(1 for f in figures if f["verdict"] == "MISS")
    passed = sum(1 for f in figures if f["verdict"] == "PASS")
    print(
        f"\n{passed} PASS, {missed} MISS; load average now {os.getloadavg()[0]:.2f} "
        "(timings on a busy 2-core machine vary; compare runs taken at similar load)"
    )
    return 0 if all(code == 0 for _, code in durations.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
