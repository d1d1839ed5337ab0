"""AppTest of the runs the Issues page averages: its companion scan by default, and the button that adds one."""

from __future__ import annotations

from core.issues.health import label_health
from core.issues.run_issues import run_pred_probs
from core.runs.catalog import list_runs
from tests.app.test_issues_health import OVERLAP_RUN, issues_app, overlap_project
from tests.support.builders import overlapping_problem, probs_run
from workbench import state

COMPANION = "20251231-000000-scan-c128"  # older than OVERLAP_RUN, so OVERLAP_RUN stays the active run


def headline(at) -> str:
    return next(m.value for m in at.markdown if "look wrong" in m.value)


def test_the_page_averages_the_scan_at_the_other_size_by_default(tmp_path, monkeypatch):
    layout = overlap_project(tmp_path / "project", n=300)
    _, given, probs, _ = overlapping_problem(n=300)
    other = probs**4  # a sharper model: more images above the flag threshold, so averaging shows
    probs_run(layout, COMPANION, given, other / other.sum(axis=1, keepdims=True), overrides=["scan.image_size=128"])
    at = issues_app(layout, monkeypatch, tmp_path)
    assert at.multiselect(key=state.issues_average_key(OVERLAP_RUN)).value == [COMPANION]
    _, labels, averaged = run_pred_probs([layout.runs_dir / OVERLAP_RUN, layout.runs_dir / COMPANION])
    expected = label_health(labels, averaged).likely_wrong
    assert f"~{expected} of 300 labels" in headline(at)
    # The user's choice wins: emptied, it stays empty.
    at.multiselect(key=state.issues_average_key(OVERLAP_RUN)).set_value([]).run()
    _, labels, alone = run_pred_probs([layout.runs_dir / OVERLAP_RUN])
    single = label_health(labels, alone).likely_wrong
    assert single != expected and f"~{single} of 300 labels" in headline(at)
    assert not [b for b in at.button if b.label.startswith("Add a")]  # a companion exists


def test_without_a_companion_the_page_offers_to_start_one(tmp_path, monkeypatch):
    from core.runs import jobs

    layout = overlap_project(tmp_path / "project", n=200)
    started = []

    def fake_start(layout_, config, *, run_id=None):
        from core.runs.folder import create_run

        started.append(config)
        return create_run(layout_, config)

    monkeypatch.setattr(jobs, "start_job", fake_start)
    at = issues_app(layout, monkeypatch, tmp_path)
    assert at.multiselect(key=state.issues_average_key(OVERLAP_RUN)).value == []
    button = next(b for b in at.button if b.label == "Add a 128-px scan")
    button.click().run()
    assert not at.exception, at.exception
    assert len(started) == 1 and started[0].kind == "scan" and started[0].scan.image_size == 128
    assert started[0].data.labels == "original"
    assert any("a 128-px scan" in s.value for s in at.success)
    assert sum(r.kind == "scan" for r in list_runs(layout)) == 2
