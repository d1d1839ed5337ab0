"""`workbench backup` and `workbench restore`: the commands, their progress, their errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from core.labels.decisions import current_decisions, record_decision
from core.project.layout import open_layout
from core.runs.catalog import list_runs
from tests.support.builders import probs_run


def _work(layout) -> None:
    probs_run(layout, "20260101-000000-scan-aaaa", [0, 1], np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1]]))
    record_decision(layout.db_path, "cat_0.png", "relabel", old_label=0, new_label=2)


def test_backup_then_restore_with_images_through_the_command(layout, tmp_path, run_cli):
    _work(layout)
    code, out, err = run_cli(["backup", "--project", str(layout.root), "--to", str(tmp_path / "bk"), "--with-images"])
    assert code == 0, err
    assert out.strip().splitlines()[-1] == str(tmp_path / "bk" / "project")
    assert "backing up: " in err and " files" in err  # the progress line
    assert "copied" in err and "0 unchanged" in err
    code, _, err = run_cli(["backup", "--project", str(layout.root), "--to", str(tmp_path / "bk")])
    assert code == 0 and " 0 copied" in err, err
    target = tmp_path / "restored"
    code, out, err = run_cli(["restore", "--project", str(target), "--from", str(tmp_path / "bk")])
    assert code == 0, err
    assert out.strip().splitlines()[-1] == str(target)
    assert "restoring: " in err and "verified" in err
    restored = open_layout(target)
    assert [r.run_id for r in list_runs(restored)] == ["20260101-000000-scan-aaaa"]
    assert current_decisions(restored.db_path)["ID"].tolist() == ["cat_0.png"]


def test_restore_names_a_corrupted_file_exits_1_and_writes_nothing(layout, tmp_path, run_cli):
    _work(layout)
    code, out, _ = run_cli(["backup", "--project", str(layout.root), "--to", str(tmp_path / "bk")])
    folder = Path(out.strip().splitlines()[-1])
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    entry = next(e for e in manifest["files"] if e["path"] == "train.csv")
    obj = folder / "objects" / entry["sha256"][:2] / entry["sha256"]
    obj.write_bytes(obj.read_bytes().replace(b"cat_0", b"cat_9"))
    target = tmp_path / "restored"
    code, _, err = run_cli(["restore", "--project", str(target), "--from", str(folder)])
    assert code == 1
    assert "train.csv: corrupted (checksum differs)" in err and "nothing was written" in err
    assert not target.exists()


def test_backup_without_a_folder_says_how_to_set_one(layout, run_cli):
    code, _, err = run_cli(["backup", "--project", str(layout.root)])
    assert code == 1 and "[backup]" in err and 'to = "' in err


def test_backup_reads_its_folder_from_workbench_toml(layout, tmp_path, run_cli):
    (layout.root / "workbench.toml").write_text(f'[backup]\nto = "{tmp_path / "shared"}"\n', encoding="utf-8")
    code, out, err = run_cli(["backup", "--project", str(layout.root)])
    assert code == 0, err
    assert out.strip().splitlines()[-1] == str(tmp_path / "shared" / "project")
    assert (tmp_path / "shared" / "project" / "manifest.json").is_file()
