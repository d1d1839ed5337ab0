"""`workbench ensemble`: members checked, hard and soft votes, weights, errors named."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from core.project.demo import build_demo


def _write(path: Path, ids, labels, probs=None) -> Path:
    frame = pd.DataFrame({"ID": ids, "target": labels})
    if probs is not None:
        for k, column in enumerate(zip(*probs)):
            frame[f"prob_{k}"] = column
    frame.to_csv(path, index=False)
    return path


def test_hard_and_soft_votes_from_files(tmp_path, run_cli):
    ids = ["a", "b", "c"]
    a = _write(tmp_path / "a.csv", ids, [0, 1, 1], [(0.6, 0.4), (0.4, 0.6), (0.45, 0.55)])
    b = _write(tmp_path / "b.csv", ids, [0, 0, 1], [(0.9, 0.1), (0.8, 0.2), (0.4, 0.6)])
    c = _write(tmp_path / "c.csv", ids[::-1], [0, 1, 1])  # labels only, other row order: c=0, b=1, a=1
    code, out, err = run_cli(["ensemble", str(a), str(b), str(c), "--out", str(tmp_path / "hard.csv")])
    assert code == 0, err
    assert out.strip().splitlines()[-1] == str(tmp_path / "hard.csv")
    hard = pd.read_csv(tmp_path / "hard.csv")
    assert hard["ID"].tolist() == ids and hard["target"].tolist() == [0, 1, 1]
    assert f"{a}: the ensemble changes 0 of 3 predictions" in err
    code, _, err = run_cli(["ensemble", str(a), str(b), str(c), "--out", str(tmp_path / "s.csv"), "--method", "soft"])
    assert code == 1 and "soft voting needs probabilities" in err and str(c) in err
    code, _, err = run_cli(["ensemble", str(a), str(b), "--out", str(tmp_path / "soft.csv"), "--method", "soft"])
    soft = pd.read_csv(tmp_path / "soft.csv")
    assert code == 0 and soft["target"].tolist() == [0, 0, 1] and "prob_1" in soft
    code, _, err = run_cli(["ensemble", str(a), str(b), "--out", str(tmp_path / "w.csv"), "--weights", "1"])
    assert code == 1 and "1 weights for 2 members" in err


def test_with_a_project_members_are_checked_against_its_test_ids(tmp_path, run_cli):
    project = build_demo(tmp_path / "demo", per_class=4).root
    ids = pd.read_csv(project / "sample_submission.csv", dtype=str)["ID"].tolist()
    good = _write(tmp_path / "good.csv", ids, [1] * len(ids))
    short = _write(tmp_path / "short.csv", ids[1:], [1] * (len(ids) - 1))
    out = tmp_path / "out.csv"
    code, _, err = run_cli(["ensemble", str(good), str(short), "--out", str(out), "--project", str(project)])
    assert code == 1 and "short.csv: 1 test ID missing" in err and not out.exists()
    code, _, err = run_cli(["ensemble", str(good), str(good), "--out", str(out), "--project", str(project)])
    assert code == 0 and pd.read_csv(out, dtype={"ID": str})["ID"].tolist() == ids
