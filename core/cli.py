"""The `workbench` command: the same core as the app, for people on ssh.

workbench demo --out DIR
workbench check --project DIR
workbench serve [--project DIR] [--port N]
workbench import-folder SRC --out DIR
workbench scan  --project DIR [--set KEY=VALUE ...]                         last line: the run id
workbench train --project DIR [--config FILE] [--set KEY=VALUE ...] [--detach]  last line: the run id
workbench jobs --project DIR
workbench cancel --project DIR RUN
workbench issues --project DIR [--run RUN ...] [--out CSV]      ranked label issues (CSV)
workbench relabel --project DIR ID LABEL | --drop ID | --keep ID
workbench export --project DIR                                  last line: the new version's path
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path


def _cmd_demo(args: argparse.Namespace) -> int:
    from core.demo import build_demo

    started = time.perf_counter()
    try:
        summary = build_demo(args.out, seed=args.seed)
    except FileExistsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"demo project: {summary.train_images} train images ({summary.flipped} labels flipped on purpose), "
        f"{summary.test_images} noisy test images, {len(summary.class_counts)} classes, "
        f"{time.perf_counter() - started:.1f} s"
    )
    print(summary.root)
    return 0


def _progress_printer(label: str):
    last = [0.0]

    def report(done: int, total: int) -> None:
        now = time.perf_counter()
        if done == total or now - last[0] > 1.0:
            last[0] = now
            print(
                f"\r{label}: {done:,}/{total:,} images", end="\n" if done == total else "", file=sys.stderr, flush=True
            )

    return report


def _cmd_check(args: argparse.Namespace) -> int:
    from core.dataset import format_report, load_dataset

    dataset = load_dataset(args.project, progress=_progress_printer("checking images"))
    print(format_report(dataset))
    return 0 if dataset.report.usable else 1


def _cmd_import(args: argparse.Namespace) -> int:
    from core.importer import FLAT_TEST, import_folder

    try:
        summary = import_folder(args.src, args.out)
    except (FileNotFoundError, FileExistsError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"imported {summary.train_images} train images in {len(summary.classes)} classes"
        + (
            f", {summary.test_images} test images" + (" (labelled)" if summary.test_labelled else "")
            if summary.test_images
            else ""
        )
    )
    for item in summary.skipped:
        if item == FLAT_TEST:
            print(
                "skipped: test/ beside the class folders (move the classes under SRC/train/ to import it as the "
                "test set, or rename it to import it as a class)",
                file=sys.stderr,
            )
        else:
            print(f"skipped (not a class folder of images): {item}", file=sys.stderr)
    print(summary.root)
    return 0


def streamlit_command(project: Path, *, port: int, host: str) -> list[str]:
    """The argv that starts the app; options repeat .streamlit/config.toml so they hold from any folder."""
    import workbench

    app = Path(workbench.__file__).resolve().parent / "app.py"
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
        f"--server.port={port}",
        f"--server.address={host}",
        "--server.headless=true",
        "--server.enableXsrfProtection=true",
        "--server.fileWatcherType=none",
        "--browser.gatherUsageStats=false",
        "--",
        "--project",
        str(project),
    ]


def _cmd_serve(args: argparse.Namespace) -> int:
    from core.project import ProjectError, open_layout
    from core.settings import ensure_demo_project, remember_project

    if args.project:
        try:
            project = open_layout(args.project).root
        except ProjectError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        remember_project(project)
    else:
        print("opening the demo project (built on first use, about 10 s)", file=sys.stderr)
        project = ensure_demo_project()
    command = streamlit_command(project, port=args.port, host=args.host)
    print(f"workbench: http://{args.host}:{args.port}  project: {project}", file=sys.stderr)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print("warning: listening beyond localhost; anyone who can reach this port can read your data", file=sys.stderr)
    os.environ["WORKBENCH_PROJECT"] = str(project)
    os.execv(sys.executable, command)  # replaces this process; no shell involved
    return 0  # pragma: no cover


def _open_project(path: str):
    from core.project import ProjectError, open_layout

    try:
        return open_layout(path)
    except ProjectError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


def _start(args: argparse.Namespace, kind: str) -> int:
    from core.config import ConfigError, resolve_config
    from core.jobs import cancel_job, start_job
    from core.runs import read_status

    layout = _open_project(args.project)
    if layout is None:
        return 1
    try:
        config = resolve_config(kind=kind, file=getattr(args, "config", None), overrides=args.set or [])
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    run_dir = start_job(layout, config)
    run_id = run_dir.name
    if getattr(args, "detach", False):
        print(
            f"started {kind} run in the background; follow it with `workbench jobs --project {layout.root}`",
            file=sys.stderr,
        )
        print(run_id)
        return 0
    print(f"{kind} run {run_id} (Ctrl-C cancels it; log: {run_dir / 'log.txt'})", file=sys.stderr)
    last = ""
    try:
        while True:
            status = read_status(run_dir)
            state = status.get("state", "")
            line = f"{state} {100 * float(status.get('progress', 0)):5.1f}% {status.get('message', '')}"
            if line != last:
                print(line.splitlines()[0] if line else line, file=sys.stderr, flush=True)
                last = line
            if state in ("succeeded", "failed", "cancelled"):
                break
            from core.runs import refresh_liveness

            refresh_liveness(run_dir, status)
            time.sleep(0.5)
    except KeyboardInterrupt:
        print(f"cancelling {run_id} ...", file=sys.stderr)
        cancel_job(run_dir)
        status = read_status(run_dir)
    state = status.get("state")
    if state == "failed":
        print(status.get("traceback") or status.get("message", ""), file=sys.stderr)
    elif state == "succeeded":
        metrics = status.get("metrics", {})
        print("  ".join(f"{k}={v:.4f}" for k, v in metrics.items()), file=sys.stderr)
    print(run_id)
    return 0 if state == "succeeded" else 1


def _cmd_scan(args: argparse.Namespace) -> int:
    return _start(args, "scan")


def _cmd_train(args: argparse.Namespace) -> int:
    return _start(args, "train")


def _cmd_jobs(args: argparse.Namespace) -> int:
    from core.runs import list_runs

    layout = _open_project(args.project)
    if layout is None:
        return 1
    runs = list_runs(layout)
    if not runs:
        print("no runs yet; start one with `workbench scan --project DIR`")
        return 0
    print(f"{'RUN':34} {'KIND':5} {'STATE':10} {'PROGRESS':>8} {'LABELS':9} {'OOF F1':>7} {'TEST F1':>7}  MESSAGE")
    for run in runs:
        status = run.status
        metrics = status.get("metrics") or {}
        oof = f"{metrics['oof_macro_f1']:.4f}" if "oof_macro_f1" in metrics else "-"
        test = f"{metrics['test_macro_f1']:.4f}" if "test_macro_f1" in metrics else "-"
        message = str(status.get("message", "")).splitlines()[0][:60] if status.get("message") else ""
        print(
            f"{run.run_id:34} {run.kind:5} {run.state:10} {100 * float(status.get('progress', 0)):7.1f}% "
            f"{str(status.get('labels', '-')):9} {oof:>7} {test:>7}  {message}"
        )
    return 0


def _cmd_cancel(args: argparse.Namespace) -> int:
    from core.jobs import cancel_job
    from core.runs import find_run

    layout = _open_project(args.project)
    if layout is None:
        return 1
    run = find_run(layout, args.run)
    if run is None:
        print(f"error: no run {args.run!r} in {layout.runs_dir}", file=sys.stderr)
        return 1
    if run.state not in ("queued", "running"):
        print(f"{run.run_id} already {run.state}; nothing to cancel")
        return 0
    state = cancel_job(run.run_dir)
    print(f"{run.run_id} {state}")
    return 0


def _cmd_issues(args: argparse.Namespace) -> int:
    from core.cleaning import DEFAULT_FILTER_BY, issues_for_runs, ranked_issues_csv
    from core.csvio import write_csv_atomic
    from core.runs import find_run

    layout = _open_project(args.project)
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
    started = time.perf_counter()
    try:
        result = issues_for_runs(
            layout,
            run_ids,
            data=not args.labels_only,
            filter_by=args.filter_by or DEFAULT_FILTER_BY,
            progress=lambda m: print(m, file=sys.stderr),
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
    if args.out:
        path = write_csv_atomic(table, Path(args.out).expanduser())
        print(path)
    else:
        table.to_csv(sys.stdout, index=False, lineterminator="\n")
    return 0


def _label_lookup(layout):
    """(ID -> train.csv label, number of classes, class name -> index) for validating CLI labels."""
    from core.csvio import CsvError, read_csv

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


def _cmd_relabel(args: argparse.Namespace) -> int:
    from core.decisions import latest_decision, record_decision

    layout = _open_project(args.project)
    if layout is None:
        return 1
    if args.drop:
        image_id, action, label_text = args.drop, "drop", None
    elif args.keep:
        image_id, action, label_text = args.keep, "keep", None
    elif len(args.target) == 2:
        (image_id, label_text), action = args.target, "relabel"
    else:
        print("error: give ID LABEL, or --drop ID, or --keep ID", file=sys.stderr)
        return 2
    try:
        labels, num_classes, names = _label_lookup(layout)
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
    layout.ensure_work_dir()
    latest = latest_decision(layout.db_path, image_id)
    if latest is None:
        current = int(labels[image_id]) if str(labels[image_id]).isdigit() else None
    else:
        current = latest.old_label if latest.action == "drop" else latest.new_label
    decision = record_decision(
        layout.db_path, image_id, action, old_label=current, new_label=new_label, source="manual"
    )
    print(f"{image_id}: {decision.describe()} (decision {decision.id}, saved)")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from core.csvio import CsvError
    from core.decisions import export_version

    layout = _open_project(args.project)
    if layout is None:
        return 1
    try:
        result = export_version(layout)
    except CsvError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"v{result.version}: {result.rows:,} rows, {result.relabeled:,} relabeled, {result.dropped:,} dropped "
        f"(changes: {result.changes_path})",
        file=sys.stderr,
    )
    if result.ignored:
        print(f"note: {result.ignored} decision(s) name IDs that train.csv does not list; ignored", file=sys.stderr)
    print(result.path)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workbench", description="Error analysis and label cleaning for image-classification projects."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="build the demo project (scikit-learn digits, no download)")
    demo.add_argument("--out", required=True, help="folder to create (absent or empty)")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=_cmd_demo)

    check = sub.add_parser("check", help="validate a project; exit 0 usable, 1 not usable")
    check.add_argument("--project", required=True)
    check.set_defaults(func=_cmd_check)

    serve = sub.add_parser("serve", help="start the app (default: the demo project)")
    serve.add_argument("--project", help="project folder (default: the demo, built on first use)")
    serve.add_argument("--port", type=int, default=8501)
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: localhost only)")
    serve.set_defaults(func=_cmd_serve)

    imp = sub.add_parser("import-folder", help="turn a class-per-subfolder dataset into a project")
    imp.add_argument("src")
    imp.add_argument("--out", required=True)
    imp.set_defaults(func=_cmd_import)

    for name, func, help_text in (
        ("scan", _cmd_scan, "scan run: frozen backbone + k-fold linear model (CPU)"),
        ("train", _cmd_train, "train run: k-fold fine-tuning of a timm model (GPU)"),
    ):
        cmd = sub.add_parser(name, help=help_text)
        cmd.add_argument("--project", required=True)
        if name == "train":
            cmd.add_argument("--config", help="YAML run config; --set overrides it")
            cmd.add_argument("--detach", action="store_true", help="return at once; the job runs on")
        cmd.add_argument("--set", action="append", metavar="KEY=VALUE", help="e.g. train.epochs=3 (repeatable)")
        cmd.set_defaults(func=func)

    jobs = sub.add_parser("jobs", help="runs with their state")
    jobs.add_argument("--project", required=True)
    jobs.set_defaults(func=_cmd_jobs)

    cancel = sub.add_parser("cancel", help="cancel a queued or running job")
    cancel.add_argument("--project", required=True)
    cancel.add_argument("run")
    cancel.set_defaults(func=_cmd_cancel)

    issues = sub.add_parser("issues", help="ranked label issues of a run (cleanlab), as CSV")
    issues.add_argument("--project", required=True)
    issues.add_argument(
        "--run", action="append", help="run id (default: the newest finished); repeat to average runs' probabilities"
    )
    issues.add_argument("--out", help="CSV to write (default: standard output)")
    issues.add_argument(
        "--labels-only", action="store_true", help="skip Datalab (outliers, duplicates, leakage): faster on big sets"
    )
    issues.add_argument(
        "--filter-by",
        help="which rows is_label_issue marks: ranked_calibrated (the default, what the Issues page uses: the lowest "
        "label scores, as many as cleanlab's calibrated estimate of wrong labels) or one of cleanlab's "
        "find_label_issues filters (prune_by_noise_rate, both, ...)",
    )
    issues.set_defaults(func=_cmd_issues)

    relabel = sub.add_parser("relabel", help="record a decision: ID LABEL, --drop ID or --keep ID")
    relabel.add_argument("--project", required=True)
    relabel.add_argument("target", nargs="*", metavar="ID LABEL", help="image ID and its new class (index or name)")
    group = relabel.add_mutually_exclusive_group()
    group.add_argument("--drop", metavar="ID", help="remove the image from train")
    group.add_argument("--keep", metavar="ID", help="the image's label is right (brings a dropped image back)")
    relabel.set_defaults(func=_cmd_relabel)

    export = sub.add_parser("export", help="write the next clean train CSV version; last line: its path")
    export.add_argument("--project", required=True)
    export.set_defaults(func=_cmd_export)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
