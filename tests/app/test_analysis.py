"""AppTest of the Browse, Errors and Embeddings pages on fixture runs (artifacts written through core.runs).

The UMAP projection is written straight into the cache (core.embeddings.projection_job.write_projection), so no
test computes one; the page's job start is replaced where a test needs a missing projection.
"""

from __future__ import annotations

import json
import re
import time

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import core.embeddings.projection_job as projection
import core.runs.status as job_status
from core.analysis.predictions import labelled, prediction_table
from core.analysis.scores import confused_pairs, confusion_counts, per_class_scores
from core.analysis.two_runs import run_disagreements
from core.io.atomic import write_json_atomic
from core.project.demo import build_demo
from core.project.layout import open_layout
from core.runs.folder import read_oof, read_test_probs
from tests.support.apphelpers import APP, fixture_run, galleries
from workbench import state

K = 10
OLD, NEW = "20260101-000000-scan-aaaa", "20260102-000000-scan-bbbb"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("analysis") / "project"
    build_demo(root, per_class=8)
    layout = open_layout(root)
    layout.ensure_work_dir()
    fixture_run(layout, accuracy=0.4, seed=1, run_id=OLD)
    fixture_run(layout, accuracy=0.8, seed=2, run_id=NEW)
    # The newest run's default projection, as the job would have left it.
    run_dir = layout.runs_dir / NEW
    ids = pd.read_csv(run_dir / "embeddings_ids.csv", dtype=str)
    xy = np.random.default_rng(0).normal(size=(len(ids), 2))
    projection.write_projection(
        projection.projection_file(layout.cache_dir, run_dir, projection.ProjectionParams()), ids.ID, ids.split, xy
    )
    return layout


def table_of(layout, run_id: str) -> pd.DataFrame:
    run_dir = layout.runs_dir / run_id
    truth = pd.read_csv(layout.test_labels_csv, dtype={"ID": str})
    return prediction_table(read_oof(run_dir), read_test_probs(run_dir), truth, num_classes=K)


def open_page(layout, page: str, **session) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state[state.PROJECT] = str(layout.root)
    at.run()
    at.switch_page(f"../pages/{page}.py")
    for key, value in session.items():
        at.session_state[getattr(state, key)] = value
    return at.run()


# ---------------------------------------------------------------- Browse


def test_browse_shows_the_newest_run_most_wrong_first(project):
    at = open_page(project, "browse")
    assert not at.exception
    table = table_of(project, NEW)
    train = table.loc[table["split"] == "train"].sort_values(["loss", "ID"], ascending=[False, True])
    items = galleries(at)["browse"]
    assert len(items) == 48 and any(f"{len(train):,} image(s)" in c.value for c in at.caption)
    assert [i["id"] for i in items] == train["ID"].tolist()[:48]
    first = train.iloc[0]
    names = dict(pd.read_csv(project.meta_csv).values)
    assert items[0]["caption"] == f"{names[first.given]} → {names[first.predicted]}"
    assert items[0]["sub"] == f"{first.confidence:.0%} · {first.ID}"
    assert items[0]["tone"] == ("good" if first.correct else "bad")


def test_browse_filters_by_true_and_predicted_class_outcome_and_confidence(project):
    table = table_of(project, NEW)
    at = open_page(
        project,
        "browse",
        BROWSE_OUTCOME="wrong",
        BROWSE_CONFIDENCE=(0.5, 1.0),
        BROWSE_SORT="id",
    )
    wrong = table.loc[(table["split"] == "train") & ~table["correct"].astype(bool) & (table["confidence"] >= 0.5)]
    items = galleries(at)["browse"]
    assert [i["id"] for i in items] == sorted(wrong["ID"])[:48]
    assert {i["tone"] for i in items} == {"bad"}
    true_class, predicted_class = int(wrong["given"].iloc[0]), int(wrong["predicted"].iloc[0])
    at.multiselect(key=state.BROWSE_TRUE).set_value([true_class])
    at.multiselect(key=state.BROWSE_PREDICTED).set_value([predicted_class]).run()
    expected = wrong.loc[(wrong["given"] == true_class) & (wrong["predicted"] == predicted_class), "ID"]
    assert [i["id"] for i in galleries(at)["browse"]] == sorted(expected)


def test_browse_test_images_with_their_predictions(project):
    at = open_page(project, "browse", BROWSE_SPLIT="test", BROWSE_SORT="confidence_high")
    table = table_of(project, NEW)
    test = table.loc[table["split"] == "test"].sort_values(["confidence", "ID"], ascending=[False, True])
    assert [i["id"] for i in galleries(at)["browse"]] == test["ID"].tolist()[:48]


# ---------------------------------------------------------------- Errors


def test_errors_headline_per_class_and_pairs(project):
    at = open_page(project, "errors")
    assert not at.exception
    stored = json.loads((project.runs_dir / NEW / "status.json").read_text())["metrics"]
    shown = {m.label: m.value for m in at.metric}
    assert shown["OOF macro-F1"] == f"{stored['oof_macro_f1']:.4f}"
    assert shown["Test accuracy"] == f"{stored['test_accuracy']:.4f}"
    train = labelled(table_of(project, NEW), "train")
    labels, predicted = train["given"].to_numpy(int), train["predicted"].to_numpy(int)
    report = per_class_scores(labels, predicted, num_classes=K, worst_first=True)
    per_class = at.dataframe[0].value
    assert per_class["f1"].tolist() == pytest.approx(report["f1"].tolist())
    assert per_class["class"].iloc[0].startswith(f"{report['target'].iloc[0]} · ")
    pairs = confused_pairs(confusion_counts(labels, predicted, num_classes=K), top=10)
    assert at.dataframe[1].value["images"].tolist() == pairs["count"].tolist()
    assert "errors_cell" not in " ".join(galleries(at))  # nothing clicked yet


def test_errors_cell_opens_exactly_its_images(project):
    train = labelled(table_of(project, NEW), "train")
    pairs = confused_pairs(
        confusion_counts(train["given"].to_numpy(int), train["predicted"].to_numpy(int), num_classes=K), top=1
    )
    true, pred = int(pairs["true"].iloc[0]), int(pairs["predicted"].iloc[0])
    at = open_page(project, "errors", ERRORS_CELL=[true, pred])
    members = train.loc[(train["given"] == true) & (train["predicted"] == pred)].sort_values(
        "confidence", ascending=False
    )
    items = galleries(at)[f"errors_cell_{true}_{pred}"]
    assert [i["id"] for i in items] == members["ID"].tolist()
    assert any(f"{len(members):,} image(s)" in m.value for m in at.markdown)
    # The same cell on the test hold-out, and as row shares.
    at.session_state[state.ERRORS_SET] = "test"
    at.toggle(key=state.ERRORS_NORMALISE).set_value(True).run()
    test = labelled(table_of(project, NEW), "test")
    expected = test.loc[(test["given"] == true) & (test["predicted"] == pred), "ID"]
    assert len(expected) and sorted(i["id"] for i in galleries(at)[f"errors_cell_{true}_{pred}"]) == sorted(expected)
    z = values(json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]["z"])
    totals = z.sum(axis=1)
    assert np.allclose(totals[totals > 0], 1.0)


def values(field) -> np.ndarray:
    """A plotly JSON array: a plain list, or a typed array {dtype, bdata (base64)[, shape]}."""
    if not isinstance(field, dict):
        return np.asarray(field)
    import base64

    flat = np.frombuffer(base64.b64decode(field["bdata"]), dtype=field["dtype"])
    shape = field.get("shape")
    return flat.reshape([int(s) for s in str(shape).split(",")]) if shape else flat


def test_errors_two_runs_right_and_wrong_both_ways(project):
    at = open_page(project, "errors")
    tables = {"A": table_of(project, NEW), "B": table_of(project, OLD)}  # A: the active (newest) run
    a_only, b_only = run_disagreements(labelled(tables["A"], "train"), labelled(tables["B"], "train"))
    assert len(a_only) and len(b_only)
    assert [t.label for t in at.tabs] == [f"A right, B wrong ({len(a_only):,})", f"B right, A wrong ({len(b_only):,})"]
    found = galleries(at)
    for gallery_name, only, wrong in (("errors_only_B", a_only, "B"), ("errors_only_A", b_only, "A")):
        # Each tab shows the wrong run's prediction, its most confident first.
        rows = tables[wrong].loc[tables[wrong]["ID"].isin(only["ID"]) & (tables[wrong]["split"] == "train")]
        expected = rows.sort_values(["confidence", "ID"], ascending=[False, True])["ID"].tolist()[:24]
        assert [i["id"] for i in found[gallery_name]] == expected
        assert {i["tone"] for i in found[gallery_name]} == {"bad"}


# ---------------------------------------------------------------- Embeddings


def test_embeddings_page_reads_the_cached_projection(project):
    at = open_page(project, "embeddings")
    assert not at.exception
    assert not at.progress  # cached: no job, no progress bar
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    traces = spec["data"]
    ids = pd.read_csv(project.runs_dir / NEW / "embeddings_ids.csv")
    assert {t["type"] for t in traces} == {"scattergl" if len(ids) > 1000 else "scatter"}
    rows = np.concatenate([values(t["customdata"]) for t in traces])
    assert sorted(rows.tolist()) == list(range(len(ids)))  # every image once
    assert [t["name"].split(" (")[0] for t in traces] == [f"{k} · {n}" for k, n in pd.read_csv(project.meta_csv).values]
    at.selectbox(key=state.EMB_COLOUR).set_value("split").run()
    traces = json.loads(at.get("plotly_chart")[0].proto.spec)["data"]
    assert [t["name"] for t in traces] == [
        f"train ({(ids.split == 'train').sum():,})",
        f"test ({(ids.split == 'test').sum():,})",
    ]


def test_embeddings_page_starts_the_job_once_and_shows_its_progress(project, monkeypatch):
    started = []

    def fake_start(run_dir, out, *, params):
        started.append(params)
        write_json_atomic(
            projection.status_file(out),
            {
                "state": "running",
                "pid": None,
                "started": time.time() - 3,
                "progress": 0.4,
                "message": "UMAP layout: epoch 80/200",
            },
        )
        return True

    monkeypatch.setattr(projection, "start_projection", fake_start)
    monkeypatch.setattr(job_status, "pid_alive", lambda pid, identity=None: True)
    at = open_page(project, "embeddings", EMB_NEIGHBOURS=7)
    assert [p.n_neighbors for p in started] == [7]
    text = at.progress[0].proto.text
    assert re.search(r"epoch 80/200 · [34] s$", text) and at.progress[0].value == 40  # elapsed since the start
    assert not at.get("plotly_chart")
    at.run()
    assert len(started) == 1  # running: not started again


def test_embeddings_page_shows_a_failed_job_with_a_retry(project):
    run_dir = project.runs_dir / NEW
    params = projection.ProjectionParams(n_neighbors=9)
    out = projection.projection_file(project.cache_dir, run_dir, params)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(
        projection.status_file(out),
        {"state": "failed", "message": "MemoryError: out of memory", "traceback": "Traceback ...\nMemoryError"},
    )
    at = open_page(project, "embeddings", EMB_NEIGHBOURS=9)
    assert any("out of memory" in e.value for e in at.error)
    assert any(b.label == "Try again" for b in at.button)


# ---------------------------------------------------------------- components, without a page


def test_confusion_figure_cells_name_their_true_and_predicted_class():
    from workbench.components.confusion import confusion_figure

    matrix = np.array([[5, 1, 0], [2, 7, 0], [0, 3, 4]])
    names = {0: "cat", 1: "dog", 2: "bird"}
    heatmap, cells = confusion_figure(matrix, names, normalise=True).data
    assert heatmap.type == "heatmap" and np.allclose(np.asarray(heatmap.z).sum(axis=1), 1.0)
    assert heatmap.text[1][0] == "22%"  # 2 of 9
    for x, y, (true, pred, count, share) in zip(cells.x, cells.y, cells.customdata):
        assert share == pytest.approx(count / matrix[int(true)].sum())
        assert (y, x) == (f"{int(true)} · {names[int(true)]}", f"{int(pred)} · {names[int(pred)]}")
        assert count == matrix[int(true), int(pred)]
    assert len(cells.x) == 9 and cells.type == "scatter"


def test_embedding_map_offers_a_label_issue_colour_only_when_the_score_exists():
    from workbench.components.embedding_map import colour_options, embedding_figure

    points = pd.DataFrame(
        {
            "ID": ["a", "b", "c"],
            "split": ["train", "train", "test"],
            "x": [0.0, 1, 2],
            "y": [0.0, 1, 2],
            "given": pd.array([0, 1, pd.NA], dtype="Int64"),
            "predicted": [0, 0, 1],
            "correct": pd.array([True, False, pd.NA], dtype="boolean"),
        }
    )
    assert "label_score" not in colour_options(points)
    by_outcome = embedding_figure(points, colour="outcome", class_names={0: "cat", 1: "dog"})
    assert [(t.name, list(t.customdata)) for t in by_outcome.data] == [
        ("correct (1)", [0]),
        ("wrong (1)", [1]),
        ("unlabelled (1)", [2]),
    ]
    scored = points.assign(label_score=[0.9, 0.1, np.nan])
    assert colour_options(scored)["label_score"] == "label-issue score"
    (trace,) = embedding_figure(scored, colour="label_score", class_names={0: "cat", 1: "dog"}).data
    assert list(trace.marker.color[:2]) == [0.9, 0.1] and trace.marker.showscale
