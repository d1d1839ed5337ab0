"""core.runs.catalog: which finished scans the label issues average by default, and the scan to add."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.config import resolve_config
from core.issues.label_issues import label_issues
from core.issues.run_issues import run_pred_probs
from core.runs.catalog import companion_scan_config, companion_scans, list_runs
from tests.support.builders import noisy_problem, probs_run


def test_companions_are_the_newest_scan_of_each_other_size_on_the_same_labels(layout):
    _, given, probs, _ = noisy_problem(n=60, seed=1)
    probs_run(layout, "20260101-000001-scan-a224", given, probs)
    probs_run(layout, "20260101-000002-scan-b128", given, probs, overrides=["scan.image_size=128"])
    probs_run(layout, "20260101-000003-scan-c128", given, probs, overrides=["scan.image_size=128"])
    probs_run(layout, "20260101-000004-scan-d224", given, probs)  # the active one
    probs_run(layout, "20260101-000005-scan-e064", given, probs, overrides=["scan.image_size=64"], labels="v1")
    runs = list_runs(layout)
    # 128 px: the newest of the two; the other 224-px scan is the active run's own setting; the 64-px
    # scan was trained on other labels (its "given" labels are not the active run's).
    assert companion_scans(runs, "20260101-000004-scan-d224") == ["20260101-000003-scan-c128"]
    assert companion_scans(runs, "20260101-000005-scan-e064") == []
    assert companion_scans(runs, "no-such-run") == []


def test_a_scan_whose_config_is_damaged_is_not_averaged(layout):
    _, given, probs, _ = noisy_problem(n=60, seed=1)
    probs_run(layout, "20260101-000001-scan-a128", given, probs, overrides=["scan.image_size=128"])
    probs_run(layout, "20260101-000002-scan-b224", given, probs)
    (layout.runs_dir / "20260101-000001-scan-a128" / "config.yaml").write_text("scan: [not, a, mapping\n")
    assert companion_scans(list_runs(layout), "20260101-000002-scan-b224") == []


def test_the_companion_config_is_the_same_scan_at_the_other_size():
    config = resolve_config(kind="scan", overrides=["data.folds=3", "data.labels=v2"])
    companion = companion_scan_config(config)
    assert companion.scan.image_size == 128 and companion.data == config.data
    assert companion.scan.backbone == config.scan.backbone and companion.kind == "scan"
    assert companion_scan_config(companion).scan.image_size == 224


def test_cli_issues_averages_the_companion_scan_unless_told_not_to(layout, run_cli, tmp_path):
    _, given, probs, _ = noisy_problem(n=80, seed=2)
    other = np.roll(probs, 1, axis=1)
    probs_run(layout, "20260101-000001-scan-a128", given, other, overrides=["scan.image_size=128"])
    probs_run(layout, "20260101-000002-scan-b224", given, probs)
    out = tmp_path / "issues.csv"
    code, _, stderr = run_cli(["issues", "--project", str(layout.root), "--labels-only", "--out", str(out)])
    assert code == 0, stderr
    assert "runs: 20260101-000002-scan-b224, 20260101-000001-scan-a128" in stderr
    ids, labels, averaged = run_pred_probs(
        [layout.runs_dir / r for r in ("20260101-000002-scan-b224", "20260101-000001-scan-a128")]
    )
    expected = label_issues(labels, averaged, ids=ids).set_index("ID")["label_score"]
    written = pd.read_csv(out, dtype={"ID": str}).set_index("ID")["label_score"]
    np.testing.assert_allclose(written.loc[expected.index].to_numpy(), expected.to_numpy(), atol=1e-6)
    code, _, stderr = run_cli(
        ["issues", "--project", str(layout.root), "--labels-only", "--no-average", "--out", str(out)]
    )
    assert code == 0 and "(runs: 20260101-000002-scan-b224;" in stderr
