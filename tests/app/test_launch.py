"""workbench.launch: `workbench serve` starts Streamlit with the first page's imports warmed in the background;
the other pages' imports follow once a page was drawn (workbench.cache.warm_other_pages_once)."""

from __future__ import annotations

import time

from core.cli.project import streamlit_command
from tests.support.apphelpers import in_fresh_python
from workbench.launch import first_page_modules, skip_repl_check


def test_serve_starts_the_app_through_the_warm_up_launcher(tmp_path):
    command = streamlit_command(tmp_path, port=8501, host="127.0.0.1")
    assert command[1:4] == ["-m", "workbench.launch", "run"]
    assert command[4].endswith("app.py") and command[-2:] == ["--project", str(tmp_path)]


def test_the_warm_up_covers_what_the_router_and_the_overview_import(tmp_path):
    modules = first_page_modules()
    for name in ("streamlit", "workbench.cache", "workbench.components.project_picker", "core.analysis.overview"):
        assert name in modules
    assert "workbench.state" in modules  # `from workbench import state`: the submodule
    page = tmp_path / "page.py"
    page.write_text("from __future__ import annotations\nimport json\nfrom . import sibling\nfrom os import path\n")
    assert first_page_modules((page, tmp_path / "missing.py")) == ["json", "os", "os.path"]


def test_the_warm_up_imports_them_without_streamlit_running():
    code = (
        "import sys\n"
        "from workbench.launch import first_page_modules, warm_up\n"
        "done = warm_up()\n"
        "missing = [m for m in first_page_modules() if m in done and m not in sys.modules]\n"
        "assert 'workbench.components.data_overview' in done and 'plotly.express' in sys.modules, done\n"
        "assert not missing, missing\n"
    )
    in_fresh_python(code)


def test_the_launcher_spares_the_first_element_streamlit_s_repl_check(monkeypatch):
    from streamlit import delta_generator, env_util

    calls: list[int] = []
    monkeypatch.setattr(env_util, "is_repl", lambda: calls.append(1) or False)  # inspect.stack(): 0.1 s
    monkeypatch.setattr(delta_generator, "_use_warning_has_been_displayed", False)
    delta_generator._maybe_print_use_warning()  # what the first element of a process does
    assert calls == [1]
    monkeypatch.setattr(delta_generator, "_use_warning_has_been_displayed", False)
    skip_repl_check()
    delta_generator._maybe_print_use_warning()
    assert calls == [1]  # a Streamlit that renamed its flag would check again here


def test_the_first_page_imports_no_scikit_learn():
    """scikit-learn (1 s to import on 2 cores) serves the scores of other pages; a new user's first view
    waited for it while core.analysis imported every module of the package."""
    code = (
        "import sys\n"
        "from workbench.launch import warm_up\n"
        "warm_up()\n"
        "heavy = [m for m in ('sklearn', 'scipy', 'cleanlab', 'torch', 'timm', 'umap') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    in_fresh_python(code)


def test_the_other_pages_imports_are_warmed_once_after_a_page_was_drawn(monkeypatch):
    from workbench import cache, launch

    warmed: list[list[str]] = []
    monkeypatch.setattr(launch, "warm_up", lambda modules=None: warmed.append(modules) or [])
    monkeypatch.setattr(cache, "WARM_PAGES_AFTER_S", 0.0)
    cache.warm_other_pages_once.clear()
    try:
        assert cache.warm_other_pages_once() is False  # WORKBENCH_WARM_PAGES=0 (conftest): tests stay single-threaded
        cache.warm_other_pages_once.clear()
        monkeypatch.setenv("WORKBENCH_WARM_PAGES", "1")
        assert cache.warm_other_pages_once() is True
        assert cache.warm_other_pages_once() is True  # once per process: no second thread
        deadline = time.monotonic() + 30
        while not warmed and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
    finally:
        cache.warm_other_pages_once.clear()
    assert len(warmed) == 1
    assert "core.analysis.scores" in warmed[0]  # scikit-learn, which the first page no longer imports
    assert not set(warmed[0]) & set(launch.first_page_modules())
