"""core.home: per-user settings (recent projects, the demo's location)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import core.project.demo
from core import home as settings

# --- settings ----------------------------------------------------------------------------------


def test_home_comes_from_workbench_home(workbench_home):
    assert settings.workbench_home() == workbench_home
    assert settings.demo_project_dir() == workbench_home / "demo"


def test_home_falls_back_to_xdg_data_home(tmp_path, monkeypatch):
    monkeypatch.delenv("WORKBENCH_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert settings.workbench_home() == tmp_path / "xdg" / "workbench"


def test_recent_projects_newest_first_and_deduplicated(tmp_path):
    a, b, c = (tmp_path / name for name in ("a", "b", "c"))
    for folder in (a, b, c):
        folder.mkdir()
    assert settings.recent_projects() == []
    settings.remember_project(a)
    settings.remember_project(b)
    settings.remember_project(c)
    assert settings.remember_project(a) == [str(a), str(c), str(b)]
    assert settings.recent_projects() == [str(a), str(c), str(b)]


def test_recent_projects_are_stored_resolved(tmp_path, monkeypatch):
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(tmp_path)
    settings.remember_project("project")
    settings.remember_project(tmp_path / "project" / ".." / "project")
    assert settings.recent_projects() == [str(project.resolve())]


def test_vanished_folders_are_dropped(tmp_path):
    keep, gone = tmp_path / "keep", tmp_path / "gone"
    keep.mkdir()
    gone.mkdir()
    settings.remember_project(keep)
    settings.remember_project(gone)
    shutil.rmtree(gone)
    assert settings.recent_projects() == [str(keep)]
    assert settings.remember_project(keep) == [str(keep)]


def test_the_list_keeps_the_newest_ten(tmp_path):
    folders = [tmp_path / f"p{n:02d}" for n in range(12)]
    for folder in folders:
        folder.mkdir()
        settings.remember_project(folder)
    assert settings.recent_projects() == [str(f) for f in reversed(folders)][: settings.MAX_RECENT]


def test_a_damaged_recent_file_is_ignored_and_replaced(tmp_path, workbench_home):
    (workbench_home / "recent.json").write_text("{not json")
    assert settings.recent_projects() == []
    (workbench_home / "recent.json").write_text(json.dumps({"a": 1}))
    assert settings.recent_projects() == []
    project = tmp_path / "p"
    project.mkdir()
    assert settings.remember_project(project) == [str(project)]
    assert json.loads((workbench_home / "recent.json").read_text()) == [str(project)]
    assert [p.name for p in workbench_home.iterdir()] == ["recent.json"]  # no temp file left behind


def _fake_build_demo(calls: list[Path]):
    def build(out, **kwargs):
        out = Path(out)
        calls.append(out)
        (out / "train").mkdir(parents=True)
        (out / "train.csv").write_text("ID,target\n")

    return build


def test_the_demo_is_built_once_in_the_home(monkeypatch, workbench_home):
    calls: list[Path] = []
    monkeypatch.setattr(core.project.demo, "build_demo", _fake_build_demo(calls))
    root = settings.ensure_demo_project()
    assert root == workbench_home / "demo"
    assert (root / "train.csv").is_file()
    assert settings.ensure_demo_project() == root
    assert len(calls) == 1
    assert not (workbench_home / "demo.building").exists()


def test_a_half_built_demo_is_started_over(monkeypatch, workbench_home):
    calls: list[Path] = []
    monkeypatch.setattr(core.project.demo, "build_demo", _fake_build_demo(calls))
    (workbench_home / "demo" / "train").mkdir(parents=True)  # interrupted: images but no train.csv
    (workbench_home / "demo" / "train" / "x.jpg").write_bytes(b"partial")
    (workbench_home / "demo.building").mkdir()  # and a stale staging folder
    root = settings.ensure_demo_project()
    assert (root / "train.csv").is_file()
    assert not (root / "train" / "x.jpg").exists()
    assert len(calls) == 1
