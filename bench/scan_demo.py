"""Scan runs on the demo project: wall time (embedding vs folds), OOF and test macro-F1 per image size.

Builds the full default demo (core.project.demo.build_demo) in a temporary folder and runs scan jobs
in-process through the job entry (core.runs.entry.main), as `workbench scan` would in a subprocess:
the default scan config (224 px) and 64 px and 128 px, each cold (empty embedding cache) and then
once more warm (the cache hit: no network at all). No asserts: figures only.

    .venv/bin/python bench/scan_demo.py [--sizes 64,128,224] [--max-train-224 N] [--folds 5] [--tta]

`--max-train-224 N` scans only the first N train rows at 224 px (a label version holding those
rows), for machines where the full demo at 224 px takes too long; the test set stays whole.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _fixtures import note, report, temp_dir  # noqa: E402

BENCH = "scan_demo"


def _split_times(run_dir: Path) -> tuple[float, float]:
    """(embedding s, folds s) from the scan's last log message."""
    from core.runs.folder import read_events

    for event in reversed(read_events(run_dir, kinds=("message",))):
        found = re.search(r"embedding ([\d.]+) s, folds ([\d.]+) s", event.get("text", ""))
        if found:
            return float(found.group(1)), float(found.group(2))
    return float("nan"), float("nan")


def scan_once(layout, overrides: list[str]) -> tuple[float, Path, dict]:
    """One scan job through core.runs.entry.main; (wall s, run folder, status)."""
    from core.config import resolve_config
    from core.runs.entry import main as job_main
    from core.runs.folder import create_run, read_status

    run_dir = create_run(layout, resolve_config(kind="scan", overrides=overrides))
    start = time.perf_counter()
    code = job_main(["--config", str(run_dir / "config.yaml")])
    wall = time.perf_counter() - start
    status = read_status(run_dir)
    if code != 0:
        note(f"scan {overrides} ended with exit code {code}: {status.get('message')}")
    return wall, run_dir, status


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="224,64,128", help="comma-separated scan.image_size values")
    parser.add_argument("--max-train-224", type=int, default=0, help="at 224 px scan only this many train rows")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--tta", action="store_true", help="scan.tta=true (flip-averaged embeddings)")
    parser.add_argument("--per-class", type=int, default=200, help="demo size (build_demo per_class)")
    args = parser.parse_args(argv)

    import pandas as pd

    from core.project.demo import build_demo
    from core.project.layout import open_layout

    print(f"[{BENCH}] os.cpu_count()={os.cpu_count()}, load average {os.getloadavg()[0]:.2f}", flush=True)
    with temp_dir("wb-bench-scan-") as tmp:
        start = time.perf_counter()
        summary = build_demo(tmp / "demo", per_class=args.per_class)
        note(
            f"demo: {summary.train_images} train, {summary.test_images} test images "
            f"({time.perf_counter() - start:.1f} s to build)"
        )
        layout = open_layout(summary.root)
        for size in [int(s) for s in args.sizes.split(",") if s.strip()]:
            overrides = [f"scan.image_size={size}", f"data.folds={args.folds}", f"scan.tta={str(args.tta).lower()}"]
            label = f"{size} px" + (" + flip TTA" if args.tta else "")
            if size == 224 and args.max_train_224:
                subset = tmp / "train_subset.csv"
                pd.read_csv(summary.root / "train.csv").head(args.max_train_224).to_csv(subset, index=False)
                overrides.append(f"data.labels={subset}")
                label += f", first {args.max_train_224} train rows"
            print(f"[{BENCH}] {label} (load average {os.getloadavg()[0]:.2f})", flush=True)
            wall, run_dir, status = scan_once(layout, overrides)
            embed_s, fit_s = _split_times(run_dir)
            metrics = status.get("metrics", {})
            images = int(status.get("train_rows", 0)) + int(status.get("test_rows", 0))
            report(BENCH, f"{label}: cold scan wall", wall, "s")
            report(BENCH, f"{label}:   embedding ({images} images)", embed_s, "s")
            report(BENCH, f"{label}:   embedding throughput", images / embed_s if embed_s > 0 else 0, "img/s")
            report(BENCH, f"{label}:   {args.folds}-fold logistic regression", fit_s, "s")
            report(BENCH, f"{label}: OOF macro-F1", metrics.get("oof_macro_f1", float("nan")), "")
            report(BENCH, f"{label}: test macro-F1", metrics.get("test_macro_f1", float("nan")), "")
            warm, _, _ = scan_once(layout, overrides)
            report(BENCH, f"{label}: warm rescan wall (embedding cache hit)", warm, "s")


if __name__ == "__main__":
    main()
