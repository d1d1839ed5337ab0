"""AppTest of safe bulk accept (the Issues page's Bulk accept view) on the overlapping-classes project."""

from __future__ import annotations

from core.issues.health import expected_precision
from core.issues.run_issues import issues_for_runs
from core.labels.decisions import current_decisions, record_decision
from core.runs.folder import prob_columns
from tests.app.test_issues_health import (  # noqa: F401 - fixtures
    FASHION,
    OVERLAP_RUN,
    issues_app,
    overlap_fresh,
    overlap_layout,
    run_health,
)
from workbench import state


def bulk_view(layout, monkeypatch, tmp_path):
    at = issues_app(layout, monkeypatch, tmp_path)
    at.segmented_control(key=state.ISSUES_VIEW).set_value("Bulk accept").run()
    assert not at.exception, at.exception
    return at


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def ranked_rows(layout):
    """The label table as the page ranks bulk candidates: flagged first (label score order), then the other rows
    whose most likely class is another one."""
    labels = issues_for_runs(layout, [OVERLAP_RUN], data=False).labels
    other = labels.loc[labels["suggested_label"] != labels["given_label"]]
    return other.sort_values(["is_label_issue", "label_score"], ascending=[False, True], kind="stable")


def test_top_n_above_the_estimate_needs_a_second_confirmation(overlap_fresh, monkeypatch, tmp_path):  # noqa: F811
    layout = overlap_fresh
    estimate = run_health(layout).likely_wrong
    at = bulk_view(layout, monkeypatch, tmp_path)
    top = next(n for n in at.number_input if n.label == "N")
    assert top.value == estimate  # the default: the estimate (= the flagged rows here)
    assert metrics(at)["To accept"] == f"{estimate:,}"
    assert not any(c.label.startswith("Yes, accept") for c in at.checkbox)
    ranked = ranked_rows(layout)
    n = estimate + 6
    picked = ranked.head(n)
    top.set_value(n).run()
    probs = picked[prob_columns(5)].to_numpy()
    assert metrics(at)["Expected precision"] == f"{expected_precision(picked['given_label'], probs):.0%}"
    button = at.button(key=state.issues_button_key("bulk.pick"))
    assert button.label == f"Accept {n} suggestions" and button.disabled
    confirm = at.checkbox(key=state.issues_confirm_key("pick", n))
    assert confirm.label == f"Yes, accept {n} suggestions: more than the ~{estimate} wrong labels the model estimates"
    assert current_decisions(layout.db_path).empty  # refused: nothing stored

    at.checkbox(key=state.issues_confirm_key("pick", n)).check().run()
    at.button(key=state.issues_button_key("bulk.pick")).click().run()
    assert not at.exception
    current = current_decisions(layout.db_path).set_index("ID")
    assert sorted(current.index) == sorted(picked["ID"])
    assert set(current["action"]) == {"relabel"} and set(current["source"]) == {"bulk"}
    assert (current.loc[picked["ID"], "new_label"].to_numpy() == picked["suggested_label"].to_numpy()).all()
    assert any(
        s.value == f"Relabelled {n} image(s) to their suggestion; 0 skipped (already decided)" for s in at.success
    )
    # Now every row picked is decided: the same N accepts nothing more.
    assert metrics(at)["To accept"] == "0" and metrics(at)["Skipped: already decided"] == f"{n}"


def test_bulk_accept_never_overwrites_a_decision_and_the_table_shows_decisions(
    overlap_fresh,  # noqa: F811
    monkeypatch,
    tmp_path,
):
    layout = overlap_fresh
    estimate = run_health(layout).likely_wrong
    flagged = ranked_rows(layout).head(estimate)
    first, second = flagged["ID"].iloc[0], flagged["ID"].iloc[3]
    kept = record_decision(layout.db_path, first, "keep", old_label=int(flagged["given_label"].iloc[0]))
    dropped = record_decision(layout.db_path, second, "drop", old_label=int(flagged["given_label"].iloc[3]))
    at = bulk_view(layout, monkeypatch, tmp_path)
    assert metrics(at)["To accept"] == f"{estimate - 2}" and metrics(at)["Skipped: already decided"] == "2"
    table = next(d.value for d in at.dataframe if "decided" in d.value.columns).set_index("ID")
    assert table.loc[first, "decided"] == "keep" and table.loc[second, "decided"] == "drop"
    assert (table.drop(index=[first, second])["decided"] == "").all()

    at.button(key=state.issues_button_key("bulk.pick")).click().run()
    assert not at.exception
    current = current_decisions(layout.db_path).set_index("ID")
    assert int(current.loc[first, "decision_id"]) == kept.id and current.loc[first, "action"] == "keep"
    assert int(current.loc[second, "decision_id"]) == dropped.id and current.loc[second, "action"] == "drop"
    assert (current["action"] == "relabel").sum() == estimate - 2
    assert any(
        s.value == f"Relabelled {estimate - 2} image(s) to their suggestion; 2 skipped (already decided)"
        for s in at.success
    )
    table = next(d.value for d in at.dataframe if "decided" in d.value.columns).set_index("ID")
    third = flagged.iloc[1]
    target = int(third["suggested_label"])
    assert table.loc[third["ID"], "decided"] == f"relabel -> {target} · {FASHION[target]}"
    assert table.loc[first, "decided"] == "keep"


def test_accepting_selected_rows_is_guarded_too_and_score_mode_counts(overlap_fresh, monkeypatch, tmp_path):  # noqa: F811
    layout = overlap_fresh
    estimate = run_health(layout).likely_wrong
    ranked = ranked_rows(layout)
    at = bulk_view(layout, monkeypatch, tmp_path)
    at.button(key=state.issues_button_key("bulk.pick")).click().run()  # the default: every flagged row
    assert (current_decisions(layout.db_path)["action"] == "relabel").sum() == estimate

    # Every flagged row is decided now: a selection in the flagged table accepts none of them.
    table_key = state.issues_bulk_key(f"{[]}|{[]}|{['label']}")  # the default filters: label issues
    at.session_state[table_key] = {"selection": {"rows": [0, 1], "columns": []}}
    at.run()
    assert at.button(key=state.issues_button_key("bulk.selected")).label == "Accept the suggestion for 0 selected"
    assert any(c.value.startswith("2 of the selected rows are decided already") for c in at.caption)

    # By label score, rows beyond the flags come in, and the guard counts the relabels already made.
    at.segmented_control(key=state.ISSUES_BULK_MODE).set_value("Label score below X").run()
    at.slider(key=state.ISSUES_BULK_SCORE).set_value(0.3).run()
    below = ranked.loc[ranked["label_score"] < 0.3]
    extra = int((~below["is_label_issue"]).sum())
    assert extra > 0
    assert metrics(at)["To accept"] == f"{extra}" and metrics(at)["Skipped: already decided"] == f"{estimate}"
    confirm = at.checkbox(key=state.issues_confirm_key("pick", extra))
    assert confirm.label == (
        f"Yes, accept {extra} suggestions (after {estimate} relabels already made): more than the ~{estimate} "
        "wrong labels the model estimates"
    )
    assert at.button(key=state.issues_button_key("bulk.pick")).disabled
