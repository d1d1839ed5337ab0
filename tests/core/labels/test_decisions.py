"""The decision store (history, undo, conflicts, idempotency, concurrency, SIGKILL) and the clean-CSV export."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

from core.labels.decisions import (
    DecisionConflict,
    DecisionRequest,
    current_decisions,
    decision_counts,
    decision_history,
    latest_decision,
    record_decision,
    record_decisions,
    undo_decision,
)
from core.labels.versions import export_version, resolve_labels, versions_table
from core.project.dataset import load_dataset
from core.project.layout import open_layout

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / ".workbench" / "workbench.db"


def test_history_is_kept_and_the_latest_decision_is_current(db_path):
    first = record_decision(db_path, "a.png", "relabel", old_label=1, new_label=2, source="cleanlab", run_id="r1")
    record_decision(db_path, "b.png", "drop", old_label=0)
    second = record_decision(db_path, "a.png", "keep", old_label=2)
    current = current_decisions(db_path).set_index("ID")
    assert current.loc["a.png", "action"] == "keep" and current.loc["a.png", "new_label"] == 2
    assert current.loc["b.png", "action"] == "drop" and pd.isna(current.loc["b.png", "new_label"])
    history = decision_history(db_path, image_id="a.png")
    assert list(history["id"]) == [second.id, first.id]
    assert history.iloc[1][["action", "source", "run_id"]].tolist() == ["relabel", "cleanlab", "r1"]
    assert first.created_at.endswith("Z") and "T" in first.created_at
    assert decision_counts(db_path) == {"keep": 1, "relabel": 0, "drop": 1, "ambiguous": 0}


def test_undo_falls_back_to_the_previous_decision_and_keeps_the_row(db_path):
    record_decision(db_path, "a.png", "relabel", old_label=1, new_label=2)
    later = record_decision(db_path, "a.png", "relabel", old_label=2, new_label=3)
    assert undo_decision(db_path, later.id).reverted_at
    assert undo_decision(db_path, later.id) is None  # already undone
    assert latest_decision(db_path, "a.png").new_label == 2
    assert len(decision_history(db_path)) == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(image_id="a", action="rename", old_label=1), "action must be one of"),
        (dict(image_id="a", action="relabel", old_label=1), "needs new_label"),
        (dict(image_id="a", action="keep", old_label=1, source="robot"), "source must be one of"),
        (dict(image_id="", action="keep", old_label=1), "image_id must be a non-empty string"),
        (dict(image_id="a", action="relabel", old_label=1, new_label=-2), "class index"),
        (dict(image_id="a", action="relabel", old_label=1, new_label=1.5), "class index"),
        (dict(image_id="a", action="relabel", old_label=1, new_label="cat"), "class index"),
    ],
)
def test_bad_decisions_are_refused_with_the_reason(db_path, kwargs, message):
    image_id = kwargs.pop("image_id")
    action = kwargs.pop("action")
    with pytest.raises(ValueError, match=message):
        record_decision(db_path, image_id, action, **kwargs)
    assert decision_history(db_path).empty


def test_a_second_tab_cannot_stack_a_decision_on_one_it_did_not_see(db_path):
    mine = record_decision(db_path, "a.png", "relabel", old_label=1, new_label=2, expected_latest=None)
    with pytest.raises(DecisionConflict, match="decided meanwhile: relabel 1 -> 2") as raised:
        record_decision(db_path, "a.png", "drop", old_label=1, expected_latest=None)
    assert raised.value.current == mine
    # Having seen it, the other tab may change it.
    record_decision(db_path, "a.png", "drop", old_label=2, expected_latest=mine.id)
    assert latest_decision(db_path, "a.png").action == "drop"


def test_the_same_request_twice_stores_one_decision(db_path):
    one = record_decision(db_path, "a.png", "keep", old_label=1, request_id="tab1:xyz")
    two = record_decision(db_path, "a.png", "keep", old_label=1, request_id="tab1:xyz", expected_latest=None)
    assert one == two
    assert len(decision_history(db_path)) == 1


def test_bulk_is_all_or_nothing_and_reports_conflicts(db_path):
    record_decision(db_path, "b.png", "keep", old_label=0)
    requests = [
        DecisionRequest("a.png", "relabel", 1, 2, expected_latest=None),
        DecisionRequest("b.png", "relabel", 0, 1, expected_latest=None),  # decided meanwhile
        DecisionRequest("c.png", "drop", 3, expected_latest=None),
    ]
    stored, conflicts = record_decisions(db_path, requests, source="bulk")
    assert [d.image_id for d in stored] == ["a.png", "c.png"] and {d.source for d in stored} == {"bulk"}
    assert [c.image_id for c in conflicts] == ["b.png"]
    with pytest.raises(ValueError, match="needs new_label"):
        record_decisions(db_path, [DecisionRequest("d.png", "drop", 1), DecisionRequest("e.png", "relabel", 1)])
    assert "d.png" not in set(current_decisions(db_path)["ID"])


def _tab(args: tuple[str, int, list[str]]) -> list[tuple[str, int]]:
    """One 'browser tab' in its own process: decide every image it still sees as undecided."""
    db_path, tab, images = args
    won = []
    for image_id in images:
        try:
            decision = record_decision(
                db_path, image_id, "relabel", old_label=0, new_label=tab, expected_latest=None, source="cleanlab"
            )
        except DecisionConflict:
            continue
        won.append((image_id, decision.id))
    return won


def test_two_tabs_in_two_processes_lose_and_duplicate_nothing(db_path):
    images = [f"img_{i:03d}.png" for i in range(120)]
    record_decision(db_path, "warm.png", "keep", old_label=0)  # create and migrate once
    with ProcessPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(_tab, [(str(db_path), tab, images) for tab in (1, 2, 3)]))
    current = current_decisions(db_path).set_index("ID")
    history = decision_history(db_path)
    won = [pair for result in results for pair in result]
    assert sorted(i for i, _ in won) == images  # every image decided exactly once, by some tab
    assert len(history) == len(images) + 1  # no stacked duplicates
    for image_id, decision_id in won:  # every decision a tab was told was saved is the one in force
        assert current.loc[image_id, "decision_id"] == decision_id


def test_concurrent_writers_without_checks_lose_nothing(db_path):
    record_decision(db_path, "warm.png", "keep", old_label=0)
    saved: list[int] = []
    lock = threading.Lock()

    def writer(n: int) -> None:
        for i in range(40):
            d = record_decision(db_path, f"t{n}_{i}.png", "drop", old_label=1)
            with lock:
                saved.append(d.id)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(saved) == len(set(saved)) == 160
    assert set(decision_history(db_path)["id"]) >= set(saved)


def test_sigkill_in_the_middle_of_a_review_loses_no_saved_decision(tmp_path):
    """A real process records decisions and reports each once `record_decision` returned (what the page
    shows as saved); it is killed with SIGKILL mid-stream; every reported decision must be on disk."""
    db_path = tmp_path / ".workbench" / "workbench.db"
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(REPO)!r})
        from core.labels.decisions import record_decision
        i = 0
        while True:
            d = record_decision({str(db_path)!r}, f"img_{{i}}.png", "relabel", old_label=0, new_label=i % 7,
                                source="cleanlab", expected_latest=None)
            print(f"saved {{d.id}} {{d.image_id}}", flush=True)
            i += 1
        """
    )
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    shown: list[tuple[int, str]] = []
    try:
        deadline = time.monotonic() + 60
        while len(shown) < 60 and time.monotonic() < deadline:
            line = process.stdout.readline()
            if line.startswith("saved "):
                _, number, image_id = line.split()
                shown.append((int(number), image_id))
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        # Anything still in the pipe was also printed after a commit: it counts as shown.
        for line in process.stdout.read().splitlines():
            if line.startswith("saved "):
                _, number, image_id = line.split()
                shown.append((int(number), image_id))
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL
    assert len(shown) >= 60
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    current = current_decisions(db_path).set_index("ID")
    for decision_id, image_id in shown:
        assert current.loc[image_id, "decision_id"] == decision_id
    assert len(current) in (len(shown), len(shown) + 1)  # at most one committed but not yet printed


# --------------------------------------------------------------------------------------- export


@pytest.fixture
def project(tmp_path, make_project):
    root = make_project(tmp_path, per_class=4)
    return open_layout(root)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_export_round_trip_loads_as_a_project_with_the_new_labels(project, tmp_path):
    before = _digest(project.train_csv)
    record_decision(project.db_path, "cat_0.png", "relabel", old_label=0, new_label=2, source="cleanlab", run_id="r")
    record_decision(project.db_path, "dog_1.png", "drop", old_label=1)
    record_decision(project.db_path, "bird_2.png", "keep", old_label=2)
    record_decision(project.db_path, "ghost.png", "drop", old_label=0)  # not in train.csv: ignored
    result = export_version(project)
    assert (result.version, result.rows, result.relabeled, result.dropped, result.ignored) == (1, 11, 1, 1, 1)
    assert _digest(project.train_csv) == before  # the user's file is never touched
    assert not list(project.labels_dir.glob(".*tmp"))  # no temp file left behind

    changes = pd.read_csv(result.changes_path, dtype=str, keep_default_na=False)
    assert changes.to_dict("records") == [
        {"ID": "cat_0.png", "old": "0", "new": "2", "action": "relabel", "source": "cleanlab"},
        {"ID": "dog_1.png", "old": "1", "new": "", "action": "drop", "source": "manual"},
    ]
    original = pd.read_csv(project.train_csv, dtype=str)
    clean = pd.read_csv(result.path, dtype=str)
    assert list(clean.columns) == list(original.columns)
    assert list(clean.ID) == [i for i in original.ID if i != "dog_1.png"]

    # As a run would read it ...
    dataset = load_dataset(project.root)
    rows, name = resolve_labels(dataset, "latest")
    assert name == "v1" and len(rows) == 11
    assert rows.set_index("ID").loc["cat_0.png", "target"] == 2
    # ... and as its own project: same images, the exported CSV as train.csv.
    copy = tmp_path / "copy"
    shutil.copytree(project.root, copy, ignore=shutil.ignore_patterns(".workbench"))
    shutil.copy(result.path, copy / "train.csv")
    reloaded = load_dataset(copy)
    assert reloaded.report.usable
    assert set(reloaded.train.ID) == set(original.ID) - {"dog_1.png"}
    labels = dict(zip(reloaded.train.ID, reloaded.train.target))
    assert labels["cat_0.png"] == 2 and labels["bird_2.png"] == 2 and labels["cat_1.png"] == 0


def test_versions_table_counts_and_diffs_against_the_previous_version(project):
    record_decision(project.db_path, "cat_0.png", "relabel", old_label=0, new_label=1)
    record_decision(project.db_path, "dog_0.png", "drop", old_label=1)
    export_version(project)
    record_decision(project.db_path, "dog_0.png", "keep", old_label=1)  # brought back
    record_decision(project.db_path, "bird_0.png", "relabel", old_label=2, new_label=0)
    second = export_version(project)
    assert second.version == 2
    table = versions_table(project).set_index("version")
    assert table.loc[1, ["rows", "relabeled", "dropped"]].tolist() == [11, 1, 1]
    assert table.loc[2, ["rows", "relabeled", "dropped"]].tolist() == [12, 2, 0]
    assert table.loc[2, ["changed_vs_previous", "dropped_vs_previous", "restored_vs_previous"]].tolist() == [1, 0, 1]
    assert table.loc[1, "created_at"].endswith("Z")


def test_concurrent_exports_get_distinct_versions(project):
    results = []

    def run(image_id: str) -> None:
        record_decision(project.db_path, image_id, "drop", old_label=0)
        results.append(export_version(project))

    threads = [threading.Thread(target=run, args=(f"cat_{n}.png",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    written = sorted(r.version for r in results if not r.nothing_new)
    assert written == list(range(1, len(written) + 1))  # never one number twice, never a gap
    assert all(r.version in written for r in results if r.nothing_new)  # "nothing new" names a real version
    assert sorted(p.name for p in project.labels_dir.glob("train_v*.csv")) == [f"train_v{n}.csv" for n in written]
    newest = pd.read_csv(project.labels_dir / f"train_v{written[-1]}.csv")
    assert not newest["ID"].str.startswith("cat_").any()  # the last export saw all four drops


def test_cli_relabel_drop_keep_and_export(project, run_cli):
    root = str(project.root)
    code, out, _ = run_cli(["relabel", "--project", root, "cat_0.png", "bird"])  # a class name works too
    assert code == 0 and "relabel 0 -> 2" in out
    assert run_cli(["relabel", "--project", root, "--drop", "dog_0.png"])[0] == 0
    assert run_cli(["relabel", "--project", root, "--drop", "dog_1.png"])[0] == 0
    code, out, _ = run_cli(["relabel", "--project", root, "--keep", "dog_1.png"])  # undo the drop by hand
    assert code == 0 and "keep 1" in out
    code, _, err = run_cli(["relabel", "--project", root, "nope.png", "1"])
    assert code == 1 and "nope.png" in err
    code, _, err = run_cli(["relabel", "--project", root, "cat_1.png", "7"])
    assert code == 1 and "0..2" in err
    code, out, err = run_cli(["export", "--project", root])
    assert code == 0 and "1 relabeled, 1 dropped" in err
    path = Path(out.strip().splitlines()[-1])
    assert path == project.labels_dir / "train_v1.csv" and path.is_file()
    clean = pd.read_csv(path).set_index("ID")
    assert clean.loc["cat_0.png", "target"] == 2 and "dog_0.png" not in clean.index and "dog_1.png" in clean.index
