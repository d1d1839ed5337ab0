"""core.io.atomic on a full disk: the target keeps its old content, no temp file stays, new files follow the umask."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
from pathlib import Path

import numpy as np
import pytest

from core.io import atomic
from core.io.atomic import SaveError, atomic_write, write_text_atomic
from core.labels.decisions import record_decision
from core.labels.versions import export_version
from core.project.layout import open_layout
from core.runs.folder import write_oof


def _full(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _only_target(folder: Path, name: str) -> None:
    assert [p.name for p in folder.iterdir()] == [name]  # no .<name>.*.tmp left behind


def test_no_space_while_writing_keeps_the_old_file_and_removes_the_temp_file(tmp_path):
    path = write_text_atomic(tmp_path / "train_v1.csv", "ID,target\na.png,0\n")
    with pytest.raises(OSError) as caught:
        with atomic_write(path, "w") as handle:
            handle.write("ID,target\n")
            _full()
    assert caught.value.errno == errno.ENOSPC
    assert path.read_text() == "ID,target\na.png,0\n"
    _only_target(tmp_path, "train_v1.csv")


@pytest.mark.parametrize("step", ["fsync", "replace"])
def test_no_space_at_fsync_or_rename_keeps_the_old_file(tmp_path, monkeypatch, step):
    path = write_text_atomic(tmp_path / "status.json", "old")
    monkeypatch.setattr(atomic.os, step, _full)
    with pytest.raises(OSError) as caught:
        write_text_atomic(path, "new")
    assert caught.value.errno == errno.ENOSPC
    assert path.read_text() == "old"
    _only_target(tmp_path, "status.json")


def test_save_error_names_the_file_and_says_the_disk_is_full(tmp_path):
    error = SaveError(tmp_path / "labels" / "train_v3.csv", OSError(errno.ENOSPC, "No space left on device"))
    assert str(error) == f"could not save {tmp_path / 'labels' / 'train_v3.csv'}: no space left on device"
    assert error.errno == errno.ENOSPC and isinstance(error, OSError)
    hostile = SaveError(tmp_path / "a\x1b[2Jb.csv", RuntimeError("boom\nsecond line"))
    assert "\x1b" not in str(hostile) and "\n" not in str(hostile) and "\\x1b" in str(hostile)


@pytest.fixture
def small_disk(tmp_path):
    """A 64 KiB tmpfs mounted under tmp_path (needs root and a kernel that lets this container mount)."""
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_really_full_disk_keeps_the_old_file_and_leaves_no_temp_file(small_disk):
    path = write_text_atomic(small_disk / "oof.csv", "ID,fold\n")
    with pytest.raises(OSError) as caught:
        write_text_atomic(path, "x" * 200_000)
    assert caught.value.errno == errno.ENOSPC
    assert path.read_text() == "ID,fold\n"
    _only_target(small_disk, "oof.csv")


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o002, 0o664)])
def test_an_export_and_a_run_csv_are_as_readable_as_the_umask_says(tmp_path, make_project, mask, mode):
    layout = open_layout(make_project(tmp_path))
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    old = os.umask(mask)
    try:
        record_decision(layout.db_path, "cat_0.png", "drop", old_label=0)
        result = export_version(layout)
        oof = write_oof(run_dir, ["a.png"], np.array([0]), np.array([1]), np.array([[0.2, 0.8]]))
    finally:
        os.umask(old)
    for path in (result.path, result.changes_path, oof):
        assert stat.S_IMODE(path.stat().st_mode) == mode, path
