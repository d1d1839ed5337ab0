"""Checking a folder that is not a project writes nothing into it: no `.workbench/`, the findings say why."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.project.dataset import load_dataset

REPO = Path(__file__).resolve().parents[3]


def _etc_like(tmp_path: Path) -> Path:
    """A folder of unrelated files, like /etc."""
    root = tmp_path / "etc"
    (root / "ssh").mkdir(parents=True)
    (root / "hosts").write_text("127.0.0.1 localhost\n")
    (root / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (root / "ssh" / "sshd_config").write_text("PermitRootLogin no\n")
    return root


def _source_tree(tmp_path: Path) -> Path:
    """A copy of a source repository (this one's core/project and README)."""
    root = tmp_path / "repo"
    shutil.copytree(REPO / "core" / "project", root / "core" / "project", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "README.md", root / "README.md")
    return root


def _all_files(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob("*")}


def test_a_folder_of_unrelated_files_is_not_usable_and_gets_nothing_written(tmp_path, run_cli):
    for root in (_etc_like(tmp_path), _source_tree(tmp_path)):
        before = _all_files(root)
        data = load_dataset(root)
        assert not data.report.usable
        assert any("train.csv" in f.message for f in data.report.errors)
        code, out, _err = run_cli(["check", "--project", str(root)])
        assert code == 1 and "NOT usable" in out
        assert not (root / ".workbench").exists()
        assert _all_files(root) == before


def test_a_usable_project_gets_its_work_folder(tmp_path, make_project):
    root = make_project(tmp_path)
    assert load_dataset(root).report.usable
    assert (root / ".workbench" / "workbench.db").is_file()


def test_no_writer_creates_the_work_folder_in_a_folder_that_is_not_a_project(tmp_path, run_cli):
    from core.config import resolve_config
    from core.project.layout import ProjectError, open_layout
    from core.runs.folder import create_run

    root = _etc_like(tmp_path)
    layout = open_layout(root)
    with pytest.raises(ProjectError, match="not a project"):
        layout.ensure_work_dir()
    with pytest.raises(ProjectError):
        create_run(layout, resolve_config(kind="scan"))
    code, _out, err = run_cli(["scan", "--project", str(root)])
    assert code == 1 and "not a project" in err and "Traceback" not in err
    assert not (root / ".workbench").exists()
