"""The analysis pages see label-issue flags and review state once the Issues page produced them."""

from __future__ import annotations

from core.issues.run_issues import issues_for_runs
from core.labels.decisions import record_decision
from core.labels.review import join_review_columns
from core.project.demo import build_demo
from core.project.layout import open_layout
from tests.support.apphelpers import fixture_run


def test_join_review_columns_reads_cached_issues_and_decisions(tmp_path):
    root = tmp_path / "project"
    build_demo(root, per_class=8)
    layout = open_layout(root)
    layout.ensure_work_dir()
    run_id = fixture_run(layout, accuracy=0.8, seed=3, run_id="20260101-000000-scan-aaaa")
    import pandas as pd

    train = pd.read_csv(layout.train_csv)
    table = pd.DataFrame({"split": ["train"] * len(train) + ["test"], "ID": [*train.ID, "te_00001.jpg"]})

    assert join_review_columns(table, layout, run_id).equals(table)  # nothing computed or decided yet

    issues = issues_for_runs(layout, [run_id], data=False)
    first = issues.labels.iloc[0]
    record_decision(layout.db_path, first["ID"], "drop", old_label=int(first["given_label"]))
    joined = join_review_columns(table, layout, run_id).set_index(["split", "ID"])
    flagged = set(issues.labels.loc[issues.labels["is_label_issue"], "ID"])
    assert {i for (s, i), v in joined["is_label_issue"].items() if s == "train" and v is True} == flagged
    assert joined.loc[("train", first["ID"]), "review"] == "drop"
    assert (joined.xs("train")["review"] != "drop").sum() == len(train) - 1
    assert set(joined.xs("train")["review"]) == {"drop", "unreviewed"}
    assert pd.isna(joined.loc[("test", "te_00001.jpg"), "review"])
