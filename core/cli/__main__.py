"""`python -m core.cli ...` is `workbench ...`."""

from core.cli.commands import main

raise SystemExit(main())
