"""The Issues page in headless Chromium: keyboard review, relabel, two tabs, export, and the server killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import statistics
import time

import pandas as pd
import pytest

from core.labels.decisions import current_decisions, decision_history
from core.project.demo import build_demo
from core.project.layout import open_layout
from tests.app.test_issues import issues_fixture_run
from tests.support.apphelpers import OUTPUT, served

pytestmark = pytest.mark.browser

CARD_ID = ".wb-review .wb-id"  # locators pierce the component's shadow root
NOTICE = ".wb-review .wb-notice"
# Time from a keydown to the next item's ID painted, measured inside the page.
MEASURE = """(before) => new Promise((resolve) => {
  const start = window.__wbKeyDown || performance.now();
  let host = null;
  const current = () => {
    if (!host || !host.isConnected) {
      host = [...document.querySelectorAll('*')].find((e) => e.shadowRoot && e.shadowRoot.querySelector('.wb-review'));
    }
    const el = host && host.shadowRoot.querySelector('.wb-id');
    return el ? el.textContent : null;
  };
  const tick = () => { const now = current(); if (now !== null && now !== before) resolve(performance.now() - start);
                       else requestAnimationFrame(tick); };
  tick();
  setTimeout(() => resolve(-1), 15000);
})"""


@pytest.fixture(scope="module")
def issues_app(tmp_path_factory):
    base = tmp_path_factory.mktemp("browser_issues")
    build_demo(base / "project", per_class=40)
    layout = open_layout(base / "project")
    layout.ensure_work_dir()
    planted = issues_fixture_run(layout)
    OUTPUT.mkdir(exist_ok=True)
    with served(layout.root, base / "home", OUTPUT / "browser-issues-app.log") as (url, process):
        yield url, process, layout, planted


def open_issues(browser, url: str):
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    page.goto(f"{url}/issues")
    page.get_by_role("heading", name="Label issues").wait_for(timeout=120_000)
    page.locator(CARD_ID).wait_for(timeout=120_000)
    page.evaluate("() => document.addEventListener('keydown', () => { window.__wbKeyDown = performance.now(); }, true)")
    return page


def press_and_wait(page, key: str) -> tuple[str, float]:
    """Press a shortcut on the item on screen; returns (that item's ID, seconds until the next one shows)."""
    before = page.locator(CARD_ID).inner_text()
    page.keyboard.press(key)
    seconds = page.evaluate(MEASURE, before) / 1000
    assert seconds > 0, f"the next item never showed after pressing {key!r} on {before}"
    return before, seconds


def test_two_tabs_on_one_item_store_one_decision(browser, issues_app):
    url, _process, layout, _planted = issues_app
    one = open_issues(browser, url)
    two = open_issues(browser, url)
    item = one.locator(CARD_ID).inner_text()
    assert two.locator(CARD_ID).inner_text() == item
    press_and_wait(one, "k")
    two.bring_to_front()
    two.keyboard.press("d")  # the second tab still shows the item the first one just kept
    two.locator(NOTICE).filter(has_text="decided meanwhile").wait_for(timeout=15_000)
    two.screenshot(path=str(OUTPUT / "issues-second-tab.png"), full_page=True)
    assert two.locator(CARD_ID).inner_text() != item  # it moved on
    history = decision_history(layout.db_path)
    assert list(history["image_id"]) == [item] and list(history["action"]) == ["keep"]
    one.close()
    two.close()


def test_review_by_keyboard_relabel_export_and_sigkill(browser, issues_app):
    url, process, layout, planted = issues_app
    page = open_issues(browser, url)
    page.screenshot(path=str(OUTPUT / "issues-queue.png"), full_page=True)

    # Accept the suggestion with the keyboard.
    first_suggested = int(page.locator(".wb-review .wb-suggested .wb-v").inner_text().split(" · ")[0])
    first, _ = press_and_wait(page, "a")
    page.locator(NOTICE).filter(has_text=f"Saved: {first} relabel").wait_for(timeout=30_000)

    # Relabel the next one to a class chosen by hand.
    second = page.locator(CARD_ID).inner_text()
    given = int(page.locator(".wb-review .wb-given .wb-v").inner_text().split(" · ")[0])
    suggested = int(page.locator(".wb-review .wb-suggested .wb-v").inner_text().split(" · ")[0])
    chosen = next(c for c in range(10) if c not in (given, suggested))
    relabel = page.get_by_role("combobox", name="Relabel to")
    shown = page.locator(".wb-review .wb-suggested .wb-v").inner_text()  # the box starts on the suggestion
    deadline = time.monotonic() + 15
    while relabel.count() != 1 or relabel.input_value() != shown:
        assert time.monotonic() < deadline, "the relabel box of the previous item stayed on the page"
        page.wait_for_timeout(50)  # the rerun that drew this card is still replacing the previous item's box
    relabel.click()
    page.get_by_role("option", name=f"{chosen} · ").first.click()
    page.get_by_role("button", name="Relabel (R)").click()
    page.locator(NOTICE).filter(has_text=f"Saved: {second} relabel {given} -> {chosen}").wait_for(timeout=30_000)

    # Keep a few with K and time each decision until the next item is on screen.
    timings = [press_and_wait(page, "k")[1] for _ in range(6)]
    median = statistics.median(timings)
    print(f"decision -> next item on screen: median {median:.3f} s, max {max(timings):.3f} s over {len(timings)}")
    assert median < 1.0  # target 0.5 s on a quiet machine; CI shares 2 cores with Chromium
    page.screenshot(path=str(OUTPUT / "issues-after-decisions.png"), full_page=True)

    # Undo the last keep with U: that image comes back on screen.
    last_kept = current_decisions(layout.db_path).sort_values("decision_id").iloc[-1]["ID"]
    page.keyboard.press("u")
    page.locator(NOTICE).filter(has_text=f"Undone: {last_kept}").wait_for(timeout=30_000)
    assert page.locator(CARD_ID).inner_text() == last_kept

    # Export from the page; the relabelled images are in the new version.
    page.get_by_text("Export & versions", exact=True).click()
    page.get_by_role("button", name="Export the next version").click()
    page.get_by_text("Exported v1").wait_for(timeout=30_000)
    page.get_by_role("button", name="Retrain on v1").wait_for(timeout=30_000)
    page.screenshot(path=str(OUTPUT / "issues-export.png"), full_page=True)
    clean = pd.read_csv(layout.labels_dir / "train_v1.csv").set_index("ID")
    assert clean.loc[first, "target"] == first_suggested and clean.loc[second, "target"] == chosen
    changes = pd.read_csv(layout.labels_dir / "changes_v1.csv").set_index("ID")
    assert changes.loc[first, "action"] == "relabel" and changes.loc[first, "source"] == "cleanlab"
    assert changes.loc[second, "new"] == chosen and changes.loc[second, "source"] == "manual"

    # Two more decisions shown as saved, then the server is killed outright: nothing shown is lost.
    page.get_by_text("Review queue", exact=True).click()
    page.locator(CARD_ID).wait_for(timeout=30_000)
    shown_saved = []
    for key in ("d", "k"):
        image_id, _ = press_and_wait(page, key)
        page.locator(NOTICE).filter(has_text=f"Saved: {image_id}").wait_for(timeout=10_000)
        shown_saved.append(image_id)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    page.close()
    current = current_decisions(layout.db_path).set_index("ID")
    assert current.loc[shown_saved[0], "action"] == "drop" and current.loc[shown_saved[1], "action"] == "keep"
    assert current.loc[first, "new_label"] == first_suggested and current.loc[second, "new_label"] == chosen
