"""The real app in headless Chromium (Debian's chromium package, driven by Playwright)."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from core.project.demo import build_demo
from tests.support.apphelpers import OUTPUT, running_app
from workbench import state

pytestmark = pytest.mark.browser


def wait_for_loaded_thumbnails(page, *, at_least: int, timeout_s: float = 30) -> None:
    """Until `at_least` gallery images are decoded (locators pierce the component's shadow root)."""
    deadline = time.monotonic() + timeout_s
    script = "imgs => imgs.filter(i => i.complete && i.naturalWidth > 0).length"
    while (loaded := page.locator(".wb-card img").evaluate_all(script)) < at_least:
        if time.monotonic() > deadline:
            raise AssertionError(f"only {loaded} of {at_least} thumbnails loaded within {timeout_s} s")
        page.wait_for_timeout(100)


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory):
    base = tmp_path_factory.mktemp("browser")
    project = base / "project"
    build_demo(project, per_class=30)
    OUTPUT.mkdir(exist_ok=True)
    with running_app(project, base / "home", OUTPUT / "browser-app.log") as url:
        yield url, project


def test_overview_renders_with_gallery_and_opens_an_image(browser, demo_app):
    url, project = demo_app
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    page.get_by_role("heading", name="Overview").wait_for(timeout=60_000)
    train = pd.read_csv(project / "train.csv")
    page.get_by_text(f"{len(train):,}", exact=True).first.wait_for()
    first_card = page.locator(".wb-card").first
    first_card.wait_for(timeout=30_000)
    wait_for_loaded_thumbnails(page, at_least=48)
    assert page.locator(".wb-card").count() == 48  # 24 train + 24 test
    first_id = train.ID[0]
    assert first_id in page.locator(".wb-card").first.inner_text()
    page.screenshot(path=str(OUTPUT / "overview.png"), full_page=True)
    # The gallery's front-end code was asked for before any widget's (load_gallery_code, first in the
    # router), and the element that asked for it takes no room on the page.
    chunks = page.evaluate("performance.getEntriesByType('resource').map(e => e.name.split('/').pop())")
    first_of = {
        prefix: next(i for i, name in enumerate(chunks) if name.startswith(prefix))
        for prefix in ("BidiComponent.", "TextInput.", "Metric.")
    }
    assert first_of["BidiComponent."] < min(first_of["TextInput."], first_of["Metric."]), chunks
    loader = page.locator(f".st-key-{state.GALLERY_CODE_LOADER}")
    assert loader.count() == 1 and loader.evaluate("e => getComputedStyle(e).display") == "none"

    first_card.click()
    dialog = page.get_by_role("dialog")
    dialog.wait_for(timeout=30_000)
    dialog.get_by_text(first_id).first.wait_for()
    dialog.locator("img").first.wait_for()
    page.screenshot(path=str(OUTPUT / "overview-detail.png"))
    page.close()


def test_start_a_tiny_scan_from_the_train_page_and_see_it_finish(browser, demo_app):
    url, project = demo_app
    page = browser.new_page(viewport={"width": 1400, "height": 1200})
    page.goto(f"{url}/train")
    page.get_by_role("heading", name="Train").wait_for(timeout=60_000)
    page.get_by_role("tab", name="Scan (frozen backbone)").click()
    size = page.get_by_role("spinbutton", name="image size")  # (the field also has a help button)
    size.fill("32")
    size.press("Tab")
    page.get_by_role("button", name="Start scan run").click()
    page.get_by_text("Started scan run").wait_for(timeout=30_000)
    page.get_by_text("OOF macro-F1").first.wait_for(timeout=240_000)
    page.screenshot(path=str(OUTPUT / "train-finished.png"), full_page=True)
    runs = sorted((project / ".workbench" / "runs").iterdir())
    assert runs, "no run folder was created"
    status = (runs[-1] / "status.json").read_text()
    assert '"state": "succeeded"' in status
    assert '"image_size": 32' in status or "image_size: 32" in (runs[-1] / "config.yaml").read_text()
    page.close()


def test_runs_page_follows_a_running_run_and_compares_it_when_it_ends(browser, tmp_path):
    import subprocess
    import sys

    from core.project.layout import open_layout
    from core.runs.folder import RunWriter, read_status
    from tests.support.apphelpers import fixture_run, served

    project = tmp_path / "project"
    build_demo(project, per_class=12)
    layout = open_layout(project)
    layout.ensure_work_dir()
    fixture_run(layout, accuracy=0.6, seed=0, run_id="20260101-000000-scan-aaaa")
    run_id = fixture_run(layout, accuracy=0.9, seed=1, run_id="20260101-000100-scan-bbbb")
    run_dir = layout.runs_dir / run_id
    finished = read_status(run_dir)
    # Back to running (a scan writes oof.csv after every fold, so the artifacts may already be there).
    # A live process whose command line names the run stands in for the job (core.runs.status.pid_alive).
    job = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", run_id])
    writer = RunWriter(run_dir)
    writer.status(state="running", pid=job.pid, progress=0.3, fold=1, folds=5, message="fitting fold 2/5")
    page = browser.new_page(viewport={"width": 1400, "height": 1200})
    try:
        with served(project, tmp_path / "home", OUTPUT / "browser-runs-app.log") as (url, _process):
            page.goto(f"{url}/runs")
            page.get_by_role("heading", name="Runs").wait_for(timeout=60_000)
            page.get_by_label("Run", exact=True).click()
            page.get_by_role("option", name=run_id).click()
            page.get_by_role("heading", name="Runs").click()  # focus leaves the box
            page.get_by_text("fold 2/5").wait_for(timeout=15_000)
            assert page.get_by_text("Compare two runs").count() == 0  # one finished run only

            writer.status(progress=0.7, fold=3, message="fitting fold 4/5")
            page.get_by_text("fold 4/5").wait_for(timeout=15_000)  # no reload: the card polls

            writer.status(state="succeeded", progress=1.0, metrics=finished["metrics"])
            page.get_by_text("Compare two runs").wait_for(timeout=15_000)  # the whole page reran
            page.locator(".js-plotly-plot").first.wait_for(timeout=15_000)
            page.wait_for_timeout(1000)
            page.screenshot(path=str(OUTPUT / "runs-live-finished.png"), full_page=True)
    finally:
        job.kill()
        page.close()
