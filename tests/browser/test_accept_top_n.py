"""Bulk accept in headless Chromium: top N accepted in one click; a decision made on the card shows in the table."""

from __future__ import annotations

import pytest

from core.issues.run_issues import issues_for_runs
from core.labels.decisions import current_decisions, decision_history
from tests.app.test_issues_health import OVERLAP_RUN, overlap_project
from tests.support.apphelpers import OUTPUT, served

pytestmark = pytest.mark.browser

TABLE_CELLS = "[data-testid='stDataFrame'] td"  # the grid's accessible table: the rows on screen


@pytest.fixture(scope="module")
def bulk_app(tmp_path_factory):
    base = tmp_path_factory.mktemp("browser_bulk")
    layout = overlap_project(base / "project")
    OUTPUT.mkdir(exist_ok=True)
    with served(layout.root, base / "home", OUTPUT / "browser-bulk-app.log") as (url, _process):
        yield url, layout


@pytest.fixture
def fresh_app(bulk_app):
    """The served overlapping project with no decisions (the server opens the database per write)."""
    url, layout = bulk_app
    for path in layout.work_dir.glob("workbench.db*"):
        path.unlink()
    return url, layout


def open_bulk(browser, url: str):
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    page.goto(f"{url}/issues")
    page.get_by_role("heading", name="Label issues").wait_for(timeout=120_000)
    page.locator(".wb-review .wb-id").wait_for(timeout=120_000)
    return page


def table_rows(page) -> list[list[str]]:
    """The flagged table's rows on screen: ID, given, suggested, label score, kinds, decided."""
    cells = page.locator(TABLE_CELLS).all_inner_texts()
    return [cells[i : i + 6] for i in range(0, len(cells) - 5, 6)]


def test_top_n_accepts_n_suggestions_in_one_click(browser, fresh_app):
    url, layout = fresh_app
    page = open_bulk(browser, url)
    page.get_by_text("Bulk accept", exact=True).click()
    box = page.get_by_role("spinbutton", name="N")
    box.wait_for(timeout=30_000)
    n = 10
    box.fill(str(n))
    box.press("Enter")
    accept = page.get_by_role("button", name=f"Accept {n} suggestions")
    accept.wait_for(timeout=30_000)
    page.screenshot(path=str(OUTPUT / "bulk-top-n.png"), full_page=True)
    accept.click()
    page.get_by_text(f"Relabelled {n} image(s) to their suggestion; 0 skipped (already decided)").wait_for(
        timeout=30_000
    )

    history = decision_history(layout.db_path)
    assert len(history) == n and set(history["action"]) == {"relabel"} and set(history["source"]) == {"bulk"}
    flagged = issues_for_runs(layout, [OVERLAP_RUN], data=False).labels
    flagged = flagged.loc[flagged["is_label_issue"]]
    assert set(history["image_id"]) == set(flagged["ID"].head(n))  # the top N of the queue
    # The table says so: its first rows are the accepted ones, each "relabel -> <class>".
    page.wait_for_function(
        "() => [...document.querySelectorAll(\"[data-testid='stDataFrame'] td\")].some(c => "
        "c.textContent.startsWith('relabel -> '))",
        timeout=30_000,
    )
    rows = table_rows(page)
    assert rows and all(r[5] == f"relabel -> {r[2]}" for r in rows[: min(n, len(rows))])
    page.close()


def test_a_decision_on_the_card_shows_in_the_bulk_table(browser, fresh_app):
    url, layout = fresh_app
    page = open_bulk(browser, url)
    first = page.locator(".wb-review .wb-id").inner_text()
    page.keyboard.press("k")  # a fragment rerun: only the card is redrawn
    page.locator(".wb-review .wb-notice").filter(has_text=f"Saved: {first} keep").wait_for(timeout=15_000)
    page.get_by_text("Bulk accept", exact=True).click()
    page.get_by_text("Skipped: already decided").wait_for(timeout=30_000)
    page.wait_for_function(
        "(id) => [...document.querySelectorAll(\"[data-testid='stDataFrame'] td\")].some(c => c.textContent === id)",
        arg=first,
        timeout=30_000,
    )
    row = next(r for r in table_rows(page) if r[0] == first)
    assert row[5] == "keep"
    assert current_decisions(layout.db_path).set_index("ID").loc[first, "action"] == "keep"
    page.close()
