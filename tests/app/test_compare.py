"""AppTest of the Compare page: adding CSVs (good and bad), members, agreement, scores, ensemble export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.predictions.store import predictions_dir
from core.project.demo import build_demo
from core.project.layout import open_layout
from tests.support.apphelpers import APP, galleries
from workbench import state


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("compare") / "project"
    build_demo(root, per_class=6)
    layout = open_layout(root)
    layout.ensure_work_dir()
    return layout


@pytest.fixture
def layout(demo):
    folder = predictions_dir(demo)
    if folder.is_dir():
        for path in folder.iterdir():
            path.unlink()
    return demo


def _truth(layout) -> pd.DataFrame:
    ids = pd.read_csv(layout.root / "sample_submission.csv", dtype={"ID": str})[["ID"]]
    return ids.merge(pd.read_csv(layout.root / "test_labels.csv", dtype={"ID": str}), on="ID")


def _mate(layout, name: str, wrong_every: int, *, offset: int = 0, probs: bool = False) -> Path:
    """A teammate's CSV: the hold-out labels, every `wrong_every`-th row (from `offset`) shifted to the next class."""
    frame = _truth(layout)
    rows = (np.arange(len(frame)) + offset) % wrong_every == 0
    frame.loc[rows, "target"] = (frame.loc[rows, "target"] + 1) % 10
    if probs:
        onehot = np.full((len(frame), 10), 0.02)
        onehot[np.arange(len(frame)), frame["target"]] = 0.82
        frame = pd.concat([frame, pd.DataFrame(onehot, columns=[f"prob_{k}" for k in range(10)])], axis=1)
    folder = predictions_dir(layout)
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_csv(folder / f"{name}.csv", index=False)
    return folder / f"{name}.csv"


def _app(layout, monkeypatch, tmp_path) -> AppTest:
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "home"))
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state[state.PROJECT] = str(layout.root)
    at.run()
    at = at.switch_page("../pages/compare.py").run()
    assert not at.exception, at.exception
    return at


def test_without_predictions_the_page_says_how_to_add_them(layout, monkeypatch, tmp_path):
    at = _app(layout, monkeypatch, tmp_path)
    assert any("No predictions yet" in i.value for i in at.info)


def test_files_are_compared_scored_and_a_bad_one_is_named(layout, monkeypatch, tmp_path):
    _mate(layout, "alice", 5)
    _mate(layout, "bob", 3)
    (predictions_dir(layout) / "carol.csv").write_text("ID,target\nnope.png,1\n")
    at = _app(layout, monkeypatch, tmp_path)
    problems = next(d.value for d in at.dataframe if "why" in d.value.columns)
    assert problems["what"].tolist() == ["carol.csv"] and "not a test ID" in problems["why"].iloc[0]
    assert at.multiselect(key=state.COMPARE_MEMBERS).value == ["file:alice", "file:bob"]
    scores = next(
        d.value for d in at.dataframe if "test macro-F1" in d.value.columns and "weight" not in d.value.columns
    )
    assert scores.set_index("member")["test macro-F1"]["alice"] > scores.set_index("member")["test macro-F1"]["bob"]
    metric = {m.label: m.value for m in at.metric}
    assert int(metric["Test images where the members disagree"].split(" of ")[0]) > 0
    only_bob = scores.set_index("member")["wrong where every other member is right"]["bob"]
    at.selectbox(key=state.COMPARE_FOCUS).set_value("wrong:bob").run()
    shown = galleries(at)["compare_disagreements"]
    assert len(shown) == min(48, only_bob) and only_bob > 0  # one page of the gallery
    assert any(f"{only_bob:,} image(s)" in c.value for c in at.caption)
    truth = _truth(layout).set_index("ID")["target"]
    bob = pd.read_csv(predictions_dir(layout) / "bob.csv", dtype={"ID": str}).set_index("ID")["target"]
    assert all(bob[item["id"]] != truth[item["id"]] for item in shown)


def test_an_ensemble_is_saved_as_a_prediction_csv_and_offered_for_download(layout, monkeypatch, tmp_path):
    for offset, name in enumerate(("alice", "bob", "dave")):
        _mate(layout, name, 3, offset=offset, probs=True)  # each wrong on a third of the rows, never the same
    at = _app(layout, monkeypatch, tmp_path)
    at.multiselect(key=state.COMPARE_MEMBERS).set_value(["file:alice", "file:bob", "file:dave"]).run()
    assert at.segmented_control(key=state.ENSEMBLE_METHOD).value == "soft"
    ensemble = {m.label: m.value for m in at.metric}["Ensemble test macro-F1 (hold-out)"]
    assert float(ensemble) == pytest.approx(1.0)  # two of three are right on every row
    at.text_input(key=state.ENSEMBLE_NAME).input("our best").run()
    next(b for b in at.button if b.label == "Save").click().run()
    assert not at.exception
    saved = predictions_dir(layout) / "our_best.csv"
    assert saved.is_file() and any("Saved our_best.csv" in s.value for s in at.success)
    frame = pd.read_csv(saved, dtype={"ID": str})
    assert list(frame.columns[:2]) == ["ID", "target"] and "prob_9" in frame
    assert (frame["target"].to_numpy() == _truth(layout)["target"].to_numpy()).all()
    assert at.get("download_button")  # the saved file, offered with its name


def test_weights_change_the_hard_vote(layout, monkeypatch, tmp_path):
    _mate(layout, "alice", 2)
    _mate(layout, "bob", 3)
    at = _app(layout, monkeypatch, tmp_path)
    at.segmented_control(key=state.ENSEMBLE_METHOD).set_value("hard").run()
    table = next(d.value for d in at.dataframe if "weight" in d.value.columns)
    assert table.set_index("member")["predictions the ensemble changes"]["alice"] == 0  # a tie: the first member
    at.number_input(key=state.ensemble_weight_key("alice")).set_value(0.5).run()
    table = next(d.value for d in at.dataframe if "weight" in d.value.columns)
    assert table.set_index("member")["predictions the ensemble changes"]["bob"] == 0  # bob outweighs alice now
