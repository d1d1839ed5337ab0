"""The `workbench` command: the same core as the app, for people on ssh.

commands  the parser and main()
project   demo, check, import-folder, serve
runs      scan, train, jobs, cancel
labels    issues, relabel, export
expand    expand (offline expansion: augmented copies of the train images on disk)
recipes   recipes (fit scores; train vs test)
backup    backup, restore (a team's work to another disk and back, checksums verified)
predictions  predict (a run on the test set or a folder), ensemble (CSVs combined by vote), submissions (the log)
"""

from __future__ import annotations

from core.cli.commands import build_parser, main

__all__ = ["build_parser", "main"]
