"""AppTest: one run with a malformed status.json, one whose oof.csv was cut short, one good run (issue 13).

Every page keeps working: the Runs page lists the damaged runs with the message naming the file, and an
analysis page shows the cut-short run's error (never a partial table) while its picker offers the others.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.config import resolve_config
from core.project.demo import build_demo
from core.project.layout import open_layout
from core.runs.folder import OOF, RunWriter, create_run
from tests.support.apphelpers import APP, fixture_run
from workbench import state

GOOD, CUT, BROKEN = "20260101-000000-scan-good", "20260102-000000-scan-cut0", "20260103-000000-scan-bad0"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("damaged") / "project"
    build_demo(root, per_class=8)
    layout = open_layout(root)
    layout.ensure_work_dir()
    fixture_run(layout, accuracy=0.8, seed=1, run_id=GOOD)
    fixture_run(layout, accuracy=0.6, seed=2, run_id=CUT)
    cut = layout.runs_dir / CUT
    rows = len(pd.read_csv(cut / OOF))
    RunWriter(cut).status(oof_rows=rows)  # what the job records when it succeeds
    lines = (cut / OOF).read_text().splitlines(keepends=True)
    (cut / OOF).write_text("".join(lines[: len(lines) - 5]))  # cut at a line boundary: it still parses
    broken = create_run(layout, resolve_config(kind="scan"), run_id=BROKEN)
    (broken / "status.json").write_text('{"state": "succeeded", "progress": "x", "metrics": [1]}')
    return layout


def open_page(layout, page: str, **session) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state[state.PROJECT] = str(layout.root)
    at.run()
    at.switch_page(f"../pages/{page}.py")
    for key, value in session.items():
        at.session_state[key] = value
    return at.run()


def errors_of(at) -> list[str]:
    return [e.value for e in at.error]


def test_runs_page_lists_the_damaged_runs_with_the_file_named(project):
    at = open_page(project, "runs", **{state.ACTIVE_RUN: BROKEN})  # chosen before its status.json was damaged
    assert not at.exception
    table = at.dataframe[0].value.set_index("run_id")
    assert table.loc[BROKEN, "state"] == "damaged" and table.loc[GOOD, "state"] == "succeeded"
    assert not table.loc[BROKEN, "active"] and table.loc[CUT, "active"]  # never the active run: the newest finished
    assert any(f"run {CUT}: oof.csv is damaged" in e for e in errors_of(at))  # the comparison of the two finished
    at.selectbox(key=state.RUN_PICK).set_value(BROKEN).run()
    assert not at.exception
    assert any(e.startswith("status.json is damaged: progress 'x' is not a number") for e in errors_of(at))


@pytest.mark.parametrize("page", ["errors", "browse"])
def test_an_analysis_page_shows_the_cut_short_run_as_damaged_and_the_good_one_whole(project, page):
    at = open_page(project, page)
    assert not at.exception
    picker = at.selectbox(key=state.analysis_run_key(page))
    assert picker.options == [CUT, GOOD] or [o.split(" · ")[0] for o in picker.options] == [CUT, GOOD]
    [error] = errors_of(at)
    assert error.startswith(f"run {CUT}: oof.csv is damaged: has ") and "the file is cut short" in error
    picker.set_value(GOOD).run()
    assert not at.exception
    if page == "errors":  # the good run whole; only its comparison with the cut-short run is refused
        assert {m.label for m in at.metric} >= {"OOF macro-F1"}
        assert [e for e in errors_of(at) if not e.startswith(f"run {CUT}: oof.csv is damaged")] == []
    else:
        assert not at.error and any(f"Run {GOOD}" in c.value for c in at.caption)


@pytest.mark.parametrize("page", ["overview", "issues", "compare", "submissions", "train"])
def test_every_other_page_keeps_working_beside_the_damaged_runs(project, page):
    at = open_page(project, page)
    assert not at.exception
    assert all(e.startswith(("status.json is damaged", f"run {CUT}: oof.csv is damaged")) for e in errors_of(at))


def test_predictions_that_do_not_fit_the_project_are_a_damaged_run_not_a_crash(tmp_path):
    from core.runs.artifacts import RunDamaged
    from core.runs.folder import write_oof
    from workbench import cache

    root = tmp_path / "project"
    build_demo(root, per_class=2)
    layout = open_layout(root)
    run_dir = create_run(layout, resolve_config(kind="scan"), run_id=GOOD)
    write_oof(run_dir, ["a.png", "b.png"], np.zeros(2), np.array([0, 99]), np.full((2, 10), 0.1))  # class 99 of 10
    RunWriter(run_dir).status(state="succeeded")
    with pytest.raises(RunDamaged, match=f"run {GOOD}: its predictions do not fit this project: .*99"):
        cache.run_predictions(run_dir, num_classes=10, test_labels=None)
