"""Images marked ambiguous (plausible in two classes): stored, undone, counted, and exported kept or left out."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from core.labels.decisions import (
    DecisionRequest,
    current_decisions,
    decision_counts,
    latest_decision,
    record_decision,
    record_decisions,
    undo_decision,
)
from core.labels.review import review_queue
from core.labels.versions import export_version, resolve_labels, versions_table
from core.project.dataset import load_dataset
from core.project.layout import open_layout


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / ".workbench" / "workbench.db"


@pytest.fixture
def project(tmp_path, make_project):
    return open_layout(make_project(tmp_path, per_class=4))  # cat_0..3 = 0, dog_0..3 = 1, bird_0..3 = 2


def test_an_ambiguous_decision_keeps_the_label_and_is_counted(db_path):
    decision = record_decision(db_path, "shirt_7.png", "ambiguous", old_label=3, run_id="r1")
    assert (decision.action, decision.old_label, decision.new_label) == ("ambiguous", 3, 3)
    assert decision.source == "manual" and decision.describe() == "ambiguous (label 3 kept)"
    record_decision(db_path, "a.png", "keep", old_label=1)
    record_decision(db_path, "b.png", "ambiguous", old_label=0)
    assert decision_counts(db_path) == {"keep": 1, "relabel": 0, "drop": 0, "ambiguous": 2}
    current = current_decisions(db_path).set_index("ID")
    assert current.loc["shirt_7.png", "action"] == "ambiguous" and current.loc["shirt_7.png", "new_label"] == 3


def test_an_ambiguous_decision_needs_the_label_it_keeps(db_path):
    with pytest.raises(ValueError, match="ambiguous of a.png needs old_label"):
        record_decision(db_path, "a.png", "ambiguous", old_label=None)


def test_undo_of_ambiguous_falls_back_to_the_previous_decision(db_path):
    relabel = record_decision(db_path, "a.png", "relabel", old_label=1, new_label=2)
    ambiguous = record_decision(db_path, "a.png", "ambiguous", old_label=2, expected_latest=relabel.id)
    assert latest_decision(db_path, "a.png").action == "ambiguous"
    reverted = undo_decision(db_path, ambiguous.id)
    assert reverted.reverted_at is not None and reverted.action == "ambiguous"
    assert latest_decision(db_path, "a.png") == relabel
    assert decision_counts(db_path)["ambiguous"] == 0


def test_an_image_marked_ambiguous_leaves_the_review_queue(db_path):
    queue = pd.DataFrame(
        {"ID": ["a.png", "b.png"], "given_label": [0, 1], "suggested_label": [1, 0], "is_label_issue": [True, True]}
    )
    record_decision(db_path, "a.png", "ambiguous", old_label=0)
    remaining = review_queue(queue, set(current_decisions(db_path)["ID"]))
    assert list(remaining["ID"]) == ["b.png"]


def test_bulk_ambiguous_never_overwrites_a_decided_image(db_path):
    decided = record_decision(db_path, "a.png", "drop", old_label=0)
    stored, conflicts = record_decisions(
        db_path,
        [
            DecisionRequest("a.png", "ambiguous", 0, expected_latest=None),
            DecisionRequest("b.png", "ambiguous", 1, expected_latest=None),
        ],
    )
    assert [d.image_id for d in stored] == ["b.png"] and stored[0].source == "bulk"
    assert [c.image_id for c in conflicts] == ["a.png"]
    assert latest_decision(db_path, "a.png") == decided


def _version_row(layout, version: int) -> tuple:
    with sqlite3.connect(layout.db_path) as connection:
        return connection.execute(
            "SELECT rows, relabeled, dropped, ambiguous, ambiguous_left_out FROM label_versions WHERE version = ?",
            (version,),
        ).fetchone()


def _decide(project) -> None:
    record_decision(project.db_path, "cat_0.png", "relabel", old_label=0, new_label=2, source="cleanlab")
    record_decision(project.db_path, "dog_1.png", "drop", old_label=1)
    record_decision(project.db_path, "dog_2.png", "ambiguous", old_label=1)
    record_decision(project.db_path, "bird_3.png", "ambiguous", old_label=2)


def test_export_keeps_ambiguous_images_with_their_label_by_default(project):
    _decide(project)
    result = export_version(project)
    assert (result.rows, result.relabeled, result.dropped, result.ambiguous, result.ambiguous_left_out) == (
        11,
        1,
        1,
        2,
        0,
    )
    clean = pd.read_csv(result.path, dtype=str).set_index("ID")
    assert clean.loc["dog_2.png", "target"] == "1" and clean.loc["bird_3.png", "target"] == "2"
    changes = pd.read_csv(result.changes_path, dtype=str, keep_default_na=False)
    assert list(changes["ID"]) == ["cat_0.png", "dog_1.png"]  # kept ambiguous images are not a change
    assert _version_row(project, 1) == (11, 1, 1, 2, 0)
    table = versions_table(project).set_index("version")
    assert table.loc[1, ["rows", "relabeled", "dropped", "ambiguous_left_out"]].tolist() == [11, 1, 1, 0]


def test_export_can_leave_ambiguous_images_out_of_training(project):
    _decide(project)
    export_version(project)
    result = export_version(project, leave_out_ambiguous=True)
    assert result.version == 2
    assert (result.rows, result.relabeled, result.dropped, result.ambiguous, result.ambiguous_left_out) == (
        9,
        1,
        1,
        2,
        2,
    )
    clean = pd.read_csv(result.path, dtype=str)
    assert not {"dog_1.png", "dog_2.png", "bird_3.png"} & set(clean["ID"]) and len(clean) == 9
    changes = pd.read_csv(result.changes_path, dtype=str, keep_default_na=False)
    assert changes.to_dict("records") == [
        {"ID": "cat_0.png", "old": "0", "new": "2", "action": "relabel", "source": "cleanlab"},
        {"ID": "dog_1.png", "old": "1", "new": "", "action": "drop", "source": "manual"},
        {"ID": "dog_2.png", "old": "1", "new": "", "action": "ambiguous", "source": "manual"},
        {"ID": "bird_3.png", "old": "2", "new": "", "action": "ambiguous", "source": "manual"},
    ]
    assert _version_row(project, 2) == (9, 1, 1, 2, 2)
    table = versions_table(project).set_index("version")
    # dropped counts drop decisions only; the two ambiguous images are counted on their own.
    assert table.loc[2, ["rows", "relabeled", "dropped", "ambiguous_left_out"]].tolist() == [9, 1, 1, 2]
    assert table.loc[2, ["changed_vs_previous", "dropped_vs_previous"]].tolist() == [0, 2]
    # A run on "latest" trains without them.
    rows, name = resolve_labels(load_dataset(project.root), "latest")
    assert name == "v2" and len(rows) == 9 and "dog_2.png" not in set(rows["ID"])


def test_cli_marks_ambiguous_and_exports_with_or_without_them(project, run_cli):
    root = str(project.root)
    code, out, _ = run_cli(["relabel", "--project", root, "--ambiguous", "dog_2.png"])
    assert code == 0 and "dog_2.png: ambiguous (label 1 kept)" in out
    code, out, err = run_cli(["export", "--project", root])
    assert code == 0 and "1 ambiguous kept with their label" in err
    assert "dog_2.png" in set(pd.read_csv(out.strip().splitlines()[-1], dtype=str)["ID"])
    code, out, err = run_cli(["export", "--project", root, "--leave-out-ambiguous"])
    assert code == 0 and "1 ambiguous left out" in err
    path = Path(out.strip().splitlines()[-1])
    assert path.name == "train_v2.csv" and "dog_2.png" not in set(pd.read_csv(path, dtype=str)["ID"])
