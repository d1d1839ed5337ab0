"""The open project lives in the address (?project=DIR): opened from the sidebar, it survives a reload, a page
switch and a new tab; a folder that is not a project is refused there with the reason, and nothing is written."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from core.project.demo import build_demo
from tests.support.apphelpers import OUTPUT, served

pytestmark = pytest.mark.browser


def _project_in_address(page) -> str:
    return parse_qs(urlparse(page.url).query).get("project", [""])[0]


def _shows_project(page, folder) -> None:
    """The sidebar names `folder` (its caption is the full path)."""
    page.get_by_test_id("stSidebar").get_by_text(str(folder), exact=True).wait_for(timeout=60_000)


def _open_in_sidebar(page, folder) -> None:
    sidebar = page.get_by_test_id("stSidebar")
    if not sidebar.get_by_label("Folder path").is_visible():
        sidebar.get_by_text("Open another project").click()
    box = sidebar.get_by_label("Folder path")
    box.fill(str(folder))
    sidebar.get_by_role("button", name="Open", exact=True).click()


def test_the_project_stays_in_the_address_across_reloads_pages_and_tabs(browser, tmp_path):
    served_project, other = tmp_path / "served", tmp_path / "other"
    build_demo(served_project, per_class=4)
    build_demo(other, per_class=5)
    not_a_project = tmp_path / "etc"
    not_a_project.mkdir()
    (not_a_project / "hosts").write_text("127.0.0.1 localhost\n")
    OUTPUT.mkdir(exist_ok=True)
    with served(served_project, tmp_path / "home", OUTPUT / "browser-project-url.log") as (url, _process):
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        _shows_project(page, served_project)
        assert _project_in_address(page) == str(served_project)

        _open_in_sidebar(page, not_a_project)
        page.get_by_text("not a usable project").wait_for(timeout=30_000)
        assert _project_in_address(page) == str(served_project)
        assert not (not_a_project / ".workbench").exists()

        _open_in_sidebar(page, other)
        _shows_project(page, other)
        page.wait_for_function(f"() => location.search.includes({str(other).split('/')[-1]!r})", timeout=15_000)
        assert _project_in_address(page) == str(other)

        page.reload()
        _shows_project(page, other)

        page.get_by_test_id("stSidebarNav").get_by_text("Runs", exact=True).click()
        page.get_by_role("heading", name="Runs").wait_for(timeout=60_000)
        page.wait_for_function("() => location.search.includes('project=')", timeout=15_000)
        assert urlparse(page.url).path.endswith("/runs") and _project_in_address(page) == str(other)
        _shows_project(page, other)
        page.reload()
        page.get_by_role("heading", name="Runs").wait_for(timeout=60_000)
        _shows_project(page, other)
        page.screenshot(path=str(OUTPUT / "project-url-runs.png"), full_page=True)

        tab = browser.new_page(viewport={"width": 1400, "height": 1000})
        tab.goto(page.url)
        _shows_project(tab, other)
        tab.close()
        page.close()
