"""The Compare page in headless Chromium: upload two CSVs, save an ensemble of them, download it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.project.demo import build_demo
from tests.support.apphelpers import OUTPUT, running_app, wait_idle

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def compare_app(tmp_path_factory):
    base = tmp_path_factory.mktemp("browser-compare")
    project = base / "project"
    build_demo(project, per_class=8)
    OUTPUT.mkdir(exist_ok=True)
    with running_app(project, base / "home", OUTPUT / "browser-compare-app.log") as url:
        yield url, project, base


def _csv(project, path, offset: int) -> None:
    ids = pd.read_csv(project / "sample_submission.csv", dtype={"ID": str})[["ID"]]
    frame = ids.merge(pd.read_csv(project / "test_labels.csv", dtype={"ID": str}), on="ID")
    wrong = (np.arange(len(frame)) + offset) % 4 == 0
    frame.loc[wrong, "target"] = (frame.loc[wrong, "target"] + 1) % 10
    probs = np.full((len(frame), 10), 0.05)
    probs[np.arange(len(frame)), frame["target"]] = 0.55
    pd.concat([frame, pd.DataFrame(probs, columns=[f"prob_{k}" for k in range(10)])], axis=1).to_csv(path, index=False)


def test_upload_two_csvs_save_an_ensemble_and_download_it(browser, compare_app):
    url, project, base = compare_app
    _csv(project, base / "alice.csv", 0)
    _csv(project, base / "bob.csv", 2)
    page = browser.new_page(viewport={"width": 1500, "height": 1400}, accept_downloads=True)
    page.goto(f"{url}/compare")
    page.get_by_role("heading", name="Compare predictions").wait_for(timeout=90_000)
    page.get_by_text("No predictions yet").wait_for(timeout=30_000)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files([base / "alice.csv", base / "bob.csv"])
    page.get_by_text("alice.csv").first.wait_for(timeout=30_000)
    page.get_by_role("button", name="Add", exact=True).click()
    page.get_by_text("Added alice.csv as alice.csv").wait_for(timeout=30_000)
    page.get_by_text("Added bob.csv as bob.csv").wait_for(timeout=30_000)
    assert (project / ".workbench" / "predictions" / "alice.csv").is_file()
    page.get_by_role("heading", name="Agreement").wait_for(timeout=30_000)
    wait_idle(page)  # as a user would: the page has finished drawing before the name is typed
    page.screenshot(path=str(OUTPUT / "compare-members.png"), full_page=True)

    name = page.get_by_role("textbox", name="Save the ensemble as")
    name.fill("team blend")
    name.press("Enter")
    wait_idle(page)
    assert name.input_value() == "team blend"
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("Saved team_blend.csv").wait_for(timeout=30_000)
    with page.expect_download(timeout=30_000) as caught:
        page.get_by_role("button", name="Download team_blend.csv").click()
    download = caught.value
    assert download.suggested_filename == "team_blend.csv"
    saved = base / "downloaded.csv"
    download.save_as(saved)
    assert saved.read_bytes() == (project / ".workbench" / "predictions" / "team_blend.csv").read_bytes()
    frame = pd.read_csv(saved)
    assert list(frame.columns[:2]) == ["ID", "target"] and len(frame) == len(
        pd.read_csv(project / "sample_submission.csv")
    )
    page.screenshot(path=str(OUTPUT / "compare-ensemble.png"), full_page=True)
    page.close()
