"""Teammates' predictions: agreement speed at competition scale, and what an ensemble gains on the demo.

    .venv/bin/python bench/predictions.py [--project /tmp/rs/demo] [--members 5]

1. Speed: 10 members x 3,140 test rows x 17 classes (random, seeded): the agreement matrices (share and
   Cohen's kappa) and the disagreement list, as the Compare page computes them; target <= 0.5 s.
2. Ensembles on a project with a labelled hold-out and finished scans of different configurations
   (bench/recipe_scan.py leaves them in /tmp/rs/demo): one member per configuration (scan size, recipe,
   copies, TTA; its newest run), then the test macro-F1 of the best single member, an equal-weight soft
   and hard vote, and greedy forward selection on out-of-fold probabilities (Caruana et al. 2004) with
   its weights. Out-of-fold probabilities come from clean train images; the test images are noisy, so
   what OOF selection prefers need not be what scores on test: both are printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _fixtures import note, report  # noqa: E402

BENCH = "predictions"


def speed() -> None:
    from core.predictions.agreement import agreement, disagreements
    from core.predictions.ensemble import hard_vote, soft_vote

    rng = np.random.default_rng(0)
    n, m, k = 10, 3140, 17
    truth = rng.integers(0, k, m)
    labels = np.where(rng.random((n, m)) < 0.8, truth, rng.integers(0, k, (n, m)))
    probs = rng.dirichlet(np.ones(k), size=(n, m))
    names = [f"member{i}" for i in range(n)]
    ids = [f"t{i}.png" for i in range(m)]
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        agreement(labels, names)
        rows = disagreements(labels, names, ids)
        best = min(best, time.perf_counter() - start)
    report(BENCH, f"agreement + disagreement list, {n} members x {m:,} rows ({len(rows):,} disagree)", best, "s",
           target=0.5)  # fmt: skip
    start = time.perf_counter()
    hard_vote(labels, num_classes=k)
    soft_vote(probs)
    report(BENCH, "hard + soft vote, same members", time.perf_counter() - start, "s")


def ensembles(project: Path, max_members: int) -> None:
    from core.analysis.scores import macro_f1
    from core.predictions.ensemble import greedy_selection, hard_vote, oof_matrix, soft_vote
    from core.predictions.members import PredictionError, run_member
    from core.project.dataset import load_dataset
    from core.runs.catalog import list_runs

    data = load_dataset(project)
    if data.test_labels is None:
        note(f"{project}: no test_labels.csv, no ensemble figures")
        return
    ids = data.test["ID"].astype(str).tolist()
    truth = data.test_labels.set_index("ID")["target"].reindex(ids).to_numpy()
    members, seen = [], set()
    for run in list_runs(data.layout):
        if run.state != "succeeded" or run.kind != "scan":
            continue
        try:
            config = run.config()
            member = run_member(run.run_dir, name=run.run_id, test_ids=ids, num_classes=data.num_classes)
        except (PredictionError, ValueError, OSError):
            continue
        what = (config.scan.image_size, config.aug.recipe, config.scan.copies, config.scan.tta)
        if what in seen or member.oof is None:
            continue
        seen.add(what)
        member.name = (
            f"{config.scan.image_size}px {config.aug.recipe} x{config.scan.copies}{' tta' if config.scan.tta else ''}"
        )
        members.append(member)
        if len(members) == max_members:
            break
    if len(members) < 3:
        note(f"{project}: {len(members)} differently configured scans, 3 needed (run bench/recipe_scan.py first)")
        return
    scores = {m.name: macro_f1(truth, m.labels, num_classes=data.num_classes) for m in members}
    for name, score in scores.items():
        report(BENCH, f"{project.name}: member {name}", score, "", higher_is_better=True)
    best = max(scores.values())
    report(BENCH, f"{project.name}: best single member, test macro-F1", best, "", higher_is_better=True)
    probs = np.stack([m.probs for m in members])
    soft = macro_f1(truth, soft_vote(probs).argmax(1), num_classes=data.num_classes)
    hard = macro_f1(truth, hard_vote(probs.argmax(2), num_classes=data.num_classes), num_classes=data.num_classes)
    report(BENCH, f"{project.name}: soft vote of all {len(members)}, test macro-F1", soft, "", higher_is_better=True)
    report(BENCH, f"{project.name}: hard vote of all {len(members)}, test macro-F1", hard, "", higher_is_better=True)
    _, y, oof = oof_matrix([m.oof for m in members], num_classes=data.num_classes)
    selection = greedy_selection(oof, y, num_classes=data.num_classes, rounds=20)
    greedy = macro_f1(truth, soft_vote(probs, weights=selection.weights).argmax(1), num_classes=data.num_classes)
    picked = ", ".join(f"{m.name} x{c}" for m, c in zip(members, selection.counts) if c)
    report(BENCH, f"{project.name}: greedy on OOF ({picked}; OOF {selection.score:.3f}), test macro-F1", greedy, "",
           higher_is_better=True)  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", default="/tmp/rs/demo")
    parser.add_argument("--members", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"[{BENCH}] os.cpu_count()={os.cpu_count()}, load average {os.getloadavg()[0]:.2f}", flush=True)
    speed()
    if Path(args.project).is_dir():
        ensembles(Path(args.project), args.members)
    else:
        note(f"{args.project} not found: ensemble figures skipped")


if __name__ == "__main__":
    main()
