"""The fit-score job: recipes scored against test on a small demo, its files, its cache keys, its failures."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import core.recipes.fit_job as fit_job
from core.project.dataset import load_dataset
from core.project.demo import build_demo
from core.recipes import fit_cache
from core.recipes.store import list_recipes, save_recipe
from core.runs.status import read_json

PARAMS = fit_cache.FitParams(image_size=64, batch_size=32, train_rows=80, test_rows=60, stat_rows=60)


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory):
    """A ~120-image demo (its test set carries the demo's test noise), with none and document-scan scored."""
    root = tmp_path_factory.mktemp("fit") / "demo"
    build_demo(root, per_class=10, test_fraction=0.4)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WORKBENCH_HOME", str(tmp_path_factory.mktemp("home")))
        scores = fit_job.run_fit_job(root, ["none", "document-scan"], PARAMS)
    return load_dataset(root), scores


def test_a_recipe_that_imitates_the_test_noise_scores_closer_than_none(scored):
    data, scores = scored
    assert set(scores) == {"none", "document-scan"}
    assert scores["none"] < scores["document-scan"] <= 0.05
    status = read_json(fit_cache.status_file(data.layout))
    assert status["state"] == "succeeded" and status["progress"] == 1.0
    assert "none" in status["message"] and "document-scan" in status["message"]


def test_results_are_found_by_their_keys_with_what_still_differs_and_a_map(scored):
    data, scores = scored
    keys = fit_cache.fit_keys(data, list_recipes(data.layout), PARAMS)
    assert {"none", "light", "document-scan", "heavy", "default"} <= set(keys)
    results = fit_cache.fit_results(data.layout, keys)
    assert set(results) == {"none", "document-scan"}
    none, scan = results["none"], results["document-scan"]
    assert math.isclose(none.score, scores["none"]) and none.version and not none.error
    assert "noise" in none.far_off  # the demo's test images are noisy, its train images are not
    assert "noise" not in scan.far_off
    overlay = fit_cache.read_overlay(scan.overlay)
    counts = overlay["set"].value_counts().to_dict()
    n_train, n_test = min(80, len(data.train)), min(60, len(data.test))
    assert counts == {"train": n_train, "copy": n_train, "test": n_test} and n_train > 50 and n_test > 40
    assert np.isfinite(overlay[["x", "y"]].to_numpy()).all()
    assert set(overlay.loc[overlay["set"] == "copy", "ID"]) == set(overlay.loc[overlay["set"] == "train", "ID"])


def test_the_train_vs_test_report_names_the_noise(scored):
    data, _ = scored
    report = fit_cache.read_shift(data.layout, fit_cache.data_key(data, PARAMS))
    assert report is not None and report["auc"] > 0.8
    assert report["train"] == min(80, len(data.train)) and report["test"] == min(60, len(data.test))
    kinds = {k["kind"]: k for k in report["kinds"]}
    assert kinds["noise"]["ks"] >= 0.5


def test_a_changed_recipe_or_other_params_need_a_new_score(scored):
    data, _ = scored
    layout = data.layout
    before = fit_cache.fit_keys(data, list_recipes(layout), PARAMS)
    save_recipe(layout, "mine", "transform:\n  __class_fullname__: Compose\n  p: 1.0\n  transforms:\n"
                "  - __class_fullname__: GaussNoise\n    p: 1.0\n    std_range: [0.05, 0.1]\n")  # fmt: skip
    after = fit_cache.fit_keys(data, list_recipes(layout), PARAMS)
    assert "mine" in after and "mine" not in fit_cache.fit_results(layout, after)
    assert after["document-scan"] == before["document-scan"]
    other = fit_cache.fit_keys(data, list_recipes(layout), fit_cache.FitParams(image_size=96))
    assert other["document-scan"] != before["document-scan"]
    assert not fit_cache.fit_results(layout, other)


def test_a_damaged_result_file_is_marked_not_fatal(tmp_path: Path):
    path = tmp_path / "x-0123.json"
    assert fit_cache.read_result(path, "x") is None
    path.write_text('{"score": ')
    assert "cannot be read" in fit_cache.read_result(path, "x").error
    path.write_text(json.dumps({"score": "nan?", "kinds": [None, {"kind": 3}], "version": "v" * 500}))
    result = fit_cache.read_result(path, "x")
    assert math.isnan(result.score) and result.far_off == [] and len(result.version) <= 40


def test_a_missing_recipe_fails_the_job_with_its_name(scored, tmp_path_factory):
    data, _ = scored
    with pytest.raises(Exception, match="nope"):
        fit_job.run_fit_job(data.layout.root, ["nope"], PARAMS)
    status = read_json(fit_cache.status_file(data.layout))
    assert status["state"] == "failed" and "nope" in status["message"]


def test_start_checks_its_input_and_starts_once(scored, monkeypatch):
    data, _ = scored
    started = []
    monkeypatch.setattr(fit_job, "start_once", lambda module, args, **kw: started.append((module, args)) or True)
    with pytest.raises(ValueError, match="no recipe"):
        fit_job.start_fit(data.layout, [])
    with pytest.raises(Exception, match="name"):
        fit_job.start_fit(data.layout, ["../etc"])
    assert fit_job.start_fit(data.layout, ["none", "heavy"], PARAMS)
    module, args = started[0]
    assert module == "core.recipes.fit_job" and args[args.index("--recipes") + 1] == "none,heavy"
    assert json.loads(args[args.index("--params") + 1])["image_size"] == 64
    with pytest.raises(ValueError, match="train_rows"):
        fit_cache.FitParams(train_rows=1).validate()


def test_the_command_line_scores_and_lists_the_recipes(scored, run_cli, monkeypatch):
    data, _ = scored
    root = str(data.layout.root)
    monkeypatch.setenv("WORKBENCH_HOME", str(data.layout.root.parent / "home"))
    code, out, err = run_cli(["recipes", "--project", root, "--score", "--recipes", "none,nope"])
    assert code == 1 and "no usable recipe nope" in err
    code, out, err = run_cli(["recipes", "--project", root, "--score", "--recipes", "none"])
    assert code == 0, err
    rows = [line.split(",") for line in out.strip().splitlines()]
    assert rows[0] == ["recipe", "version", "fit_score", "far_off", "partly_off"]
    table = {row[0]: row for row in rows[1:]}
    assert {"none", "light", "document-scan", "heavy", "default"} <= set(table)
    assert float(table["none"][2]) < 0 and "noise" in table["none"][3].split()
    assert table["heavy"][2] == ""  # not scored
    assert "train vs test:" in err and "noise: pixel noise" in err
    code, out_again, _ = run_cli(["recipes", "--project", root])  # listing only: nothing recomputed
    assert code == 0 and out_again == out
