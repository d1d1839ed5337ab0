"""AppTest of label health on the Issues page: the headline, the per-class table, the overlapping pair side by side.

The project's run holds `overlapping_problem()` probabilities: classes 0 (T-shirt) and 1 (Shirt) overlap,
the other three are well separated, and 5% of the labels are flipped at random.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.issues.health import label_health
from core.issues.run_issues import run_pred_probs
from core.labels.decisions import current_decisions, record_decision
from core.project.layout import open_layout
from tests.support.apphelpers import APP, galleries
from tests.support.builders import CLASS_COLOURS, overlapping_problem, probs_run, save_png
from workbench import state

OVERLAP_RUN = "20260101-000000-scan-olap"
FASHION = ("T-shirt", "Shirt", "Trouser", "Bag", "Boot")
N_IMAGES = 600


def overlap_project(root: Path, *, n: int = N_IMAGES):
    """A project of n tiny train images img_0000.png... (coloured by their true class, labelled by `given`) and
    one succeeded run holding overlapping_problem(n) as its out-of-fold probabilities; returns the layout."""
    true, given, probs, _ = overlapping_problem(n=n)
    lines = ["ID,target"]
    for i, label in enumerate(given):
        save_png(root / "train" / f"img_{i:04d}.png", CLASS_COLOURS[int(true[i])], size=16, seed=i)
        lines.append(f"img_{i:04d}.png,{int(label)}")
    (root / "train.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    save_png(root / "test" / "test_0.png", CLASS_COLOURS[0], size=16, seed=10_000)
    (root / "sample_submission.csv").write_text("ID,target\ntest_0.png,0\n", encoding="utf-8")
    names = "".join(f"{t},{name}\n" for t, name in enumerate(FASHION))
    (root / "meta.csv").write_text("target,class_name\n" + names, encoding="utf-8")
    layout = open_layout(root)
    layout.ensure_work_dir()
    probs_run(layout, OVERLAP_RUN, given, probs)
    return layout


@pytest.fixture(scope="module")
def overlap_layout(tmp_path_factory):
    return overlap_project(tmp_path_factory.mktemp("overlap") / "project")


@pytest.fixture
def overlap_fresh(overlap_layout):
    """The overlapping project with no decisions (tests share it)."""
    for path in overlap_layout.work_dir.glob("workbench.db*"):
        path.unlink()
    return overlap_layout


def run_health(layout):
    """label_health of the arrays the run holds (its oof.csv, as the page reads it)."""
    _, labels, probs = run_pred_probs([layout.runs_dir / OVERLAP_RUN])
    return label_health(labels, probs)


def issues_app(layout, monkeypatch, tmp_path) -> AppTest:
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "home"))
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state[state.PROJECT] = str(layout.root)
    at.run()
    at.switch_page("../pages/issues.py").run()
    assert not at.exception, at.exception
    return at


def test_the_headline_states_the_estimate_and_names_the_overlapping_pair(overlap_fresh, monkeypatch, tmp_path):
    health = run_health(overlap_fresh)
    assert 10 < health.likely_wrong < health.cleanlab_estimate  # the fixture is what the test is about
    at = issues_app(overlap_fresh, monkeypatch, tmp_path)
    texts = [m.value for m in at.markdown]
    headline = next(t for t in texts if "look wrong" in t)
    share = health.likely_wrong / N_IMAGES
    assert f"~{health.likely_wrong:,} of {N_IMAGES:,} labels ({share:.1%}) look wrong" in headline
    assert "another class with probability ≥ 0.8" in headline
    assert f"Expect about {health.likely_wrong:,} flags" in headline
    assert any(f"Up to {health.cleanlab_estimate:,} by cleanlab's estimate" in c.value for c in at.caption)
    # The flags the queue shows are that estimate.
    assert f"/ {health.likely_wrong:,} flagged" in at.get("progress")[0].proto.text

    pair = health.overlapping.iloc[0]
    assert {int(pair.class_a), int(pair.class_b)} == {0, 1}
    overlapping = [t for t in texts if " overlap**" in t]
    assert overlapping == [
        f"**T-shirt and Shirt overlap**: {int(pair.examples):,} images are plausible in both. Review them side by "
        "side or mark them ambiguous rather than relabelling them."
    ]  # and no other pair: their mix-ups are confident flags (label errors)


def test_the_health_view_lists_classes_and_pairs_with_thumbnails(overlap_fresh, monkeypatch, tmp_path):
    health = run_health(overlap_fresh)
    at = issues_app(overlap_fresh, monkeypatch, tmp_path)
    at.segmented_control(key=state.ISSUES_VIEW).set_value("Label health").run()
    assert not at.exception
    classes = at.dataframe[0].value
    expected = health.classes
    assert list(classes["class"]) == [f"{t} · {FASHION[t]}" for t in expected["target"]]
    assert list(classes["look wrong"]) == list(expected["likely_wrong"])
    assert list(classes["upper bound"]) == list(expected["cleanlab_estimate"])
    assert np.allclose(classes["share"], expected["likely_wrong_share"])
    headers = [m.value for m in at.markdown if "↔" in m.value]
    assert len(headers) == min(5, len(health.overlapping))
    assert headers[0].startswith("**0 · T-shirt ↔ 1 · Shirt**") and headers[0].endswith(":orange-badge[overlap]")
    assert sum("overlap]" in h for h in headers) == 1
    thumbs = galleries(at)["issues_pair_0_1"]
    captions = {item["caption"] for item in thumbs}
    assert captions == {"T-shirt → Shirt", "Shirt → T-shirt"} and len(thumbs) == 8
    assert all(item["src"].startswith("data:image/") for item in thumbs)


def test_a_pair_side_by_side_marks_ambiguous_relabels_and_shows_decisions(overlap_fresh, monkeypatch, tmp_path):
    layout = overlap_fresh
    at = issues_app(layout, monkeypatch, tmp_path)
    at.button(key=state.issues_button_key("pair.0.1.headline")).click().run()  # from the headline
    assert not at.exception
    assert at.segmented_control(key=state.ISSUES_VIEW).value == "Label health"
    assert any(m.value == "#### 0 · T-shirt and 1 · Shirt side by side" for m in at.markdown)
    left, right = at.dataframe[0].value, at.dataframe[1].value
    labels = run_pred_probs([layout.runs_dir / OVERLAP_RUN])
    given = dict(zip(labels[0], labels[1]))
    assert len(left) > 5 and len(right) > 5
    assert {given[i] for i in left["ID"]} == {0} and {given[i] for i in right["ID"]} == {1}
    assert (left["p Shirt"] > left["p T-shirt"]).all() and (right["p T-shirt"] > right["p Shirt"]).all()
    assert left["image"].str.startswith("data:image/").all() and set(left["decision"]) == {""}

    # Select two rows on the left and mark them ambiguous; then relabel one on the right to T-shirt.
    ambiguous = list(left["ID"].iloc[:2])
    at.session_state[state.issues_pair_table_key(0, 1, 0)] = {"selection": {"rows": [0, 1], "columns": []}}
    at.run()
    at.button(key=state.issues_button_key("pair.0.1.ambiguous")).click().run()
    assert not at.exception
    current = current_decisions(layout.db_path).set_index("ID")
    assert current.loc[ambiguous, "action"].tolist() == ["ambiguous", "ambiguous"]
    assert current.loc[ambiguous, "new_label"].tolist() == [0, 0]
    assert any("Marked 2 image(s) labelled T-shirt ambiguous" in s.value for s in at.success)
    left = at.dataframe[0].value
    assert list(left["ID"].iloc[-2:]) == ambiguous and set(left["decision"].iloc[-2:]) == {"ambiguous"}
    assert set(left["decision"].iloc[:-2]) == {""}  # undecided first

    # On the right, one image is kept first (another tab, say): selected with an undecided one, it stays kept.
    kept = record_decision(layout.db_path, right["ID"].iloc[0], "keep", old_label=1)
    at.run()
    right = at.dataframe[1].value
    assert right["ID"].iloc[-1] == kept.image_id and right["decision"].iloc[-1] == "keep"
    relabel = right["ID"].iloc[0]
    rows = {"rows": [0, len(right) - 1], "columns": []}
    at.session_state[state.issues_pair_table_key(1, 0, 1)] = {"selection": rows}
    at.run()
    button = at.button(key=state.issues_button_key("pair.1.0.relabel"))
    assert button.label == "Relabel 1 to T-shirt"
    assert any(c.value.startswith("1 of the selected images are decided already") for c in at.caption)
    button.click().run()
    current = current_decisions(layout.db_path).set_index("ID")
    assert current.loc[relabel, "action"] == "relabel" and current.loc[relabel, "new_label"] == 0
    assert int(current.loc[kept.image_id, "decision_id"]) == kept.id  # never overwritten
    assert any(
        s.value == "Relabelled 1 image(s) from Shirt to T-shirt; 1 skipped (already decided)" for s in at.success
    )
    assert at.dataframe[1].value.set_index("ID").loc[relabel, "decision"] == "relabel -> 0 · T-shirt"
