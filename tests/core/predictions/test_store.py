"""predictions/: checked before written, safe names, listing with errors."""

from __future__ import annotations

import pytest

from core.predictions.members import PredictionError
from core.predictions.store import add_prediction, list_predictions, predictions_dir, safe_name
from core.project.layout import open_layout

IDS = ["a.png", "b.png", "c.png"]


@pytest.fixture
def bare_layout(tmp_path):
    root = tmp_path / "project"
    root.mkdir()
    return open_layout(root)


def test_names_stay_inside_the_folder():
    assert safe_name("teammate run (3).CSV") == "teammate_run_3"
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("x" * 100 + ".csv") == "x" * 60
    for bad in ("..", ".csv", "  ", "///"):
        with pytest.raises(PredictionError, match="not a usable name"):
            safe_name(bad)


def test_a_file_is_written_only_when_it_passes_and_never_replaced_unasked(bare_layout):
    layout = bare_layout
    with pytest.raises(PredictionError, match="1 test ID missing"):
        add_prediction(layout, "bad.csv", b"ID,target\na.png,0\nb.png,1\n", test_ids=IDS, num_classes=2)
    assert not predictions_dir(layout).exists()  # nothing written
    member, path = add_prediction(layout, "mate.csv", b"ID,target\nc.png,1\na.png,0\nb.png,1\n", test_ids=IDS,
                                  num_classes=2)  # fmt: skip
    assert path == predictions_dir(layout) / "mate.csv" and member.labels.tolist() == [0, 1, 1]
    assert path.read_text().splitlines() == ["ID,target", "a.png,0", "b.png,1", "c.png,1"]
    with pytest.raises(PredictionError, match="already exists"):
        add_prediction(layout, "mate", b"ID,target\na.png,1\nb.png,1\nc.png,1\n", test_ids=IDS, num_classes=2)
    add_prediction(layout, "mate", b"ID,target\na.png,1\nb.png,1\nc.png,1\n", test_ids=IDS, num_classes=2, replace=True)
    assert path.read_text().splitlines()[1] == "a.png,1"


def test_listing_marks_a_bad_file_and_keeps_the_others(bare_layout):
    layout = bare_layout
    add_prediction(layout, "good", b"ID,target\na.png,0\nb.png,1\nc.png,1\n", test_ids=IDS, num_classes=2)
    folder = predictions_dir(layout)
    (folder / "broken.csv").write_bytes(b"\x00\x01\x02")
    (folder / "dir.csv").mkdir()
    (folder / "notes.txt").write_text("not a csv")
    found = {p.name: p for p in list_predictions(layout, test_ids=IDS, num_classes=2)}
    assert set(found) == {"good", "broken", "dir"}
    assert found["good"].member is not None and found["good"].error == ""
    assert "binary" in found["broken"].error and "not a regular file" in found["dir"].error
