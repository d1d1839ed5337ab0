"""AppTest of marking images ambiguous on the Issues page: the button, the M key, the bulk helper, the export option."""

from __future__ import annotations

import pandas as pd

from core.labels.decisions import current_decisions, decision_history, record_decision
from tests.app.test_issues import _app, card_payload, fresh, issues_project  # noqa: F401 - fixtures
from workbench import state


def test_the_ambiguous_button_stores_the_decision_and_the_queue_moves_on(fresh, monkeypatch, tmp_path):  # noqa: F811
    layout, planted = fresh
    at = _app(layout, monkeypatch, tmp_path)
    payload = card_payload(at)
    first = payload["item"]["id"]
    given = int(payload["item"]["given"].split(" · ")[0])
    assert payload["keys"]["m"] == "ambiguous" and payload["keys"]["k"] == "keep" and payload["keys"]["d"] == "drop"
    assert "M ambiguous" in payload["hint"]
    button = at.button(key=state.issues_button_key("ambiguous"))
    assert button.label == "Ambiguous (M)" and "not a label error" in button.help
    flagged = int(at.get("progress")[0].proto.text.split("/ ")[1].split()[0])

    button.click().run()
    assert not at.exception
    current = current_decisions(layout.db_path).set_index("ID")
    assert current.loc[first, "action"] == "ambiguous"
    assert current.loc[first, "old_label"] == given and current.loc[first, "new_label"] == given
    assert current.loc[first, "source"] == "manual" and current.loc[first, "run_id"] == planted["run_id"]
    after = card_payload(at)
    assert after["item"]["id"] != first  # the queue moved on
    assert after["notice"].startswith(f"Saved: {first} ambiguous")
    assert f"Reviewed 1 / {flagged}" in at.get("progress")[0].proto.text
    assert any("1 ambiguous" in c.value for c in at.caption if c.value.startswith("Decisions in this project"))
    progress = next(d.value for d in at.dataframe if "issue kind" in d.value.columns)
    assert "ambiguous" in progress.columns

    # Undo brings it back to the front of the queue.
    at.button(key=state.issues_button_key("undo")).click().run()
    assert current_decisions(layout.db_path).empty
    assert card_payload(at)["item"]["id"] == first


def test_the_m_key_marks_only_the_item_on_screen(fresh, monkeypatch, tmp_path):  # noqa: F811
    from workbench.components import review as rv

    layout, _ = fresh
    at = _app(layout, monkeypatch, tmp_path)
    item = at.session_state[state.ISSUES_ITEM]
    with monkeypatch.context() as m:
        fake = {"action": {"action": rv.SHORTCUTS["m"], "id": "another.png"}}
        m.setattr(rv.st, "session_state", {state.ISSUES_CARD: fake, state.ISSUES_ITEM: item})
        rv.on_card_action(layout.db_path)
        assert current_decisions(layout.db_path).empty  # stale key press: ignored
        fake["action"] = {"action": rv.SHORTCUTS["m"], "id": item["ID"]}
        rv.on_card_action(layout.db_path)
    history = decision_history(layout.db_path)
    assert list(history["image_id"]) == [item["ID"]] and list(history["action"]) == ["ambiguous"]


def test_mark_ambiguous_skips_decided_images_and_counts_them(fresh, monkeypatch):  # noqa: F811
    from workbench.components import review as rv

    layout, planted = fresh
    a, b = planted["duplicates"]
    c = planted["outlier"]
    kept = record_decision(layout.db_path, a, "keep", old_label=0)
    rows = pd.DataFrame({"ID": [a, b, c, b], "given_label": [0, 6, 8, 6]})
    session: dict = {}
    monkeypatch.setattr(rv.st, "session_state", session)
    stored, skipped = rv.mark_ambiguous(layout.db_path, rows, planted["run_id"])
    assert (stored, skipped) == (2, 2)  # a was decided; b's second row finds b decided
    current = current_decisions(layout.db_path).set_index("ID")
    assert int(current.loc[a, "decision_id"]) == kept.id and current.loc[a, "action"] == "keep"
    assert current.loc[[b, c], "action"].tolist() == ["ambiguous", "ambiguous"]
    assert current.loc[[b, c], "new_label"].tolist() == [6, 8] and set(current.loc[[b, c], "source"]) == {"bulk"}
    assert session[state.ISSUES_UNDO] == current.loc[[b, c], "decision_id"].tolist()  # Undo can revert them


def test_export_panel_counts_ambiguous_and_can_leave_them_out(fresh, monkeypatch, tmp_path):  # noqa: F811
    layout, _ = fresh
    at = _app(layout, monkeypatch, tmp_path)
    first = card_payload(at)["item"]["id"]
    at.button(key=state.issues_button_key("ambiguous")).click().run()
    at.segmented_control(key=state.ISSUES_VIEW).set_value("Export & versions").run()
    assert [m.label for m in at.metric][:4] == ["Kept", "Relabelled", "Dropped", "Ambiguous"]
    assert [m.value for m in at.metric][:4] == ["0", "0", "0", "1"]
    box = next(b for b in at.checkbox if b.label == "Leave images marked ambiguous out of training")
    assert box.value is False
    export = next(b for b in at.button if b.label == "Export the next version")
    export.click().run()
    assert first in set(pd.read_csv(layout.labels_dir / "train_v1.csv", dtype=str)["ID"])  # default: kept
    assert any("1 ambiguous kept" in s.value for s in at.success)

    next(b for b in at.checkbox if b.label.startswith("Leave images marked ambiguous")).check().run()
    next(b for b in at.button if b.label == "Export the next version").click().run()
    assert not at.exception
    assert first not in set(pd.read_csv(layout.labels_dir / "train_v2.csv", dtype=str)["ID"])
    changes = pd.read_csv(layout.labels_dir / "changes_v2.csv", dtype=str, keep_default_na=False)
    assert changes.loc[changes["ID"] == first, ["new", "action"]].values.tolist() == [["", "ambiguous"]]
    assert any("1 ambiguous left out" in s.value for s in at.success)
    versions = at.dataframe[0].value.set_index("version")
    assert versions.loc[2, "ambiguous_left_out"] == 1 and versions.loc[1, "ambiguous_left_out"] == 0
