"""The workbench on a large project (bench/scale_project.py): `workbench check`, every page, issues, export.

    .venv/bin/python bench/scale_project.py --out /tmp/s200k            # 200,000 images + a scan run, once
    .venv/bin/python bench/scale_pages.py --project /tmp/s200k [--skip-cold] [--pages overview,browse,...]

Figures (targets of issue 14 in brackets), each printed as a table row and appended to --out (markdown):
  - `workbench check` cold (no .workbench/cache: every image indexed and thumbnailed) [<= 60 s] and
    warm [<= 10 s], as subprocesses, with their peak resident memory;
  - each page as the server runs it (AppTest in this process, the project opened through the address
    ?project=): first run, then a warm rerun [Overview <= 3 s, Browse / Errors <= 2 s]; the next gallery
    page on Browse (a rerun after the pagination moved) [<= 1 s];
  - issue ranking: `workbench issues --labels-only` (cleanlab over the run's out-of-fold probabilities)
    [<= 10 s], then `workbench issues` with Datalab's outliers, near duplicates and leakage, uncached;
  - export of a clean CSV after one decision: `workbench export` [<= 5 s];
  - this process's peak resident memory after every page (what the Streamlit server would hold) [< 4 GB].
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

PAGES = ("overview", "browse", "errors", "issues", "embeddings", "runs")
TARGETS = {"overview": 3.0, "browse": 2.0, "errors": 2.0, "issues": 10.0, "embeddings": 3.0, "runs": 2.0}
ROWS: list[tuple[str, str, str, str]] = []  # (figure, value, target, verdict)


def _row(figure: str, seconds: float | None, target: float | None, *, value: str | None = None) -> None:
    shown = value if value is not None else f"{seconds:.1f} s"
    verdict = "" if target is None or seconds is None else ("ok" if seconds <= target else "OVER")
    ROWS.append((figure, shown, "" if target is None else f"<= {target:g} s", verdict))
    print(f"{figure:58} {shown:>12} {ROWS[-1][2]:>10} {verdict}", flush=True)


def _cli(args: list[str]) -> tuple[float, float, str]:
    """(seconds, peak resident MB, stdout) of `workbench ARGS` in a subprocess."""
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = subprocess.run(
        [sys.executable, "-m", "core.cli", *args], cwd=REPO, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    if result.returncode not in (0, 1):
        raise SystemExit(f"workbench {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return seconds, peak, result.stdout


def check_figures(project: Path, *, cold: bool) -> None:
    if cold:
        shutil.rmtree(project / ".workbench" / "cache", ignore_errors=True)
        seconds, peak, _ = _cli(["check", "--project", str(project)])
        _row("workbench check, cold (index + thumbnails)", seconds, 60.0)
        _row("  its peak resident memory", None, None, value=f"{peak:,.0f} MB")
    seconds, peak, out = _cli(["check", "--project", str(project)])
    _row("workbench check, warm", seconds, 10.0)
    _row("  its peak resident memory", None, None, value=f"{peak:,.0f} MB")


def page_figures(project: Path, pages: list[str]) -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO / "workbench" / "app.py"), default_timeout=600)
    at.query_params["project"] = str(project)
    for page in pages:
        if page != "overview":
            at.switch_page(f"../pages/{page}.py")
        started = time.perf_counter()
        at.run()
        first = time.perf_counter() - started
        if at.exception:
            raise SystemExit(f"{page}: {at.exception[0].value}")
        started = time.perf_counter()
        at.run()
        warm = time.perf_counter() - started
        _row(f"{page} page, first run in this server process", first, None)
        _row(f"{page} page, warm rerun", warm, TARGETS.get(page))
        if page == "browse":
            import re

            from workbench.state import gallery_page_key

            counts = [re.match(r"([\d,]+) image\(s\), showing", c.value) for c in at.caption]
            total = next((int(m.group(1).replace(",", "")) for m in counts if m), 0)
            key = gallery_page_key("browse", -(-total // 48)) if total > 48 else None
            if key is not None:
                at.session_state[key] = 2
                started = time.perf_counter()
                at.run()
                _row("browse: next gallery page (rerun)", time.perf_counter() - started, 1.0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    _row("server process peak resident memory (all pages)", None, None, value=f"{peak:,.0f} MB")
    ROWS[-1] = (*ROWS[-1][:2], "< 4,096 MB", "ok" if peak < 4096 else "OVER")


def label_figures(project: Path) -> None:
    out = ["--out", str(project / "issues-bench.csv")]
    shutil.rmtree(project / ".workbench" / "cache" / "issues", ignore_errors=True)  # uncached
    seconds, peak, _ = _cli(["issues", "--project", str(project), "--labels-only", *out])
    _row("issue ranking, label issues (workbench issues --labels-only, uncached)", seconds, 10.0)
    seconds, peak, _ = _cli(["issues", "--project", str(project), *out])
    _row("label + data issues (workbench issues: Datalab too, uncached)", seconds, None)
    _row("  its peak resident memory", None, None, value=f"{peak:,.0f} MB")
    import pandas as pd

    first = pd.read_csv(project / "issues-bench.csv", nrows=1)
    _cli(["relabel", "--project", str(project), str(first["ID"].iloc[0]), "0"])
    seconds, peak, _ = _cli(["export", "--project", str(project)])
    _row("export of a clean CSV (workbench export)", seconds, 5.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--project", type=Path, required=True)
    parser.add_argument("--skip-cold", action="store_true", help="keep the index: no cold `check`")
    parser.add_argument("--pages", default=",".join(PAGES))
    parser.add_argument("--no-labels", action="store_true", help="skip `workbench issues` and `export`")
    parser.add_argument("--out", type=Path, help="append the table (markdown) to this file")
    args = parser.parse_args(argv)
    project = args.project.resolve()
    images = sum(1 for _ in os.scandir(project / "train")) + sum(1 for _ in os.scandir(project / "test"))
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"project {project}: {images:,} images; {machine}; load average {os.getloadavg()[0]:.1f}")
    check_figures(project, cold=not args.skip_cold)
    page_figures(project, [p for p in args.pages.split(",") if p])
    if not args.no_labels:
        label_figures(project)
    if args.out:
        lines = [
            f"\n### {images:,} images ({time.strftime('%Y-%m-%d')}; {machine}; "
            f"load average {os.getloadavg()[0]:.1f} at the end)\n",
            "| figure | measured | target | |",
            "|---|---:|---:|---|",
            *(f"| {f.strip()} | {v} | {t} | {o} |" for f, v, t, o in ROWS),
        ]
        with open(args.out, "a", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
