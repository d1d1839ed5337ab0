"""AppTest of the Issues page on a fixture run whose label errors, duplicates, leakage and outlier are planted."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.config import resolve_config
from core.labels.decisions import current_decisions, decision_history
from core.project.demo import build_demo
from core.project.layout import open_layout
from core.runs.catalog import list_runs
from core.runs.folder import RunWriter, create_run, write_embeddings, write_oof, write_test_outputs
from tests.support.apphelpers import APP, _walk
from workbench import state

RUN_ID = "20260101-000000-scan-fixt"


def issues_fixture_run(layout, *, run_id: str = RUN_ID, seed: int = 0) -> dict:
    """A succeeded scan run over the demo project with known answers.

    Out-of-fold probabilities are confident in each image's true class (demo_truth.csv), so the
    demo's flipped labels are the label issues. Embeddings are class clusters with planted cases:
    two train images that are near copies with different labels, one train image that copies a
    test image, one train image far from everything. Returns what was planted.
    """
    rng = np.random.default_rng(seed)
    truth = pd.read_csv(layout.root / "demo_truth.csv", dtype={"ID": str})
    train = pd.read_csv(layout.train_csv, dtype={"ID": str})
    test = pd.read_csv(layout.test_csv, dtype={"ID": str})
    k = 10
    true = truth.set_index("ID").loc[train.ID, "true_target"].to_numpy()
    logits = rng.normal(0, 0.5, (len(train), k))
    logits[np.arange(len(train)), true] += 5.0
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    run_dir = create_run(layout, resolve_config(kind="scan"), run_id=run_id)
    write_oof(run_dir, train.ID, np.arange(len(train)) % 3, train.target.to_numpy(), probs)
    write_test_outputs(run_dir, test.ID, np.full((len(test), k), 1 / k))

    centres = rng.normal(0, 1, (k, 32)) * 4
    train_vectors = centres[true] + rng.normal(0, 1, (len(train), 32))
    test_vectors = rng.normal(0, 1, (len(test), 32)) * 4  # random directions: far from train and each other
    # Near copies with different labels: the first image of class 0 and the first of class 6.
    labels = train.target.to_numpy()
    a = int(np.flatnonzero(labels == 0)[0])
    b = int(np.flatnonzero(labels == 6)[0])
    train_vectors[b] = train_vectors[a] + rng.normal(0, 1e-3, 32)
    # A train image that copies test image 0.
    leak = int(np.flatnonzero(labels == 3)[0])
    train_vectors[leak] = test_vectors[0] + rng.normal(0, 1e-3, 32)
    # One image far from everything.
    outlier = int(np.flatnonzero(labels == 8)[0])
    train_vectors[outlier] = rng.normal(0, 1, 32) * 4 - 80
    ids = list(train.ID) + list(test.ID)
    splits = ["train"] * len(train) + ["test"] * len(test)
    write_embeddings(run_dir, ids, splits, np.concatenate([train_vectors, test_vectors]).astype(np.float32))
    RunWriter(run_dir).status(state="succeeded", progress=1.0, labels="original", metrics={})
    flipped = truth.loc[truth.flipped.astype(bool), "ID"].tolist()
    return {
        "run_id": run_id,
        "flipped": flipped,
        "duplicates": (train.ID[a], train.ID[b]),
        "leak": (train.ID[leak], test.ID[0]),
        "outlier": train.ID[outlier],
        "truth": dict(zip(truth.ID, truth.true_target)),
    }


@pytest.fixture(scope="module")
def issues_project(tmp_path_factory):
    root = tmp_path_factory.mktemp("issues") / "project"
    build_demo(root, per_class=40)
    layout = open_layout(root)
    layout.ensure_work_dir()
    planted = issues_fixture_run(layout)
    return layout, planted


@pytest.fixture
def fresh(issues_project):
    """The fixture project with no decisions and no exported version (tests share it)."""
    layout, planted = issues_project
    for path in layout.work_dir.glob("workbench.db*"):
        path.unlink()
    for path in layout.labels_dir.glob("*.csv"):
        path.unlink()
    return layout, planted


def card_payload(at) -> dict:
    found: list = []
    _walk(at.main, found)
    cards = [e for e in found if getattr(e.proto, "component_name", "") == "wb_review_card"]
    assert cards, "no review card on the page"
    return json.loads(cards[0].proto.json)


def _app(layout, monkeypatch, tmp_path) -> AppTest:
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "home"))
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state[state.PROJECT] = str(layout.root)
    at.run()
    at.switch_page("../pages/issues.py").run()
    assert not at.exception, at.exception
    return at


def test_queue_shows_the_worst_label_first_and_keep_accept_drop_are_stored(fresh, monkeypatch, tmp_path):
    layout, planted = fresh
    at = _app(layout, monkeypatch, tmp_path)
    item = card_payload(at)["item"]
    assert item["id"] in planted["flipped"]  # the lowest label score is one of the flips
    assert item["src"].startswith("data:image/")
    assert {b["role"] for b in item["bars"]} >= {"given", "suggested"}
    assert [r["role"] for r in item["refs"]] == ["given", "suggested"]
    assert all(len(r["images"]) >= 1 for r in item["refs"])
    progress = at.get("progress")[0]
    flagged = int(progress.proto.text.split("/ ")[1].split()[0])
    assert 0.75 * len(planted["flipped"]) <= flagged <= len(planted["flipped"])  # cleanlab finds most flips

    first = item["id"]
    suggested = int(item["suggested"].split(" · ")[0])
    at.button(key=state.issues_button_key("accept")).click().run()
    second = card_payload(at)["item"]["id"]
    assert second != first
    at.button(key=state.issues_button_key("keep")).click().run()
    third = card_payload(at)["item"]["id"]
    at.button(key=state.issues_button_key("drop")).click().run()
    assert not at.exception

    current = current_decisions(layout.db_path).set_index("ID")
    assert current.loc[first, "action"] == "relabel" and current.loc[first, "new_label"] == suggested
    assert current.loc[first, "source"] == "cleanlab" and current.loc[first, "run_id"] == planted["run_id"]
    assert current.loc[second, "action"] == "keep" and current.loc[second, "source"] == "manual"
    assert current.loc[third, "action"] == "drop"
    assert f"Reviewed 3 / {flagged}" in at.get("progress")[0].proto.text
    assert "Saved: " in card_payload(at)["notice"]

    # Undo twice: the drop and the keep are reverted (kept as history), the relabel stays.
    at.button(key=state.issues_button_key("undo")).click().run()
    at.button(key=state.issues_button_key("undo")).click().run()
    current = current_decisions(layout.db_path)
    assert list(current["ID"]) == [first]
    history = decision_history(layout.db_path)
    assert len(history) == 3 and history["reverted_at"].notna().sum() == 2
    assert card_payload(at)["item"]["id"] == second  # back in the queue, in rank order


def test_relabel_to_any_class_and_filters(fresh, monkeypatch, tmp_path):
    layout, planted = fresh
    at = _app(layout, monkeypatch, tmp_path)
    item = card_payload(at)["item"]
    given = int(item["given"].split(" · ")[0])
    other = next(c for c in range(10) if c not in (given, int(item["suggested"].split(" · ")[0])))
    at.selectbox(key=state.issues_relabel_key(item["id"])).set_value(other).run()
    at.button(key=state.issues_button_key("relabel")).click().run()
    current = current_decisions(layout.db_path).set_index("ID")
    assert current.loc[item["id"], "new_label"] == other and current.loc[item["id"], "source"] == "manual"

    # Filter by given class: every item shown has that given label.
    target = int(card_payload(at)["item"]["given"].split(" · ")[0])
    at.multiselect(key=state.ISSUES_GIVEN).set_value([target]).run()
    shown = card_payload(at)["item"]
    assert shown["given"].startswith(f"{target} · ")
    # The outlier kind shows a planted image far from the rest (the outlier, or the copy of a test image).
    at.multiselect(key=state.ISSUES_GIVEN).set_value([]).run()
    at.multiselect(key=state.ISSUES_KINDS).set_value(["outlier"]).run()
    assert card_payload(at)["item"]["id"] in (planted["outlier"], planted["leak"][0])
    assert "Outlier" in card_payload(at)["item"]["flags"]


def test_keyboard_trigger_decides_only_the_item_on_screen(fresh, monkeypatch, tmp_path):
    from workbench.components import review as rv

    layout, planted = fresh
    at = _app(layout, monkeypatch, tmp_path)
    item = at.session_state[state.ISSUES_ITEM]
    # What the component's keydown handler sends, delivered through the callback the page registered.
    with monkeypatch.context() as m:
        fake = {"action": {"action": "drop", "id": "not-the-item-on-screen"}}
        m.setattr(rv.st, "session_state", {state.ISSUES_CARD: fake, state.ISSUES_ITEM: item})
        rv.on_card_action(layout.db_path)
        assert current_decisions(layout.db_path).empty  # stale key press: ignored
        fake["action"] = {"action": "drop", "id": item["ID"]}
        rv.on_card_action(layout.db_path)
        rv.on_card_action(layout.db_path)  # pressed twice: one decision
    history = decision_history(layout.db_path)
    assert list(history["image_id"]) == [item["ID"]] and list(history["action"]) == ["drop"]


def test_bulk_accept_and_near_duplicate_group_actions(fresh, monkeypatch, tmp_path):
    layout, planted = fresh
    at = _app(layout, monkeypatch, tmp_path)
    at.segmented_control(key=state.ISSUES_VIEW).set_value("Bulk accept").run()
    at.button(key=state.issues_button_key("bulk.pick")).click().run()  # default: top N = the flagged rows
    assert not at.exception
    current = current_decisions(layout.db_path)
    assert len(current) >= 0.75 * len(planted["flipped"])
    assert set(current["source"]) == {"bulk"} and set(current["action"]) == {"relabel"}
    assert set(current["ID"]) <= set(planted["flipped"])
    fixed = current.set_index("ID")
    assert all(int(fixed.loc[i, "new_label"]) == planted["truth"][i] for i in fixed.index)  # true labels restored

    at.segmented_control(key=state.ISSUES_VIEW).set_value("Near duplicates").run()
    assert not at.exception
    assert any("conflicting labels" in m.value for m in at.markdown)
    dedupe = next(b for b in at.button if b.label == "Keep one, drop the rest")
    dedupe.click().run()
    current = current_decisions(layout.db_path).set_index("ID")
    a, b = planted["duplicates"]
    assert {current.loc[a, "action"], current.loc[b, "action"]} == {"keep", "drop"}

    at.segmented_control(key=state.ISSUES_VIEW).set_value("Train/test leakage").run()
    groups = [m.value for m in at.markdown if m.value.startswith("**Group")]
    assert len(groups) == 1 and "1 train + 1 test" in groups[0]
    next(b for b in at.button if b.label == "Drop the train copy").click().run()
    assert current_decisions(layout.db_path).set_index("ID").loc[planted["leak"][0], "action"] == "drop"

    at.segmented_control(key=state.ISSUES_VIEW).set_value("Outliers").run()
    at.segmented_control(key=state.ISSUES_VIEW).set_value("Class imbalance").run()
    assert not at.exception


def test_export_view_writes_a_version_and_retrains_on_it(fresh, monkeypatch, tmp_path):
    layout, planted = fresh
    at = _app(layout, monkeypatch, tmp_path)
    at.button(key=state.issues_button_key("accept")).click().run()
    at.button(key=state.issues_button_key("drop")).click().run()
    at.segmented_control(key=state.ISSUES_VIEW).set_value("Export & versions").run()
    assert [m.value for m in at.metric][1:3] == ["1", "1"]  # relabelled, dropped
    next(b for b in at.button if b.label == "Export the next version").click().run()
    assert not at.exception
    assert (layout.labels_dir / "train_v1.csv").is_file()
    assert any("Exported v1" in s.value for s in at.success)
    versions = at.dataframe[0].value
    assert list(versions["version"]) == [1] and versions["relabeled"].iloc[0] == 1
    assert versions["dropped"].iloc[0] == 1
    downloads = [d.proto.label for d in at.get("download_button")]
    assert "Download the ranked label issues (CSV, as `workbench issues` writes it)" in downloads
    assert "train_v1.csv" in downloads and "changes_v1.csv" in downloads

    next(b for b in at.button if b.label == "Retrain on v1").click().run()
    assert not at.exception
    started = [r for r in list_runs(layout) if r.run_id != planted["run_id"]]
    assert len(started) == 1 and started[0].config().data.labels == "v1"
    from core.runs.jobs import cancel_job

    cancel_job(started[0].run_dir)
    import shutil

    shutil.rmtree(started[0].run_dir)


def test_page_without_runs_says_what_to_do(tmp_path, monkeypatch, make_project):
    root = make_project(tmp_path)
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "home"))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state[state.PROJECT] = str(root)
    at.run()
    at.switch_page("../pages/issues.py").run()
    assert not at.exception
    assert any("No finished run yet" in i.value for i in at.info)
