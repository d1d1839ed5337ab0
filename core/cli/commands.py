"""The `workbench` command: the same core as the app, for people on ssh.

workbench demo --out DIR
workbench check --project DIR
workbench serve [--project DIR] [--port N]
workbench import-folder SRC --out DIR
workbench scan  --project DIR [--set KEY=VALUE ...]                         last line: the run id
workbench train --project DIR [--config FILE] [--set KEY=VALUE ...] [--detach]  last line: the run id
workbench jobs --project DIR
workbench cancel --project DIR RUN
workbench issues --project DIR [--run RUN ...] [--out CSV] [--health]   ranked label issues (CSV); label health
workbench relabel --project DIR ID LABEL | --drop ID | --keep ID | --ambiguous ID
workbench export --project DIR [--leave-out-ambiguous]          last line: the new version's path
                                          (nothing new since the newest: "nothing new since v<N>" on stderr,
                                          nothing written, exit 0, last line: that version's path)
workbench expand --project DIR --recipe NAME --copies K [--labels SPEC] [--workers W] [--name NAME]
                                                                last line: the expansion's folder
workbench recipes --project DIR [--score] [--recipes A,B]       recipes with their fit scores (CSV)
workbench predict --project DIR [--run RUN] [--tta] [--images FOLDER] [--out CSV]   last line: the CSV written
workbench ensemble A.csv B.csv ... --out CSV [--project DIR] [--method hard|soft] [--weights W,W,...]
                                                                last line: the CSV written
workbench submissions --project DIR [--add CSV --note TEXT [--oof F1] | --run RUN | --score ID PUBLIC [PRIVATE]]
                                                                the submissions log (CSV)
workbench backup --project DIR [--to DIR] [--with-images]       last line: the backup folder
workbench restore --project DIR --from DIR [--force]           last line: the restored project
"""

from __future__ import annotations

import argparse

from core.cli.backup import add_backup_commands
from core.cli.expand import add_expand_command
from core.cli.labels import cmd_export, cmd_issues, cmd_relabel
from core.cli.predictions import add_ensemble_command, add_predict_command, add_submissions_command
from core.cli.project import cmd_check, cmd_demo, cmd_import, cmd_serve
from core.cli.recipes import add_recipes_command
from core.cli.runs import cmd_cancel, cmd_jobs, cmd_scan, cmd_train


def _add_issues_command(sub) -> None:
    """`workbench issues`: its options are many enough for a function of their own."""
    issues = sub.add_parser("issues", help="ranked label issues of a run (cleanlab), as CSV")
    issues.add_argument("--project", required=True)
    issues.add_argument(
        "--run",
        action="append",
        help="run id; repeat to average runs' probabilities (default: the newest finished run averaged with the "
        "finished scans on the same labels at other image sizes, as the Issues page does)",
    )
    issues.add_argument("--no-average", action="store_true", help="without --run: the newest finished run alone")
    issues.add_argument("--out", help="CSV to write (default: standard output)")
    issues.add_argument(
        "--health",
        action="store_true",
        help="also print label health: likely wrong labels overall and per class, overlapping class pairs",
    )
    issues.add_argument(
        "--labels-only", action="store_true", help="skip Datalab (outliers, duplicates, leakage): faster on big sets"
    )
    issues.add_argument(
        "--filter-by",
        help="which rows is_label_issue marks: confident (the default, what the Issues page uses: the model puts the "
        "image in another class with probability >= 0.8), ranked_calibrated (the lowest label scores, as many as "
        "cleanlab's calibrated estimate of wrong labels) or one of cleanlab's find_label_issues filters "
        "(prune_by_noise_rate, both, ...)",
    )
    issues.set_defaults(func=cmd_issues)


EXPORT_HELP = (
    "write the next clean train CSV version; last line: its path. With no decision that changes a label since "
    'the newest version: nothing is written, "nothing new since v<N>" goes to stderr, exit 0, and the last line '
    "is that version's path"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workbench", description="Error analysis and label cleaning for image-classification projects."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="build the demo project (scikit-learn digits, no download)")
    demo.add_argument("--out", required=True, help="folder to create (absent or empty)")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=cmd_demo)

    check = sub.add_parser("check", help="validate a project; exit 0 usable, 1 not usable")
    check.add_argument("--project", required=True)
    check.set_defaults(func=cmd_check)

    serve = sub.add_parser("serve", help="start the app (default: the demo project)")
    serve.add_argument("--project", help="project folder (default: the demo, built on first use)")
    serve.add_argument("--port", type=int, default=8501)
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: localhost only)")
    serve.set_defaults(func=cmd_serve)

    imp = sub.add_parser("import-folder", help="turn a class-per-subfolder dataset into a project")
    imp.add_argument("src")
    imp.add_argument("--out", required=True)
    imp.set_defaults(func=cmd_import)

    for name, func, help_text in (
        ("scan", cmd_scan, "scan run: frozen backbone + k-fold linear model (CPU)"),
        ("train", cmd_train, "train run: k-fold fine-tuning of a timm model (GPU)"),
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
    jobs.set_defaults(func=cmd_jobs)

    cancel = sub.add_parser("cancel", help="cancel a queued or running job")
    cancel.add_argument("--project", required=True)
    cancel.add_argument("run")
    cancel.set_defaults(func=cmd_cancel)

    _add_issues_command(sub)

    relabel = sub.add_parser("relabel", help="record a decision: ID LABEL, --drop ID, --keep ID or --ambiguous ID")
    relabel.add_argument("--project", required=True)
    relabel.add_argument("target", nargs="*", metavar="ID LABEL", help="image ID and its new class (index or name)")
    group = relabel.add_mutually_exclusive_group()
    group.add_argument("--drop", metavar="ID", help="remove the image from train")
    group.add_argument("--keep", metavar="ID", help="the image's label is right (brings a dropped image back)")
    group.add_argument(
        "--ambiguous",
        metavar="ID",
        help="plausible in two overlapping classes: not a label error; it keeps its label and leaves the review queue",
    )
    relabel.set_defaults(func=cmd_relabel)

    export = sub.add_parser("export", help=EXPORT_HELP)
    export.add_argument("--project", required=True)
    export.add_argument(
        "--leave-out-ambiguous",
        action="store_true",
        help="leave images marked ambiguous out of the version (default: they keep their label)",
    )
    export.set_defaults(func=cmd_export)

    add_expand_command(sub)
    add_recipes_command(sub)
    add_ensemble_command(sub)
    add_submissions_command(sub)
    add_predict_command(sub)
    add_backup_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))
