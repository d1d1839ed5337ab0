"""AppTest of the Submissions page: log a run's submission, type in its score, see the correlation."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core.project.demo import build_demo
from core.project.layout import open_layout
from core.submissions.log import list_submissions, log_submission, set_scores
from tests.support.apphelpers import APP, fixture_run
from workbench import state


@pytest.fixture
def layout(tmp_path):
    root = tmp_path / "project"
    build_demo(root, per_class=6)
    layout = open_layout(root)
    layout.ensure_work_dir()
    fixture_run(layout, accuracy=0.7, seed=1, run_id="20260101-000000-scan-aaaa")
    return layout


def _app(layout, monkeypatch, tmp_path) -> AppTest:
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "home"))
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state[state.PROJECT] = str(layout.root)
    at.run()
    at = at.switch_page("../pages/submissions.py").run()
    assert not at.exception, at.exception
    return at


def test_log_a_runs_submission_then_type_its_score(layout, monkeypatch, tmp_path):
    at = _app(layout, monkeypatch, tmp_path)
    assert any("No submission logged yet" in i.value for i in at.info)
    at.text_input[0].input("first one")
    next(b for b in at.button if b.label == "Log this submission").click().run()
    assert not at.exception
    assert any("Logged #1" in s.value for s in at.success)
    log = list_submissions(layout)
    assert log["produced_by"].tolist() == ["run 20260101-000000-scan-aaaa"] and log["note"].tolist() == ["first one"]
    table = at.dataframe[0].value
    assert table["id"].tolist() == [1] and table["public_score"].isna().all()
    at.number_input[0].set_value(0.8123)
    next(b for b in at.button if b.label == "Save the scores").click().run()
    assert not at.exception
    assert any("Saved #1: public 0.8123" in s.value for s in at.success)
    assert list_submissions(layout)["public_score"].tolist() == [pytest.approx(0.8123)]  # on disk
    assert at.dataframe[0].value["public_score"].tolist() == [pytest.approx(0.8123)]


def test_the_correlation_appears_with_three_scored_submissions(layout, monkeypatch, tmp_path):
    import pandas as pd

    ids = pd.read_csv(layout.root / "sample_submission.csv", dtype={"ID": str})["ID"].tolist()
    raw = pd.DataFrame({"ID": ids, "target": 1}).to_csv(index=False).encode()
    for oof, public in ((0.7, 0.6), (0.8, 0.7), (0.9, 0.82)):
        done = log_submission(layout, raw, name="x.csv", produced_by="file x.csv", oof_macro_f1=oof, test_ids=ids,
                              num_classes=10)  # fmt: skip
        set_scores(layout, done.id, public=public)
    at = _app(layout, monkeypatch, tmp_path)
    text = " ".join(m.value for m in at.markdown)
    assert "Does our validation predict the leaderboard?" in text and "yes, closely" in text
    assert at.get("plotly_chart")
