"""`python -m core.train --config <run_dir>/config.yaml`: the job entry point, kept at this name.

Run folders, scripts and `core.runs.jobs` name this module; the job itself lives in `core.runs.entry`.
"""

from __future__ import annotations

from core.runs.entry import main

if __name__ == "__main__":
    raise SystemExit(main())
