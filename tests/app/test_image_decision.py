"""The image dialog of Browse, Errors and Embeddings relabels, keeps and drops a train image (AppTest).

A gallery click comes from the browser (a component trigger), which AppTest cannot send: the
`click` fixture makes one gallery report a click on one image, as the browser's trigger would. The
Embeddings page's box selection is simulated the same way (embedding_map.selected_rows).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import core.embeddings.projection_job as projection
import core.labels.decisions as decisions
import workbench.components.embedding_map as embedding_map
import workbench.components.gallery as gallery_module
from core.analysis.predictions import labelled
from core.analysis.scores import confused_pairs, confusion_counts
from core.labels.decisions import decision_history, latest_decision, record_decision
from core.project.demo import build_demo
from core.project.layout import open_layout
from tests.support.apphelpers import APP, fixture_run, galleries
from workbench import state

RUN = "20260102-000000-scan-bbbb"
K = 10


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "project"
    build_demo(root, per_class=8)
    layout = open_layout(root)
    layout.ensure_work_dir()
    fixture_run(layout, accuracy=0.7, seed=2, run_id=RUN)
    run_dir = layout.runs_dir / RUN
    ids = pd.read_csv(run_dir / "embeddings_ids.csv", dtype=str)
    xy = np.random.default_rng(0).normal(size=(len(ids), 2))
    out = projection.projection_file(layout.cache_dir, run_dir, projection.ProjectionParams())
    projection.write_projection(out, ids.ID, ids.split, xy)
    return layout


@pytest.fixture
def click(monkeypatch):
    """click(gallery name, image ID): from then on that gallery reports a click on the image."""
    real = gallery_module._component
    clicks: dict[str, str] = {}

    def component(*args, key, **kwargs):
        result = real(*args, key=key, **kwargs)
        for name, image_id in clicks.items():
            if key == state.gallery_component_key(name):
                return SimpleNamespace(clicked=image_id)
        return result

    monkeypatch.setattr(gallery_module, "_component", component)
    return clicks.__setitem__


def open_page(layout, page: str, **session) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state[state.PROJECT] = str(layout.root)
    at.run()
    at.switch_page(f"../pages/{page}.py")
    for key, value in session.items():
        at.session_state[getattr(state, key)] = value
    return at.run()


def train_table(layout) -> pd.DataFrame:
    from core.analysis.predictions import prediction_table
    from core.runs.folder import read_oof, read_test_probs

    run_dir = layout.runs_dir / RUN
    truth = pd.read_csv(layout.test_labels_csv, dtype={"ID": str})
    table = prediction_table(read_oof(run_dir), read_test_probs(run_dir), truth, num_classes=K)
    return labelled(table, "train").set_index("ID")


def open_dialog(layout, page: str, click, monkeypatch) -> tuple[AppTest, str]:
    """The page with the image dialog open on the first train image of its gallery; returns (app, image ID)."""
    session = {}
    if page == "errors":
        train = train_table(layout)
        counts = confusion_counts(train["given"].to_numpy(int), train["predicted"].to_numpy(int), num_classes=K)
        pair = confused_pairs(counts, top=1)
        true, predicted = int(pair["true"].iloc[0]), int(pair["predicted"].iloc[0])
        session["ERRORS_CELL"] = [true, predicted]
        name = f"errors_cell_{true}_{predicted}"
    elif page == "embeddings":
        monkeypatch.setattr(embedding_map, "selected_rows", lambda event: np.arange(12))  # a box around 12 points
        name = "embeddings_selection"
    else:
        name = "browse"
    at = open_page(layout, page, **session)
    assert not at.exception
    image_id = next(i["id"] for i in galleries(at)[name] if i["id"].startswith("tr_"))
    click(name, image_id)
    at.run()
    assert not at.exception
    return at, image_id


def panel_text(at) -> str:
    return " ".join(c.value for c in at.caption)


def class_name(layout, target: int) -> str:
    return f"{target} · {dict(pd.read_csv(layout.meta_csv).values)[target]}"


@pytest.mark.parametrize("page", ["browse", "errors", "embeddings"])
def test_the_image_dialog_relabels_undoes_keeps_and_drops(project, click, monkeypatch, page):
    at, image_id = open_dialog(project, page, click, monkeypatch)
    given = int(train_table(project).at[image_id, "given"])
    assert f"Not decided yet: its label is {class_name(project, given)}" in panel_text(at)
    target = (given + 1) % K

    at.selectbox(key=state.detail_relabel_key(image_id)).set_value(target)
    at.button(key=state.detail_button_key(image_id, "relabel")).click().run()
    decision = latest_decision(project.db_path, image_id)
    assert (decision.action, decision.old_label, decision.new_label) == ("relabel", given, target)
    assert decision.source == "manual" and decision.run_id == RUN
    assert [s.value for s in at.success] == [f"Saved in workbench.db: relabel {given} -> {target}."]
    when = decision.created_at[:16].replace("T", " ")
    # the current decision, read back from the db
    expected = f"Relabelled to {class_name(project, target)} (was {class_name(project, given)}) on {when} UTC, manual."
    assert expected in panel_text(at)
    assert decision.id in st_undo_stack(at)  # the Issues page's Undo walks it too

    at.button(key=state.detail_button_key(image_id, "undo")).click().run()
    assert latest_decision(project.db_path, image_id) is None
    assert at.success[0].value == f"Undone: relabel {given} -> {target} (it stays in the history)."
    assert "Not decided yet" in panel_text(at)

    at.button(key=state.detail_button_key(image_id, "keep")).click().run()
    kept = latest_decision(project.db_path, image_id)
    assert (kept.action, kept.new_label) == ("keep", given)
    assert f"Kept as {class_name(project, given)}" in panel_text(at)

    at.button(key=state.detail_button_key(image_id, "drop")).click().run()
    assert latest_decision(project.db_path, image_id).action == "drop"
    assert "Dropped on" in panel_text(at)
    at.button(key=state.detail_button_key(image_id, "drop")).click().run()  # again: nothing new
    assert len(decision_history(project.db_path, image_id=image_id)) == 3  # relabel (reverted), keep, drop
    assert not at.exception


def st_undo_stack(at) -> list[int]:
    return list(at.session_state[state.ISSUES_UNDO]) if state.ISSUES_UNDO in at.session_state else []


def test_a_decision_made_meanwhile_elsewhere_is_not_overwritten(project, click, monkeypatch):
    at, image_id = open_dialog(project, "browse", click, monkeypatch)
    given = int(train_table(project).at[image_id, "given"])
    other = record_decision(project.db_path, image_id, "keep", old_label=given)  # another tab, after the dialog drew
    at.button(key=state.detail_button_key(image_id, "drop")).click().run()
    assert latest_decision(project.db_path, image_id) == other
    assert any("was decided meanwhile" in w.value for w in at.warning), [w.value for w in at.warning]
    assert f"Kept as {class_name(project, given)}" in panel_text(at)


def test_a_write_that_fails_is_shown_and_stores_nothing(project, click, monkeypatch):
    at, image_id = open_dialog(project, "browse", click, monkeypatch)

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(decisions, "_insert", full_disk)  # inside the core function, as a full disk would
    at.button(key=state.detail_button_key(image_id, "drop")).click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and errors[0].startswith("The decision was not saved: ")
    assert "no space left on device" in errors[0].lower()
    assert latest_decision(project.db_path, image_id) is None
    assert "Not decided yet" in panel_text(at)


def test_a_test_image_has_no_decision_buttons(project, click):
    at = open_page(project, "browse", BROWSE_SPLIT="test")
    image_id = galleries(at)["browse"][0]["id"]
    click("browse", image_id)
    at.run()
    assert not at.exception
    assert "Label decisions are for train images" in panel_text(at)
    assert not [b for b in at.button if b.key and b.key.startswith("wb.detail.")]


def test_the_accept_button_names_a_long_class_by_its_index():
    from workbench.components.review_queue import accept_label

    assert accept_label("3 · cat", 3) == "Accept 3 · cat (A)"
    assert accept_label("8 · Tractor-trailer with extended sleeper cab", 8) == "Accept 8 (A)"
