"""`workbench ensemble`: teammates' prediction CSVs combined into one submission, from a terminal."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.io.text import shown


def add_ensemble_command(sub) -> None:
    ensemble = sub.add_parser(
        "ensemble", help="combine prediction CSVs (hard or soft vote, weights) into one; last line: the CSV written"
    )
    ensemble.add_argument("members", nargs="+", metavar="CSV", help="prediction CSVs: ID,target[,prob_0..]")
    ensemble.add_argument("--out", required=True, help="the ensemble's CSV (ID,target, and probabilities for soft)")
    ensemble.add_argument("--project", help="check every member against this project's test IDs and classes")
    ensemble.add_argument("--method", choices=("hard", "soft"), default="hard", help="hard (default) or soft vote")
    ensemble.add_argument("--weights", help="comma-separated, one per member (default: equal)")
    ensemble.set_defaults(func=cmd_ensemble)


def _ids_and_classes(args: argparse.Namespace) -> tuple[list[str], int]:
    """The project's test IDs and class count, or the first member's IDs and the classes its files imply."""
    import pandas as pd

    from core.predictions.members import PredictionError

    if args.project:
        from core.cli.project import open_project
        from core.project.dataset import load_dataset

        layout = open_project(args.project)
        if layout is None:
            raise PredictionError(f"{args.project} is not a project")
        data = load_dataset(layout.root)
        if not data.report.usable or data.test.empty:
            raise PredictionError(f"{layout.root}: no usable test set (`workbench check` says why)")
        return data.test["ID"].astype(str).tolist(), data.num_classes
    classes = 0
    ids: list[str] = []
    for path in args.members:
        try:
            frame = pd.read_csv(path, dtype=str, nrows=200_000)
        except (OSError, ValueError, pd.errors.ParserError) as exc:
            raise PredictionError(f"{path}: cannot be read: {exc}") from exc
        probs = [c for c in frame.columns if str(c).startswith("prob_")]
        targets = pd.to_numeric(frame.get("target", pd.Series(dtype=str)), errors="coerce")
        classes = max(classes, len(probs), int(targets.max()) + 1 if targets.notna().any() else 0)
        if not ids and "ID" in frame:
            ids = frame["ID"].astype(str).str.strip().tolist()
    return ids, classes


def cmd_ensemble(args: argparse.Namespace) -> int:
    import numpy as np

    from core.io.atomic import write_text_atomic
    from core.predictions.ensemble import changed, hard_vote, soft_vote
    from core.predictions.members import Member, PredictionError, member_csv, parse_predictions

    try:
        weights = [float(w) for w in args.weights.split(",")] if args.weights else None
        test_ids, num_classes = _ids_and_classes(args)
        members = []
        for path in args.members:
            try:
                raw = Path(path).read_bytes()
            except OSError as exc:
                raise PredictionError(f"{path}: cannot be read: {exc.strerror or exc}") from exc
            members.append(parse_predictions(raw, name=path, test_ids=test_ids, num_classes=num_classes))
        labels = np.stack([m.labels for m in members])
        if args.method == "soft":
            without = [m.name for m in members if m.probs is None]
            if without:
                raise PredictionError(f"soft voting needs probabilities; these have none: {', '.join(without)}")
            probs = soft_vote(np.stack([m.probs for m in members]), weights=weights)
            result = Member("ensemble", probs.argmax(axis=1), probs, source="ensemble")
        else:
            result = Member("ensemble", hard_vote(labels, weights=weights, num_classes=num_classes), None, "ensemble")
    except (PredictionError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for member, count in zip(members, changed(result.labels, labels)):
        print(f"{member.name}: the ensemble changes {int(count):,} of {len(test_ids):,} predictions", file=sys.stderr)
    try:
        out = write_text_atomic(Path(args.out), member_csv(result, test_ids))
    except OSError as exc:
        print(f"error: {args.out}: cannot be written: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(out)
    return 0


def add_submissions_command(sub) -> None:
    submissions = sub.add_parser(
        "submissions", help="the submissions log (CSV); --add a file or --run, --score ID PUBLIC [PRIVATE]"
    )
    submissions.add_argument("--project", required=True)
    what = submissions.add_mutually_exclusive_group()
    what.add_argument("--add", metavar="CSV", help="log a submitted prediction CSV (a copy is kept)")
    what.add_argument("--run", metavar="RUN", help="log a run's submission.csv (with its OOF macro-F1)")
    what.add_argument("--score", nargs="+", metavar="X", help="ID PUBLIC [PRIVATE]: the leaderboard's scores")
    submissions.add_argument("--note", default="", help="with --add / --run: what was special about it")
    submissions.add_argument("--oof", type=float, help="with --add: its OOF macro-F1, when you know it")
    submissions.set_defaults(func=cmd_submissions)


def cmd_submissions(args: argparse.Namespace) -> int:
    from core.cli.project import open_project
    from core.project.dataset import load_dataset
    from core.runs.catalog import find_run
    from core.submissions.log import (
        SubmissionError,
        list_submissions,
        log_submission,
        run_submission,
        set_scores,
        validation_vs_leaderboard,
    )

    layout = open_project(args.project)
    if layout is None:
        return 1
    try:
        if args.add or args.run:
            data = load_dataset(layout.root)
            if not data.report.usable or data.test.empty:
                raise SubmissionError(f"{layout.root}: no usable test set (`workbench check` says why)")
            ids = data.test["ID"].astype(str).tolist()
            if args.add:
                try:
                    raw = Path(args.add).read_bytes()
                except OSError as exc:
                    raise SubmissionError(f"{args.add}: cannot be read: {exc.strerror or exc}") from exc
                done = log_submission(layout, raw, name=Path(args.add).name, produced_by=f"file {Path(args.add).name}",
                                      note=args.note, oof_macro_f1=args.oof, test_ids=ids,
                                      num_classes=data.num_classes)  # fmt: skip
            else:
                run = find_run(layout, args.run)
                if run is None:
                    raise SubmissionError(f"no run {shown(args.run)} in {layout.runs_dir}")
                done = run_submission(layout, run, note=args.note, test_ids=ids, num_classes=data.num_classes)
            print(f"logged #{done.id}: {done.file}", file=sys.stderr)
        elif args.score:
            if len(args.score) not in (2, 3):
                raise SubmissionError("--score takes ID PUBLIC [PRIVATE]")
            try:
                submission_id = int(args.score[0])
            except ValueError as exc:
                raise SubmissionError(f"--score: the ID must be a number, got {shown(args.score[0])}") from exc
            private = args.score[2] if len(args.score) == 3 else None
            set_scores(layout, submission_id, public=args.score[1], private=private)
    except (SubmissionError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    log = list_submissions(layout)
    print(log.drop(columns=["sha256"]).to_csv(index=False), end="")
    n, pearson, spearman = validation_vs_leaderboard(log)
    if n >= 3 and pearson == pearson:
        print(f"OOF macro-F1 vs public score over {n} submissions: Pearson r {pearson:.2f}, Spearman {spearman:.2f}",
              file=sys.stderr)  # fmt: skip
    return 0


def add_predict_command(sub) -> None:
    predict = sub.add_parser(
        "predict", help="a run's predictions (with probabilities) for the test set or a folder; last line: the CSV"
    )
    predict.add_argument("--project", required=True)
    predict.add_argument("--run", help="a run id (default: the newest finished run)")
    predict.add_argument("--tta", action="store_true", help="average the 8 rotations / mirror images (or train.tta)")
    predict.add_argument("--images", metavar="FOLDER", help="predict these images instead of the test set")
    predict.add_argument("--out", help="the CSV (default for the test set: .workbench/predictions/<run>[-tta].csv)")
    predict.set_defaults(func=cmd_predict)


def cmd_predict(args: argparse.Namespace) -> int:
    import pandas as pd

    from core.cli.project import open_project
    from core.io.atomic import write_text_atomic
    from core.io.images import ImageError
    from core.predictions.members import Member, member_csv
    from core.predictions.predict import PredictError, image_paths, predict_run
    from core.predictions.store import predictions_dir, safe_name
    from core.project.dataset import load_dataset
    from core.runs.catalog import find_run
    from core.runs.progress import TerminalProgress

    layout = open_project(args.project)
    if layout is None:
        return 1
    data = load_dataset(layout.root)
    run = find_run(layout, args.run)
    try:
        if not data.report.usable:
            raise PredictError(f"{layout.root} cannot be used; `workbench check` says why")
        if run is None or run.state != "succeeded":
            raise PredictError(f"no finished run {shown(args.run)}" if args.run else "no finished run yet")
        if args.images:
            paths = image_paths(args.images)
            ids = [p.name for p in paths]
            if not args.out:
                raise PredictError("--out is needed with --images")
        else:
            paths, ids = data.test["path"].tolist(), data.test["ID"].astype(str).tolist()
        if not paths:
            raise PredictError(f"no image to predict in {args.images or layout.test_dir}")
        probs = predict_run(run.run_dir, paths, num_classes=data.num_classes, tta=args.tta, cache_dir=layout.cache_dir,
                            callbacks=TerminalProgress("predicting"))  # fmt: skip
        out = Path(args.out) if args.out else None
        if out is None:
            predictions_dir(layout).mkdir(parents=True, exist_ok=True)
            out = predictions_dir(layout) / f"{safe_name(run.run_id + ('-tta' if args.tta else ''))}.csv"
        member = Member(run.run_id, probs.argmax(axis=1), probs.astype("float64"), source=f"run {run.run_id}")
        write_text_atomic(out, member_csv(member, ids))
    except (PredictError, ImageError, ValueError, OSError) as exc:
        print(f"error: {shown(exc, 600)}", file=sys.stderr)
        return 1
    counts = pd.Series(member.labels).value_counts().sort_index()
    print(f"{len(ids):,} images predicted by run {run.run_id}{' with TTA' if args.tta else ''}; "
          f"classes: {', '.join(f'{k}: {v}' for k, v in counts.items())}", file=sys.stderr)  # fmt: skip
    print(out)
    return 0
