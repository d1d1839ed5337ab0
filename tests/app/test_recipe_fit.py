"""AppTest of the fit table on the Recipes page and the Overview's train vs test card."""

from __future__ import annotations

import shutil

import pytest
from streamlit.testing.v1 import AppTest

import core.recipes.fit_job as fit_job
from core.project.demo import build_demo
from core.project.layout import open_layout
from core.recipes import fit_cache
from tests.support.apphelpers import APP
from workbench import state
from workbench.components.recipe_fit import PARAMS


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("fit_app") / "project"
    build_demo(root, per_class=6)
    layout = open_layout(root)
    layout.ensure_work_dir()
    return layout


@pytest.fixture(scope="module")
def scored(demo, tmp_path_factory):
    """A copy of the demo with none and document-scan scored by the real job (the page's own params)."""
    root = tmp_path_factory.mktemp("fit_app_scored") / "project"
    shutil.copytree(demo.root, root)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WORKBENCH_HOME", str(tmp_path_factory.mktemp("home")))
        fit_job.run_fit_job(root, ["none", "document-scan"], PARAMS)
    return open_layout(root)


def _app(layout, monkeypatch, tmp_path, page: str) -> AppTest:
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "home"))
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state[state.PROJECT] = str(layout.root)
    at.run()
    if page != "overview":
        at = at.switch_page(f"../pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def _starts(monkeypatch) -> list[list[str]]:
    started: list[list[str]] = []
    monkeypatch.setattr(fit_job, "start_fit", lambda layout, recipes, params=None: started.append(recipes) or True)
    return started


def _button(at, label: str):
    return next(b for b in at.button if b.label.startswith(label))


def test_unscored_recipes_are_offered_for_scoring(demo, monkeypatch, tmp_path):
    started = _starts(monkeypatch)
    at = _app(demo, monkeypatch, tmp_path, "recipes")
    assert any(s.value == "Fit to test" for s in at.subheader)
    _button(at, "Score 5 recipes not scored yet").click().run()
    assert started == [["none", "light", "document-scan", "heavy", "default"]]


def test_scored_recipes_are_ranked_in_a_table_with_a_map(scored, monkeypatch, tmp_path):
    started = _starts(monkeypatch)
    at = _app(scored, monkeypatch, tmp_path, "recipes")
    table = next(d.value for d in at.dataframe if "fit score" in d.value.columns)
    assert list(table["recipe"]) == ["document-scan", "none"]  # closest to test first
    assert table["fit score"].iloc[0] > table["fit score"].iloc[1]
    assert "noise" in table["far off"].iloc[1]
    chooser = next(s for s in at.selectbox if s.label == "Map of test over a recipe's copies")
    assert chooser.value == "document-scan" and chooser.options == ["document-scan", "none"]  # the best first
    assert at.get("plotly_chart")
    _button(at, "Score 3 recipes not scored yet").click().run()
    assert started == [["light", "heavy", "default"]]


def test_a_damaged_map_is_a_warning_not_a_crash(scored, monkeypatch, tmp_path):
    _starts(monkeypatch)
    maps = sorted(fit_cache.fit_dir(scored).glob("*.npz"))
    saved = {path: path.read_bytes() for path in maps}
    try:
        for path in maps:
            path.write_bytes(b"PK\x03\x04 truncated")
        at = _app(scored, monkeypatch, tmp_path, "recipes")
        assert any("cannot be read" in w.value for w in at.warning)
    finally:
        for path, data in saved.items():
            path.write_bytes(data)


def test_the_overview_measures_train_vs_test_on_request(demo, monkeypatch, tmp_path):
    started = _starts(monkeypatch)
    at = _app(demo, monkeypatch, tmp_path, "overview")
    _button(at, "Measure train vs test").click().run()
    assert started == [["none"]]


def test_the_overview_says_how_test_differs_and_links_to_recipes(scored, monkeypatch, tmp_path):
    _starts(monkeypatch)
    at = _app(scored, monkeypatch, tmp_path, "overview")
    text = " ".join(m.value for m in at.markdown)
    assert "Test looks very different from train" in text or "Test differs clearly" in text
    assert "noise: pixel noise" in text
    assert not [b for b in at.button if b.label.startswith("Measure train vs test")]
