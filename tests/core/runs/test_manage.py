"""core.runs.manage (trash, restore, rename, pin) and core.runs.catalog's "nothing new" retrain."""

from __future__ import annotations

import pandas as pd
import pytest

from core.labels.decisions import record_decision
from core.labels.versions import export_version
from core.runs.catalog import NothingNewError, list_runs, newer_versions, retrain_run_config, trained_labels
from core.runs.folder import RunWriter
from core.runs.manage import (
    RunManageError,
    display_name,
    pin_run,
    pinned_run,
    rename_run,
    restore_run,
    trash_run,
    trashed_runs,
)
from tests.support.builders import noisy_problem, probs_run

RUN = "20260101-000001-scan-aaaa"


def _run(layout, run_id=RUN, labels="original"):
    _, given, probs, _ = noisy_problem(n=30, k=3, seed=0)
    probs_run(layout, run_id, given, probs, labels=labels)
    return next(r for r in list_runs(layout) if r.run_id == run_id)


def _export(layout, number: int) -> None:
    """Export version `number` the way the Issues page does: one more image dropped, then export."""
    train = pd.read_csv(layout.train_csv)
    record_decision(layout.db_path, train.ID.iloc[number], "drop", old_label=int(train.target.iloc[number]))
    assert export_version(layout).version == number


def test_a_deleted_run_goes_to_the_trash_and_comes_back_whole(layout):
    run = _run(layout)
    files = sorted(p.name for p in run.run_dir.iterdir())
    moved = trash_run(layout, RUN)
    assert moved == layout.work_dir / "trash" / RUN and not run.run_dir.exists()
    assert list_runs(layout) == [] and trashed_runs(layout) == [RUN]
    restored = restore_run(layout, RUN)
    assert restored == run.run_dir and sorted(p.name for p in restored.iterdir()) == files
    assert [r.run_id for r in list_runs(layout)] == [RUN] and trashed_runs(layout) == []


def test_a_running_run_is_not_deleted_and_bad_ids_are_refused(layout):
    run = _run(layout)
    RunWriter(run.run_dir).status(state="running", pid=None)
    with pytest.raises(RunManageError, match="cancel it"):
        trash_run(layout, RUN)
    assert run.run_dir.is_dir()
    for bad in ("../runs", "", "no-such-run"):
        with pytest.raises(RunManageError):
            trash_run(layout, bad)
    with pytest.raises(RunManageError, match="no run"):
        restore_run(layout, RUN)


def test_deleting_the_pinned_run_unpins_it(layout):
    _run(layout)
    _run(layout, "20260101-000002-scan-bbbb")
    pin_run(layout, RUN)
    assert pinned_run(layout) == RUN
    trash_run(layout, "20260101-000002-scan-bbbb")
    assert pinned_run(layout) == RUN  # another run's deletion leaves the pin
    trash_run(layout, RUN)
    assert pinned_run(layout) is None
    pin_run(layout, "20260101-000002-scan-bbbb")
    pin_run(layout, None)
    assert pinned_run(layout) is None


def test_a_display_name_lives_in_the_run_folder_and_never_in_its_config(layout):
    run = _run(layout)
    config_before = (run.run_dir / "config.yaml").read_text()
    assert rename_run(run.run_dir, "  baseline   224 px ") == "baseline 224 px"
    assert display_name(run.run_dir) == "baseline 224 px"
    assert (run.run_dir / "config.yaml").read_text() == config_before
    with pytest.raises(RunManageError, match="one line"):
        rename_run(run.run_dir, "two\nlines")
    with pytest.raises(RunManageError, match="at most"):
        rename_run(run.run_dir, "x" * 200)
    assert display_name(run.run_dir) == "baseline 224 px"
    rename_run(run.run_dir, "")
    assert display_name(run.run_dir) == run.config().name  # back to the config's own name


def test_retrain_with_nothing_new_starts_nothing(layout):
    original = _run(layout)
    with pytest.raises(NothingNewError, match=f"nothing new: {RUN} already trained on original; export cleaned"):
        retrain_run_config(original, layout.labels_dir)
    _export(layout, 1)
    assert retrain_run_config(original, layout.labels_dir).data.labels == "v1"
    on_v1 = _run(layout, "20260101-000002-scan-bbbb", labels="v1")
    assert trained_labels(on_v1) == "v1"
    with pytest.raises(NothingNewError, match="already trained on v1"):
        retrain_run_config(on_v1, layout.labels_dir)
    _export(layout, 2)
    assert retrain_run_config(on_v1, layout.labels_dir).data.labels == "v2"


def test_only_versions_newer_than_the_run_labels_are_offered(layout):
    for n in (1, 2, 3):
        _export(layout, n)
    assert newer_versions("original", layout.labels_dir) == [1, 2, 3]
    assert newer_versions("v2", layout.labels_dir) == [3]
    assert newer_versions("v3", layout.labels_dir) == []
    assert newer_versions("augmented:heavy", layout.labels_dir) == [1, 2, 3]
