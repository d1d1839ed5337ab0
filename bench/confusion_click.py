"""Errors page: click a confusion-matrix cell in Chromium and time until its gallery is visible.

    .venv/bin/python bench/confusion_click.py [--clicks 8] [--scan]

The demo project (`workbench demo`: 10 classes, ~1,550 train and ~680 labelled test images, 64x64)
with one finished run: by default a synthetic one (80 % right, confidences spread, written through
core.runs like the tests' fixture runs: the page cannot tell), or with --scan a real scan run
(`workbench scan --set scan.image_size=64`, ~1.5 min more).

Figures:
  - click on a cell to every thumbnail of its gallery decoded (`complete && naturalWidth > 0`),
    for off-diagonal cells (the confusions, a handful to a few dozen images each) and for diagonal
    cells (hundreds of images: the first page of 48); median and worst. Target <= 1 s;
  - of that, the server's part: click to the last websocket frame of the rerun.
--no-browser keeps only the server-side figure (an AppTest rerun of the page with a cell open).
The server runs on a port in 8640-8660; the page is visited once first so the dataset index and
the caches are warm (what a user sees after the first visit).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _fixtures  # noqa: E402
from _fixtures import REPO, SocketLog, chromium_page, median, note, report, streamlit_server, temp_dir  # noqa: E402

_fixtures.PORTS = range(8640, 8661)  # this benchmark's servers stay in 8640-8660
BENCH = "confusion_click"
TARGET_S = 1.0
RUN_ID = "20260101-000000-scan-bench"

CELL_JS = """([t, p]) => {
  const host = document.getElementsByClassName('st-key-wb-errors-matrix')[0];
  const gd = host && host.querySelector('.js-plotly-plot');
  if (!gd || !gd._fullLayout || !gd._fullLayout.xaxis) return null;
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, box = gd.getBoundingClientRect();
  return {x: box.left + xa._offset + xa.l2p(p), y: box.top + ya._offset + ya.l2p(t)};
}"""
# True once the gallery of cell (t, p) shows `n` cards whose images are all decoded.
CELL_READY_JS = """([t, p, n]) => {
  const host = document.getElementsByClassName(`st-key-wb-gallery-errors_cell_${t}_${p}-grid`)[0];
  if (!host) return false;
  const roots = [host, ...[...host.querySelectorAll('*')].filter(e => e.shadowRoot).map(e => e.shadowRoot)];
  const imgs = roots.flatMap(r => [...r.querySelectorAll('.wb-card img')]);
  return imgs.length === n && imgs.every(i => i.complete && i.naturalWidth > 0);
}"""


def synthetic_run(root: Path, *, accuracy: float = 0.8, seed: int = 0) -> None:
    import numpy as np
    import pandas as pd

    from core.analysis.predictions import prediction_table
    from core.analysis.scores import headline_metrics
    from core.config import resolve_config
    from core.project.layout import open_layout
    from core.runs.folder import RunWriter, create_run, read_oof, read_test_probs, write_oof, write_test_outputs

    layout = open_layout(root)
    layout.ensure_work_dir()
    rng = np.random.default_rng(seed)
    train = pd.read_csv(layout.train_csv)
    truth = pd.read_csv(layout.test_labels_csv)
    k = len(pd.read_csv(layout.meta_csv))

    def probs_for(labels):
        predicted = np.where(rng.random(len(labels)) < accuracy, labels, rng.integers(0, k, len(labels)))
        confidence = rng.uniform(0.3, 0.99, len(labels))
        probs = np.tile(((1 - confidence) / (k - 1))[:, None], (1, k))
        probs[np.arange(len(labels)), predicted] = confidence
        return probs

    run_dir = create_run(layout, resolve_config(kind="scan"), run_id=RUN_ID)
    write_oof(run_dir, train.ID, np.arange(len(train)) % 5, train.target.to_numpy(), probs_for(train.target.to_numpy()))
    write_test_outputs(run_dir, truth.ID, probs_for(truth.target.to_numpy()))
    table = prediction_table(read_oof(run_dir), read_test_probs(run_dir), truth, num_classes=k)
    metrics = headline_metrics(table, num_classes=k)
    RunWriter(run_dir).status(state="succeeded", progress=1.0, metrics=metrics, labels="original")


def cells_to_click(root: Path, clicks: int) -> list[tuple[int, int, int]]:
    """(true, predicted, cards shown) for the largest off-diagonal cells, then diagonal ones."""
    import numpy as np

    from core.analysis.scores import confused_pairs, confusion_counts
    from core.project.layout import open_layout
    from core.runs.catalog import find_run
    from core.runs.folder import read_oof

    oof = read_oof(find_run(open_layout(root)).run_dir)
    k = int(max(oof["given"].max(), oof["predicted"].max())) + 1
    matrix = confusion_counts(oof["given"].to_numpy(), oof["predicted"].to_numpy(), num_classes=k)
    pairs = confused_pairs(matrix, top=clicks)
    off = [(int(t), int(p), min(48, int(c))) for t, p, c in zip(pairs["true"], pairs["predicted"], pairs["count"])]
    diagonal = [
        (int(t), int(t), min(48, int(matrix[t, t]))) for t in np.argsort(-np.diag(matrix))[: max(2, clicks // 2)]
    ]
    return off[:clicks] + diagonal


def server_side(root: Path, cells: list[tuple[int, int, int]]) -> None:
    """The Errors page's Python work for a chosen cell: a whole AppTest rerun (the browser reruns only
    the matrix fragment, which is less)."""
    from streamlit.testing.v1 import AppTest

    from workbench import state

    at = AppTest.from_file(str(REPO / "workbench" / "app.py"), default_timeout=300)
    at.session_state[state.PROJECT] = str(root)
    at.run()
    at.switch_page("../pages/errors.py").run()
    times = []
    for true, pred, _ in cells:
        at.session_state[state.ERRORS_CELL] = [true, pred]
        start = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - start)
    assert not at.exception, at.exception
    report(BENCH, "server: Errors page rerun with a cell open (AppTest, median)", median(times), "s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--clicks", type=int, default=8, help="off-diagonal cells to click (plus half as many diagonal)"
    )
    parser.add_argument("--scan", action="store_true", help="a real scan run instead of a synthetic one")
    parser.add_argument("--no-browser", action="store_true", help="only the server side (AppTest), no Chromium")
    args = parser.parse_args()
    import os

    print(f"{BENCH}: load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
    with temp_dir("wb-bench-confusion-") as tmp:
        root = tmp / "demo"
        from core.project.demo import build_demo

        start = time.perf_counter()
        build_demo(root)
        note(f"demo project built in {time.perf_counter() - start:.1f} s")
        if args.scan:
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "core.cli", "scan", "--project", str(root), "--set", "scan.image_size=64"],
                cwd=REPO,
                check=True,
                capture_output=True,
                env={**os.environ, "WORKBENCH_HOME": str(tmp / "home")},
            )
            note(f"scan run in {time.perf_counter() - start:.1f} s")
        else:
            synthetic_run(root)
        cells = cells_to_click(root, args.clicks)
        server_side(root, cells)
        if args.no_browser:
            return
        env = {"WORKBENCH_HOME": str(tmp / "home")}
        with (
            streamlit_server("workbench/app.py", env=env, args=["--project", str(root)]) as url,
            chromium_page(1500, 1600) as page,
        ):
            sockets = SocketLog(page)
            start = time.perf_counter()
            page.goto(f"{url}/errors")
            page.wait_for_function(f"() => ({CELL_JS})([0, 0]) !== null", timeout=120_000)
            note(f"first visit (dataset index, caches cold) {time.perf_counter() - start:.1f} s")
            page.reload()
            page.wait_for_function(f"() => ({CELL_JS})([0, 0]) !== null", timeout=120_000)
            page.wait_for_timeout(800)
            off_times, diag_times, server_times = [], [], []
            for true, pred, cards in cells:
                where = page.evaluate(CELL_JS, [true, pred])
                page.mouse.move(where["x"] - 3, where["y"] - 3)
                page.mouse.move(where["x"], where["y"])
                page.wait_for_timeout(250)
                sockets.clear()
                start = time.perf_counter()
                page.mouse.click(where["x"], where["y"])
                page.wait_for_function(CELL_READY_JS, arg=[true, pred, cards], polling="raf", timeout=60_000)
                elapsed = time.perf_counter() - start
                page.wait_for_timeout(300)  # let the rerun's last frames arrive before reading them
                server_times.append(sockets.summary(start)["last_recv"])
                (diag_times if true == pred else off_times).append(elapsed)
                note(f"cell ({true}, {pred}): {cards} thumbnails visible after {elapsed:.3f} s")
            report(
                BENCH, "click to gallery visible, off-diagonal cells (median)", median(off_times), "s", target=TARGET_S
            )
            report(BENCH, "click to gallery visible, off-diagonal cells (worst)", max(off_times), "s", target=TARGET_S)
            report(
                BENCH,
                "click to 48 thumbnails visible, diagonal cells (median)",
                median(diag_times),
                "s",
                target=TARGET_S,
            )
            report(BENCH, "  click to the rerun's last websocket frame (median)", median(server_times), "s")


if __name__ == "__main__":
    main()
