"""The Recipes page in headless Chromium: a parameter changed in the step editor changes the preview images."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Error as PlaywrightError

from core.project.demo import build_demo
from tests.support.apphelpers import OUTPUT, running_app

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def recipes_app(tmp_path_factory):
    base = tmp_path_factory.mktemp("browser-recipes")
    project = base / "project"
    build_demo(project, per_class=10)
    OUTPUT.mkdir(exist_ok=True)
    with running_app(project, base / "home", OUTPUT / "browser-recipes-app.log") as url:
        yield url, project


def settled_pixels(locator, *, timeout_s: float = 30, different_from: bytes | None = None) -> bytes:
    """A screenshot of `locator` once two in a row are the same (the table's images are drawn on a canvas,
    asynchronously) and, when given, different from `different_from`. A rerun may replace the table while it
    is being shot ("not attached to the DOM"): the locator finds the new one on the next try."""
    deadline = time.monotonic() + timeout_s
    previous = b""
    while True:
        try:
            shot = locator.screenshot()
        except PlaywrightError as exc:
            if "not attached" not in str(exc) or time.monotonic() > deadline:
                raise
            previous = b""
            locator.page.wait_for_timeout(200)
            continue
        if shot == previous and shot != different_from:
            return shot
        if time.monotonic() > deadline:
            raise AssertionError("the preview did not settle" + (" on new images" if different_from else ""))
        previous = shot
        locator.page.wait_for_timeout(400)


def test_changing_a_step_parameter_changes_the_preview(browser, recipes_app):
    url, project = recipes_app
    page = browser.new_page(viewport={"width": 1500, "height": 1300})
    page.goto(f"{url}/recipes")
    page.get_by_role("heading", name="Noise recipes").wait_for(timeout=90_000)
    page.get_by_text("light", exact=True).click()  # the preset with few steps
    # A rerun keeps the previous run's elements on screen until the new ones replace them: `.first` of each.
    page.get_by_text("1. RandomRotate90 · p 1").first.wait_for(timeout=30_000)
    page.get_by_text("draws in").first.wait_for(timeout=30_000)  # a rerun may briefly show two captions
    preview = page.locator('[data-testid="stDataFrame"]').filter(has_text="draw 1").first
    before = settled_pixels(preview)
    page.screenshot(path=str(OUTPUT / "recipes-before.png"))

    step = page.locator('[data-testid="stExpander"]').filter(has_text="GaussNoise").first
    step.get_by_text("GaussNoise").first.click()  # open it
    p_slider = step.get_by_role("slider", name="probability p")
    p_slider.wait_for(timeout=15_000)
    assert p_slider.get_attribute("value") == "0.3"
    p_slider.focus()
    p_slider.press("End")  # p = 1: every draw gets the noise
    page.get_by_text("unsaved edits").first.wait_for(timeout=30_000)
    page.get_by_text("4. GaussNoise · p 1").first.wait_for(timeout=30_000)
    after = settled_pixels(preview, different_from=before)
    assert after != before
    page.screenshot(path=str(OUTPUT / "recipes-after.png"))
    assert not (project / ".workbench" / "recipes" / "light.yaml").exists()  # an edit is not a save
    page.close()
