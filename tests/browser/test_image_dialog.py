"""At a 1,400 x 900 window in headless Chromium, with class names as long as real ones: no text is cut
off (the Overview's metrics, the Issues page's accept button, the image dialog's file path), the Drop
button's tooltip does not cover Relabel, and the image dialog relabels a train image."""

from __future__ import annotations

import pandas as pd
import pytest

from core.labels.decisions import latest_decision
from core.project.demo import build_demo
from core.project.layout import open_layout
from tests.app.test_issues import issues_fixture_run
from tests.support.apphelpers import OUTPUT, running_app

pytestmark = pytest.mark.browser
WINDOW = {"width": 1400, "height": 900}
LONG_NAMES = {0: "Tractor-trailer with extended sleeper cab", 6: "Articulated city bus with bellows joint"}
# Elements under `selector` whose text is cut (ellipsis or clipped): their content is wider than their box.
CUT_JS = """(selector) => {
  const cut = [];
  for (const root of document.querySelectorAll(selector)) {
    for (const el of [root, ...root.querySelectorAll('*')]) {
      if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'visible') {
        cut.push(root.innerText);
        break;
      }
    }
  }
  return cut;
}"""
# Bounding boxes of the tooltips shown now.
TOOLTIPS_JS = """() => [...document.querySelectorAll('[data-testid="stTooltipContent"], [role="tooltip"]')]
  .map((el) => el.getBoundingClientRect()).filter((r) => r.width > 0 && r.height > 0)
  .map((r) => ({left: r.left, right: r.right, top: r.top, bottom: r.bottom}))"""


def long_class_names(root) -> dict[int, str]:
    """meta.csv with names as long as a real data set's ("Tractor-trailer with extended sleeper cab")."""
    meta = pd.read_csv(root / "meta.csv")
    for k in range(len(meta)):
        meta.iloc[k, 1] = LONG_NAMES.get(k, f"Long vehicle class name number {k} with trailer")
    meta.to_csv(root / "meta.csv", index=False)
    return dict(zip(meta.iloc[:, 0], meta.iloc[:, 1]))


@pytest.fixture(scope="module")
def long_names_app(tmp_path_factory):
    base = tmp_path_factory.mktemp("browser_dialog")
    build_demo(base / "project", per_class=40)
    names = long_class_names(base / "project")
    layout = open_layout(base / "project")
    layout.ensure_work_dir()
    issues_fixture_run(layout)
    OUTPUT.mkdir(exist_ok=True)
    with running_app(layout.root, base / "home", OUTPUT / "browser-dialog-app.log") as url:
        yield url, layout, names


def overlaps(a: dict, b: dict) -> bool:
    return a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]


def test_overview_metrics_show_their_whole_value(browser, long_names_app):
    url, _layout, _names = long_names_app
    page = browser.new_page(viewport=WINDOW)
    page.goto(url)
    page.get_by_role("heading", name="Overview").wait_for(timeout=60_000)
    page.get_by_text("Project check passed").wait_for(timeout=60_000)
    values = page.locator('[data-testid="stMetricValue"]')
    values.nth(4).wait_for(timeout=30_000)
    assert values.count() == 5
    page.screenshot(path=str(OUTPUT / "dialog-overview-1400.png"))
    assert page.evaluate(CUT_JS, '[data-testid="stMetric"]') == []
    page.close()


def test_issues_accept_button_and_drop_tooltip_at_1400(browser, long_names_app):
    url, _layout, names = long_names_app
    page = browser.new_page(viewport=WINDOW)
    page.goto(f"{url}/issues")
    page.locator(".wb-review .wb-id").wait_for(timeout=120_000)
    accept = page.get_by_role("button", name="Accept")
    accept.wait_for()
    assert page.evaluate(CUT_JS, '[data-testid="stBaseButton-primary"]') == []  # the accept button's text fits
    relabel = page.get_by_role("button", name="Relabel (R)").bounding_box()
    page.get_by_role("button", name="Drop (D)").hover()
    page.wait_for_timeout(1500)  # a tooltip shows after a short delay
    page.screenshot(path=str(OUTPUT / "dialog-issues-drop-hover-1400.png"))
    box = {"left": relabel["x"], "right": relabel["x"] + relabel["width"], "top": relabel["y"]}
    box["bottom"] = relabel["y"] + relabel["height"]
    assert not [tip for tip in page.evaluate(TOOLTIPS_JS) if overlaps(tip, box)]
    page.close()


def test_browse_dialog_shows_the_whole_path_and_relabels(browser, long_names_app):
    url, layout, names = long_names_app
    page = browser.new_page(viewport=WINDOW)
    page.goto(f"{url}/browse")
    page.get_by_role("heading", name="Browse predictions").wait_for(timeout=60_000)
    card = page.locator(".wb-card").first
    card.wait_for(timeout=30_000)
    image_id = card.get_attribute("title")
    card.click()
    dialog = page.get_by_role("dialog")
    dialog.wait_for(timeout=30_000)
    dialog.get_by_text("Label decision").wait_for(timeout=30_000)
    path = str(layout.train_dir / image_id)
    dialog.get_by_text(path).wait_for(timeout=10_000)  # text on the page, not pixels in a table canvas
    assert page.evaluate(CUT_JS, '[data-testid="stDialog"] [data-testid="stCode"]') == []
    page.screenshot(path=str(OUTPUT / "dialog-browse-1400.png"))

    given = int(pd.read_csv(layout.train_csv, dtype={"ID": str}).set_index("ID").at[image_id, "target"])
    target = (given + 1) % len(names)
    dialog.get_by_label("Relabel to").click()
    page.get_by_role("option", name=f"{target} · {names[target]}").click()
    dialog.get_by_role("button", name="Relabel", exact=True).click()
    dialog.get_by_text("Saved in workbench.db").wait_for(timeout=30_000)
    decision = latest_decision(layout.db_path, image_id)
    assert (decision.action, decision.old_label, decision.new_label) == ("relabel", given, target)
    dialog.get_by_text(f"Relabelled to {target} · {names[target]}").first.wait_for()
    page.screenshot(path=str(OUTPUT / "dialog-browse-relabelled-1400.png"))
    page.close()
