"""Issue 13's check, in Chromium: a project with every fault at once (run folders of the wrong shape or
cut short, a FIFO and a symlink loop named like images, a 200,000-character ID and an escape code in
train.csv), then with workbench.db overwritten by garbage. Every page of the navigation opens, shows no
exception box or traceback, echoes no value uncut or unescaped, and is screenshot under
test-output/fault-tour/ for a person to look at."""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import quote

import pytest

from core.project.demo import build_demo
from core.project.layout import open_layout
from core.runs.folder import RunWriter
from tests.support.apphelpers import OUTPUT, fixture_run, running_app, wait_idle

pytestmark = pytest.mark.browser

SHOTS = OUTPUT / "fault-tour"
# url path -> the page's title heading (workbench/app.py's st.navigation; a page's path is its file name)
PAGES = {
    "overview": "Overview",
    "browse": "Browse predictions",
    "errors": "Errors",
    "embeddings": "Embeddings",
    "issues": "Label issues",
    "recipes": "Noise recipes",
    "train": "Train",
    "runs": "Runs",
    "compare": "Compare predictions",
    "submissions": "Submissions",
}
# The garbage-store tour leaves out Recipes and Train: they read workbench.db only through label_versions, which
# lists the export files when the store cannot be read, and their first visit costs ~40 s (torch, albumentations).
DB_PAGES = [path for path in PAGES if path not in ("recipes", "train")]
GOOD = "20260101-000000-scan-good"
WRONG_SHAPE = ("20260101-000100-scan-list", "20260101-000200-scan-fields")
EVENTS = "20260101-000300-scan-events"
EMBEDDINGS = "20260101-000400-scan-embeddings"
CUT_OOF = "20260101-000500-scan-cutoof"  # the newest succeeded run: the analysis pages start on it
LONG_ID = "x" * 200_000 + ".png"
ESCAPE_ID = "\x1b[31mred.png"
LONGEST_LINE = 2_000


def _hostile_runs(layout) -> None:
    for run_id in (GOOD, *WRONG_SHAPE, EVENTS, EMBEDDINGS, CUT_OOF):
        fixture_run(layout, accuracy=0.8, seed=len(run_id), run_id=run_id)
    runs = layout.runs_dir
    (runs / WRONG_SHAPE[0] / "status.json").write_text(json.dumps([1, 2, 3]))
    (runs / WRONG_SHAPE[1] / "status.json").write_text(json.dumps({"state": "running", "pid": "abc", "progress": "x"}))
    with open(runs / EVENTS / "events.jsonl", "wb") as handle:
        handle.write(b'{"type": "progress"\n\x00\xff\xfe garbage\n[1, 2]\n"text"\n{"type": 5}\n' + b"z" * 300_000)
    for run_id in (EVENTS, CUT_OOF):  # stored none: only the damaged run's UMAP job starts (and fails at once)
        for name in ("embeddings.npy", "embeddings_ids.csv"):
            (runs / run_id / name).unlink()
    embeddings = runs / EMBEDDINGS / "embeddings.npy"
    embeddings.write_bytes(embeddings.read_bytes()[: embeddings.stat().st_size // 2])
    oof = runs / CUT_OOF / "oof.csv"
    lines = oof.read_text(encoding="utf-8").splitlines(keepends=True)
    RunWriter(runs / CUT_OOF).status(oof_rows=len(lines) - 1)
    oof.write_text("".join(lines[: len(lines) // 2]), encoding="utf-8")  # cut at a line boundary


def _hostile_files(root: Path) -> None:
    os.mkfifo(root / "train" / "fifo.png")
    os.symlink("loop.png", root / "train" / "loop.png")  # a link to itself: ELOOP on open
    with open(root / "train.csv", "a", encoding="utf-8") as handle:
        handle.write("".join(f"{row}\n" for row in ("fifo.png,0", "loop.png,1", f"{LONG_ID},2", f"{ESCAPE_ID},3")))


def _release_fifo(root: Path) -> None:
    """A reader stuck opening the FIFO is let go, so a failure never hangs the app's shutdown."""
    try:
        os.close(os.open(root / "train" / "fifo.png", os.O_WRONLY | os.O_NONBLOCK))
    except OSError:
        pass


def _project(base: Path, *, faults: bool) -> Path:
    root = base / "project"
    build_demo(root, per_class=10, image_size=32)
    layout = open_layout(root)
    layout.ensure_work_dir()
    if faults:
        _hostile_runs(layout)
        _hostile_files(root)
    else:
        fixture_run(layout, accuracy=0.8, seed=0, run_id=GOOD)
    return root


@pytest.fixture(scope="module")
def hostile_app(tmp_path_factory):
    base = tmp_path_factory.mktemp("fault-tour")
    root = _project(base, faults=True)
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        with running_app(root, base / "home", OUTPUT / "fault-tour-app.log") as url:
            yield url, root
    finally:
        _release_fifo(root)


def _screenshot(page, shot: str) -> None:
    """The whole page: Streamlit scrolls inside its main container, so the window is made as tall as it."""
    height = page.evaluate(
        """() => Math.max(...['stMain', 'stAppViewContainer', 'stSidebarContent']
            .map(id => document.querySelector(`[data-testid="${id}"]`)?.scrollHeight || 0))"""
    )
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": min(max(size["height"], height), 12_000)})
    page.wait_for_timeout(300)
    page.screenshot(path=str(SHOTS / f"{shot}.png"), full_page=True)
    page.set_viewport_size(size)


def _check_page(page, name: str, shot: str) -> str:
    """The page has no exception box or traceback and no over-long or unescaped text; saved as `shot`.png."""
    _screenshot(page, shot)
    assert page.locator('[data-testid="stException"]').count() == 0, f"{name}: an exception box"
    text = page.locator("body").inner_text()
    assert "Traceback" not in text, f"{name}: a traceback"
    assert "\x1b" not in text, f"{name}: a raw escape code"
    longest = max((len(line) for line in text.splitlines()), default=0)
    assert longest <= LONGEST_LINE, f"{name}: a line of {longest:,} characters"
    return text


def _visit(page, url: str, path: str, root: Path, shot: str) -> str:
    page.goto(f"{url}/{'' if path == 'overview' else path}?project={quote(str(root))}")
    page.get_by_role("heading", name=PAGES[path], exact=True).wait_for(timeout=60_000)
    wait_idle(page)
    return _check_page(page, PAGES[path], shot)


def _pick_run(page, run_id: str) -> None:
    page.get_by_label("Run", exact=True).click()
    page.get_by_role("option", name=run_id).click()
    wait_idle(page)


def test_every_page_survives_every_fault_at_once(browser, hostile_app):
    url, root = hostile_app
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        texts = {}
        for path in PAGES:
            texts[path] = _visit(page, url, path, root, path)
            if path == "runs":  # the wrong-shaped runs are listed as damaged: the card names the file
                for run_id in WRONG_SHAPE:
                    _pick_run(page, run_id)
                    assert "status.json" in _check_page(page, "Runs", f"runs-{run_id}"), run_id
    finally:
        page.close()
    assert "fifo.png" in texts["overview"] and "not a regular file" in texts["overview"]
    assert "\\x1b[31mred.png" in texts["overview"]
    assert "oof.csv" in texts["browse"] and "oof.csv" in texts["errors"]  # the newest run is the cut one


@pytest.mark.parametrize("path", ["browse", "errors", "embeddings"])
def test_the_analysis_pages_on_each_damaged_run(browser, hostile_app, path):
    url, root = hostile_app
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        _visit(page, url, path, root, f"{path}-{CUT_OOF}")
        # (not GOOD on the Embeddings page: its UMAP job would compile numba for a minute, for nothing here)
        for run_id in (EVENTS, EMBEDDINGS) if path == "embeddings" else (EVENTS, EMBEDDINGS, GOOD):
            _pick_run(page, run_id)
            if path == "embeddings" and run_id == EMBEDDINGS:  # the UMAP job fails on it; the page says why
                page.get_by_text("embeddings.npy is damaged").wait_for(timeout=60_000)
                wait_idle(page)
            _check_page(page, PAGES[path], f"{path}-{run_id}")
    finally:
        page.close()


def test_every_page_names_a_garbage_workbench_db_and_what_to_do(browser, tmp_path):
    root = _project(tmp_path, faults=False)
    for name in ("embeddings.npy", "embeddings_ids.csv"):  # no UMAP job: the Embeddings page stops before the store
        (root / ".workbench" / "runs" / GOOD / name).unlink()
    db = root / ".workbench" / "workbench.db"
    for side in (db.with_name("workbench.db-wal"), db.with_name("workbench.db-shm")):
        side.unlink(missing_ok=True)
    db.write_bytes(b"\x00garbage, not SQLite\xff" * 512)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with running_app(root, tmp_path / "home", OUTPUT / "fault-tour-db-app.log") as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            texts = {path: _visit(page, url, path, root, f"db-{path}") for path in DB_PAGES}
        finally:
            page.close()
    for path in ("overview", "browse", "issues", "runs", "submissions"):
        assert "workbench.db is not a SQLite database" in texts[path], path
        assert "move it aside" in texts[path] and "workbench restore" in texts[path], path
    assert db.read_bytes().startswith(b"\x00garbage"), "the damaged file is left as it is"
