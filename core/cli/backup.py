"""`workbench backup | restore`: a team's work copied to another disk and brought back (core.project.backup)."""

from __future__ import annotations

import argparse
import sys


def add_backup_commands(sub) -> None:
    backup = sub.add_parser(
        "backup",
        help="copy what cannot be recomputed (database, runs, labels, recipes, predictions) to DIR/<project>; "
        "incremental; last line: the backup folder",
    )
    backup.add_argument("--project", required=True)
    backup.add_argument("--to", help='backup folder (default: [backup] to = "..." in the project\'s workbench.toml)')
    backup.add_argument(
        "--with-images", action="store_true", help="also copy train/ and test/ images and offline expansions"
    )
    backup.set_defaults(func=cmd_backup)

    restore = sub.add_parser(
        "restore",
        help="bring a project back from a backup into an empty folder, every checksum verified first; "
        "last line: the project folder",
    )
    restore.add_argument("--project", required=True, help="folder to restore into (absent, empty, or with the images)")
    restore.add_argument("--from", dest="source", required=True, help="the backup folder (the --to of the backup)")
    restore.add_argument(
        "--force", action="store_true", help="restore over an existing .workbench/ and differing project files"
    )
    restore.set_defaults(func=cmd_restore)


def cmd_backup(args: argparse.Namespace) -> int:
    from core.cli.project import open_project
    from core.io.text import shown
    from core.project.backup import backup_project
    from core.project.backup_manifest import BackupError
    from core.project.backup_status import backup_target
    from core.runs.progress import TerminalProgress

    layout = open_project(args.project)
    if layout is None:
        return 1
    try:
        to = args.to or backup_target(layout)
        if to is None:
            print(
                f'error: no backup folder: pass --to DIR, or set it in {shown(layout.root, 300)}/workbench.toml:\n\n[backup]\nto = "/mnt/backup"',
                file=sys.stderr,
            )
            return 1
        summary = backup_project(
            layout.root, to, with_images=args.with_images, callbacks=TerminalProgress("backing up", unit="files")
        )
    except (BackupError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"{summary.files:,} files backed up: {summary.copied:,} copied ({summary.bytes_copied / 1e6:,.1f} MB), "
        f"{summary.unchanged:,} unchanged, in {summary.seconds:.1f} s",
        file=sys.stderr,
    )
    for line in summary.skipped:
        print(f"skipped: {line}", file=sys.stderr)
    if summary.recompute:
        print("offline expansions not copied (no --with-images); a restore writes them again with:", file=sys.stderr)
        for command in summary.recompute:
            print(f"  workbench expand --project {layout.root} {command}", file=sys.stderr)
    print(summary.folder)
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from core.io.text import shown
    from core.project.backup_manifest import BackupError
    from core.project.restore import restore_project
    from core.runs.progress import TerminalProgress

    try:
        summary = restore_project(
            args.source, args.project, force=args.force, callbacks=TerminalProgress("restoring", unit="files")
        )
    except (BackupError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"{summary.files:,} files restored and verified ({summary.written:,} written, {summary.already:,} already "
        f"there) in {summary.seconds:.1f} s",
        file=sys.stderr,
    )
    if not summary.with_images:
        print(
            "the backup holds no images: copy train/ and test/ into the project folder (or restore into a folder "
            "that has them) before opening it",
            file=sys.stderr,
        )
    for command in summary.recompute:
        print(
            f"to write an offline expansion again: workbench expand --project {summary.project} {shown(command, 400)}",
            file=sys.stderr,
        )
    print(summary.project)
    return 0
