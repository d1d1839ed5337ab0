"""`workbench issues | relabel | export`: label cleaning from a terminal."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from core.cli.project import open_project


def cmd_issues(args: argparse.Namespace) -> int:
    from core.io.csvfile import write_csv_atomic
    from core.issues.label_issues import DEFAULT_FILTER_BY
    from core.issues.run_issues import issues_for_runs, ranked_issues_csv
    from core.runs.catalog import find_run
    from core.runs.progress import TerminalProgress

    layout = open_project(args.project)
    if layout is None:
        return 1
    run_ids = []
    for name in args.run or [None]:
        run = find_run(layout, name)
        if run is None:
            print(
                f"error: no run {name!r} in {layout.runs_dir}"
                if name
                else "error: no finished run yet; start one with `workbench scan --project DIR`",
                file=sys.stderr,
            )
            return 1
        run_ids.append(run.run_id)
    if not args.run and not args.no_average:  # as the Issues page: with the scans at other sizes
        from core.runs.catalog import companion_scans, list_runs

        run_ids += companion_scans(list_runs(layout), run_ids[0])
    started = time.perf_counter()
    try:
        result = issues_for_runs(
            layout,
            run_ids,
            data=not args.labels_only,
            filter_by=args.filter_by or DEFAULT_FILTER_BY,
            callbacks=TerminalProgress(),  # each stage's message on a line of stderr
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    table = ranked_issues_csv(result)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    flagged = int(table["is_label_issue"].sum())
    print(
        f"{flagged:,} of {len(table):,} train labels flagged by cleanlab (runs: {', '.join(run_ids)}; "
        f"{time.perf_counter() - started:.1f} s)",
        file=sys.stderr,
    )
    if result.data is not None:
        data = result.data.table
        print(
            f"outliers {int(data['is_outlier_issue'].sum())}, near duplicates {int(data['is_near_duplicate_issue'].sum())}, "
            f"leaking into test {int(data['is_leakage_issue'].sum())}, "
            f"rare-class images {int(data['is_class_imbalance_issue'].sum())}",
            file=sys.stderr,
        )
    if args.health:
        from core.issues.health import label_health
        from core.runs.folder import prob_columns

        health = label_health(result.labels["given_label"], result.labels[prob_columns(result.num_classes)])
        _, _, names = label_lookup(layout)
        print(health.summary({index: name for name, index in names.items()}), file=sys.stderr)
    if args.out:
        path = write_csv_atomic(table, Path(args.out).expanduser())
        print(path)
    else:
        table.to_csv(sys.stdout, index=False, lineterminator="\n")
    return 0


def label_lookup(layout):
    """(ID -> train.csv label, number of classes, class name -> index) for validating CLI labels."""
    from core.io.csvfile import CsvError, read_csv

    settings = layout.settings
    try:
        train = read_csv(
            layout.train_csv, encoding=settings.encoding, required_columns=(settings.id_column, settings.target_column)
        ).frame
    except CsvError as exc:
        raise ValueError(str(exc)) from exc
    labels = dict(zip(train[settings.id_column], train[settings.target_column]))
    names: dict[str, int] = {}
    num_classes = 0
    if layout.meta_csv.is_file():
        try:
            meta = read_csv(
                layout.meta_csv, required_columns=(settings.target_column, settings.class_name_column)
            ).frame
            names = {n: int(t) for t, n in zip(meta[settings.target_column], meta[settings.class_name_column])}
            num_classes = len(meta)
        except (CsvError, ValueError):
            names = {}
    if not num_classes:
        num_classes = max((int(t) for t in labels.values() if str(t).isdigit()), default=-1) + 1
    return labels, num_classes, names


def cmd_relabel(args: argparse.Namespace) -> int:
    from core.labels.decisions import latest_decision, record_decision
    from core.project.db import DatabaseError

    layout = open_project(args.project)
    if layout is None:
        return 1
    if args.drop:
        image_id, action, label_text = args.drop, "drop", None
    elif args.keep:
        image_id, action, label_text = args.keep, "keep", None
    elif args.ambiguous:
        image_id, action, label_text = args.ambiguous, "ambiguous", None
    elif len(args.target) == 2:
        (image_id, label_text), action = args.target, "relabel"
    else:
        print("error: give ID LABEL, or --drop ID, --keep ID or --ambiguous ID", file=sys.stderr)
        return 2
    try:
        labels, num_classes, names = label_lookup(layout)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if image_id not in labels:
        print(f"error: {image_id!r} is not an ID of {layout.train_csv.name}", file=sys.stderr)
        return 1
    new_label = None
    if label_text is not None:
        if label_text in names:
            new_label = names[label_text]
        elif label_text.isdigit() and int(label_text) < num_classes:
            new_label = int(label_text)
        else:
            known = f"0..{num_classes - 1}" + (f" or a class name ({', '.join(list(names)[:5])}, ...)" if names else "")
            print(f"error: label {label_text!r} is not a class; use {known}", file=sys.stderr)
            return 1
    try:
        layout.ensure_work_dir()
        latest = latest_decision(layout.db_path, image_id)
        if latest is None:
            current = int(labels[image_id]) if str(labels[image_id]).isdigit() else None
        else:
            current = latest.old_label if latest.action == "drop" else latest.new_label
        decision = record_decision(
            layout.db_path, image_id, action, old_label=current, new_label=new_label, source="manual"
        )
    except (OSError, DatabaseError) as exc:  # disk full, read-only, a damaged workbench.db: one line, no traceback
        return _store_failed(layout, exc)
    _print_notices(layout)
    print(f"{image_id}: {decision.describe()} (decision {decision.id}, saved)")
    return 0


def _store_failed(layout, exc: Exception) -> int:
    """Print why a decision or an export could not be saved (SaveError names the file); exit code 1."""
    from core.io.atomic import SaveError
    from core.project.db import DatabaseError

    _print_notices(layout)
    known = isinstance(exc, SaveError | DatabaseError)
    print(
        f"error: {exc if known else SaveError(getattr(exc, 'filename', None) or layout.work_dir, exc)}", file=sys.stderr
    )
    return 1


def _print_notices(layout) -> None:
    """What opening workbench.db repaired (rebuilt from the exports), as notes on stderr."""
    from core.project.db import take_notices

    for notice in take_notices(layout.db_path):
        print(f"note: {notice}", file=sys.stderr)


def cmd_export(args: argparse.Namespace) -> int:
    """Exit 0 with the version's path as the last stdout line, also when there is nothing new (then the
    newest version's path, and "nothing new since v<N>" on stderr); exit 1 with one line when it fails."""
    from core.io.csvfile import CsvError
    from core.labels.versions import export_version
    from core.project.db import DatabaseError

    layout = open_project(args.project)
    if layout is None:
        return 1
    try:
        result = export_version(layout, leave_out_ambiguous=args.leave_out_ambiguous)
    except CsvError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (OSError, DatabaseError) as exc:
        return _store_failed(layout, exc)
    _print_notices(layout)
    if result.nothing_new:
        print(f"nothing new since v{result.version}: no decision changes its labels; nothing written", file=sys.stderr)
        print(result.path)
        return 0
    ambiguous = f"{result.ambiguous:,} ambiguous" + (
        " left out" if result.ambiguous_left_out else " kept with their label" if result.ambiguous else ""
    )
    print(
        f"v{result.version}: {result.rows:,} rows, {result.relabeled:,} relabeled, {result.dropped:,} dropped, "
        f"{ambiguous} (changes: {result.changes_path})",
        file=sys.stderr,
    )
    if result.ignored:
        print(f"note: {result.ignored} decision(s) name IDs that train.csv does not list; ignored", file=sys.stderr)
    print(result.path)
    return 0
