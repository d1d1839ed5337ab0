"""The submissions log: logged with a kept copy, scored later, correlated; and from the command line."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from core.predictions.store import predictions_dir
from core.project.demo import build_demo
from core.project.layout import open_layout
from core.runs.catalog import list_runs
from core.submissions.log import (
    SubmissionError,
    file_submission,
    list_submissions,
    log_submission,
    run_submission,
    set_scores,
    validation_vs_leaderboard,
)
from tests.support.apphelpers import fixture_run


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "demo"
    build_demo(root, per_class=4)
    layout = open_layout(root)
    layout.ensure_work_dir()
    ids = pd.read_csv(root / "sample_submission.csv", dtype={"ID": str})["ID"].tolist()
    return layout, ids


def _csv(ids, label: int = 1) -> bytes:
    return pd.DataFrame({"ID": ids, "target": label}).to_csv(index=False).encode()


def test_a_logged_submission_keeps_its_copy_and_takes_scores_later(project):
    layout, ids = project
    raw = _csv(ids)
    first = log_submission(layout, raw, name="ours.csv", produced_by="file ours.csv", note="first try",
                           oof_macro_f1=0.81, test_ids=ids, num_classes=10)  # fmt: skip
    copy = predictions_dir(layout) / first.file
    assert first.id == 1 and first.file.startswith("submitted-") and copy.read_bytes() == raw
    assert first.public_score is None and first.oof_macro_f1 == pytest.approx(0.81)
    scored = set_scores(layout, first.id, public=0.77)
    assert scored.public_score == pytest.approx(0.77) and scored.private_score is None and scored.scored_at
    scored = set_scores(layout, first.id, public=None, private="0.75")  # the private score comes later
    assert scored.public_score == pytest.approx(0.77) and scored.private_score == pytest.approx(0.75)
    second = log_submission(layout, raw, name="ours.csv", produced_by="file ours.csv", test_ids=ids, num_classes=10)
    assert second.file != first.file  # the same name twice: two copies
    log = list_submissions(layout)
    assert log["id"].tolist() == [1, 2] and log["note"].tolist() == ["first try", ""]


def test_bad_submissions_and_scores_are_refused_and_leave_nothing(project):
    layout, ids = project
    with pytest.raises(SubmissionError, match="1 test ID missing"):
        log_submission(layout, _csv(ids[1:]), name="short.csv", produced_by="x", test_ids=ids, num_classes=10)
    assert list_submissions(layout).empty
    assert not predictions_dir(layout).exists() or not list(predictions_dir(layout).iterdir())
    with pytest.raises(SubmissionError, match="no submission 9"):
        set_scores(layout, 9, public=0.5)
    done = log_submission(layout, _csv(ids), name="a.csv", produced_by="x", test_ids=ids, num_classes=10)
    for bad in ("high", float("nan")):
        with pytest.raises(SubmissionError, match="public score must be"):
            set_scores(layout, done.id, public=bad)


def test_a_runs_submission_carries_its_oof_score_and_an_ensemble_its_manifest(project):
    from core.predictions.members import parse_predictions
    from core.predictions.store import save_member

    layout, ids = project
    fixture_run(layout, accuracy=0.8, seed=3, run_id="20260101-000000-scan-aaaa")
    run = list_runs(layout)[0]
    done = run_submission(layout, run, test_ids=ids, num_classes=10)
    assert done.produced_by == "run 20260101-000000-scan-aaaa"
    assert done.oof_macro_f1 == pytest.approx(run.status["metrics"]["oof_macro_f1"])
    member = parse_predictions(_csv(ids, 2), name="blend", test_ids=ids, num_classes=10)
    path = save_member(layout, "blend", member, test_ids=ids, about={"produced_by": "soft vote of a (1), b (2)",
                                                                     "oof_macro_f1": 0.9})  # fmt: skip
    done = file_submission(layout, path, test_ids=ids, num_classes=10)
    assert done.produced_by == "soft vote of a (1), b (2)" and done.oof_macro_f1 == pytest.approx(0.9)


def test_validation_against_the_leaderboard():
    frame = pd.DataFrame({"oof_macro_f1": [0.7, 0.8, 0.9, None], "public_score": [0.6, 0.72, 0.8, 0.9]})
    n, pearson, spearman = validation_vs_leaderboard(frame)
    assert n == 3 and pearson > 0.99 and spearman == pytest.approx(1.0)
    n, pearson, _ = validation_vs_leaderboard(frame.iloc[:2])
    assert n == 2 and math.isnan(pearson)


def test_the_command_line_logs_scores_and_lists(project, run_cli, tmp_path):
    layout, ids = project
    (tmp_path / "sent.csv").write_bytes(_csv(ids))
    root = str(layout.root)
    code, out, err = run_cli(["submissions", "--project", root, "--add", str(tmp_path / "sent.csv"), "--oof", "0.8",
                              "--note", "tta"])  # fmt: skip
    assert code == 0, err
    assert "logged #1" in err
    code, out, err = run_cli(["submissions", "--project", root, "--score", "1", "0.71", "0.69"])
    assert code == 0, err
    log = pd.read_csv(__import__("io").StringIO(out))
    assert log.loc[0, "public_score"] == pytest.approx(0.71) and log.loc[0, "private_score"] == pytest.approx(0.69)
    assert log.loc[0, "note"] == "tta" and log.loc[0, "produced_by"] == "file sent.csv"
    code, _, err = run_cli(["submissions", "--project", root, "--score", "7", "0.5"])
    assert code == 1 and "no submission 7" in err
    code, _, err = run_cli(["submissions", "--project", root, "--run", "nope"])
    assert code == 1 and "no run nope" in err
