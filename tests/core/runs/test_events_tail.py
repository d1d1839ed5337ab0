"""read_events_from: a page following a job reads only what was appended, whole lines only."""

from __future__ import annotations

import json

from core.runs.folder import EVENTS, read_events, read_events_from


def _append(run_dir, *records, partial: str = "") -> None:
    with open(run_dir / EVENTS, "a", encoding="utf-8") as handle:
        handle.write("".join(json.dumps(r) + "\n" for r in records) + partial)


def test_only_appended_whole_lines_are_read_and_the_offset_follows(tmp_path):
    _append(tmp_path, {"type": "progress", "progress": 0.1}, {"type": "epoch", "fold": 0, "epoch": 0})
    events, offset = read_events_from(tmp_path, 0, kinds=("epoch",))
    assert events == [{"type": "epoch", "fold": 0, "epoch": 0}]
    assert offset == (tmp_path / EVENTS).stat().st_size

    _append(tmp_path, {"type": "epoch", "fold": 0, "epoch": 1}, partial='{"type": "epoch", "fo')
    events, offset2 = read_events_from(tmp_path, offset, kinds=("epoch",))
    assert events == [{"type": "epoch", "fold": 0, "epoch": 1}]  # the half-written line waits
    assert offset2 < (tmp_path / EVENTS).stat().st_size

    _append(tmp_path, partial='ld": 1, "epoch": 0}\nnot json\n[1, 2]\n')
    events, _ = read_events_from(tmp_path, offset2, kinds=("epoch",))
    assert events == [{"type": "epoch", "fold": 1, "epoch": 0}]  # garbage lines are skipped
    assert [e["type"] for e in read_events(tmp_path)] == ["progress", "epoch", "epoch", "epoch"]


def test_a_missing_file_reads_as_nothing_new(tmp_path):
    assert read_events_from(tmp_path, 42) == ([], 42)
