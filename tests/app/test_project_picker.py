"""AppTest of where the app finds its project (the address, --project, WORKBENCH_PROJECT), the sidebar's
Open, and the Train page on a folder that is not a usable project. Nothing is written into a folder
that did not pass the project check."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.project.demo import build_demo
from tests.support.apphelpers import APP
from workbench import state

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def projects(tmp_path_factory):
    """Two small usable projects."""
    base = tmp_path_factory.mktemp("picker")
    build_demo(base / "first", per_class=4)
    build_demo(base / "second", per_class=5)
    return (base / "first").resolve(), (base / "second").resolve()


def _etc_like(tmp_path: Path) -> Path:
    root = tmp_path / "etc"
    (root / "ssh").mkdir(parents=True)
    (root / "hosts").write_text("127.0.0.1 localhost\n")
    (root / "ssh" / "sshd_config").write_text("PermitRootLogin no\n")
    return root


def _source_tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(REPO / "workbench" / "components", root / "workbench", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "README.md", root / "README.md")
    return root


def _app(monkeypatch, tmp_path, *, url: str | None = None, env: Path | None = None) -> AppTest:
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "home"))
    if env is not None:
        monkeypatch.setenv("WORKBENCH_PROJECT", str(env))
    at = AppTest.from_file(str(APP), default_timeout=90)
    if url is not None:
        at.query_params[state.PROJECT_PARAM] = url
    return at.run()


def _train_images(at) -> str:
    return {m.label: m.value for m in at.metric}["Train images"]


def _open_typed(at, folder) -> AppTest:
    at.sidebar.text_input(key=state.OPEN_FOLDER_INPUT).input(str(folder))
    return at.sidebar.button[0].click().run()  # the form's Open button


def test_the_address_names_the_project_before_the_environment(projects, monkeypatch, tmp_path):
    first, second = projects
    at = _app(monkeypatch, tmp_path, url=str(second), env=first)
    assert not at.exception
    assert at.session_state[state.PROJECT] == str(second)
    assert _train_images(at) == f"{len(pd.read_csv(second / 'train.csv')):,}"
    assert at.query_params[state.PROJECT_PARAM] == str(second)
    at.switch_page("../pages/runs.py").run()  # another page keeps the project in the address
    assert at.query_params[state.PROJECT_PARAM] == str(second)


def test_the_project_is_put_into_the_address(projects, monkeypatch, tmp_path):
    first, _second = projects
    at = _app(monkeypatch, tmp_path, env=first)
    assert at.session_state[state.PROJECT] == str(first)
    assert at.query_params[state.PROJECT_PARAM] == str(first)


def test_an_address_naming_a_folder_that_is_not_a_project_falls_back_and_says_why(projects, monkeypatch, tmp_path):
    first, _second = projects
    etc = _etc_like(tmp_path)
    at = _app(monkeypatch, tmp_path, url=str(etc), env=first)
    assert not at.exception
    assert at.session_state[state.PROJECT] == str(first)
    assert at.query_params[state.PROJECT_PARAM] == str(first)
    why = " ".join(e.value for e in at.sidebar.error)
    assert "?project=" in why and str(etc) in why and "train.csv" in why
    assert not (etc / ".workbench").exists()


def test_open_refuses_folders_that_are_not_projects_and_writes_nothing(projects, monkeypatch, tmp_path):
    first, second = projects
    at = _app(monkeypatch, tmp_path, env=first)
    for folder in (_etc_like(tmp_path), _source_tree(tmp_path)):
        before = sorted(folder.rglob("*"))
        at = _open_typed(at, folder)
        assert not at.exception
        why = " ".join(e.value for e in at.sidebar.error)
        assert str(folder) in why and "not a usable project" in why and "train.csv" in why
        assert at.session_state[state.PROJECT] == str(first)
        assert sorted(folder.rglob("*")) == before  # no .workbench/, nothing else
    at = _open_typed(at, tmp_path / "nope")
    assert any("folder not found" in e.value for e in at.sidebar.error)
    at = _open_typed(at, second)
    assert at.session_state[state.PROJECT] == str(second)
    assert not at.sidebar.error
    assert at.query_params[state.PROJECT_PARAM] == str(second)
    assert _train_images(at) == f"{len(pd.read_csv(second / 'train.csv')):,}"


def test_open_button_works_when_the_folder_box_did_not_change(projects, monkeypatch, tmp_path):
    first, second = projects
    at = _app(monkeypatch, tmp_path, env=second)
    at = _open_typed(at, first)
    at = _open_typed(at, second)  # both are recent folders now
    assert at.session_state[state.PROJECT] == str(second)
    at.sidebar.selectbox(key=state.RECENT_PICK).set_value(str(first)).run()
    assert at.session_state[state.PROJECT] == str(first)
    at.sidebar.button[0].click().run()  # the box still says `second`: Open opens it again
    assert at.session_state[state.PROJECT] == str(second)


def test_train_page_on_an_unusable_project_says_why_and_offers_no_start(monkeypatch, tmp_path):
    folder = _etc_like(tmp_path)
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "home"))
    at = AppTest.from_file(str(APP), default_timeout=90)
    at.session_state[state.PROJECT] = str(folder)
    at.run()
    at.switch_page("../pages/train.py").run()
    assert not at.exception
    assert any("train.csv" in e.value for e in at.error)
    assert not [b for b in at.button if "Start" in str(b.label)]
    assert not (folder / ".workbench").exists()


PAGES = ["browse", "errors", "embeddings", "issues", "recipes", "train", "runs", "compare", "submissions"]


def test_viewing_a_folder_that_is_not_a_project_writes_nothing_into_it(monkeypatch, tmp_path):
    folder = _etc_like(tmp_path)
    before = sorted(folder.rglob("*"))
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "home"))
    at = AppTest.from_file(str(APP), default_timeout=90)
    at.session_state[state.PROJECT] = str(folder)  # e.g. a project whose files were removed while it was open
    at.run()
    for page in PAGES:  # after the Overview, every other page
        at.switch_page(f"../pages/{page}.py").run()
        assert not at.exception, page
        assert sorted(folder.rglob("*")) == before, page
