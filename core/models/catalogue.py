"""The names a user can train: timm's model list, without importing timm into the page process.

`import timm` pulls in torch (seconds); the list is computed once per timm version in a
subprocess and kept in the per-user folder.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from core.home import workbench_home

_SCRIPT = (
    "import json, timm\n"
    "names = timm.list_models()\n"
    "hub = set(m.split('.')[0] for m in timm.list_models(pretrained=True))\n"
    "print(json.dumps({'names': names, 'hub': sorted(hub)}))\n"
)


def _cache_file() -> Path:
    try:
        timm_version = version("timm")
    except PackageNotFoundError:  # pragma: no cover - a declared dependency
        timm_version = "unknown"
    return workbench_home() / f"timm-models-{timm_version}.json"


def model_catalogue() -> dict[str, list[str]]:
    """{"names": every timm architecture, "hub": those with hub weights}; cached per timm version."""
    path = _cache_file()
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    out = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, check=True, timeout=300)
    catalogue = json.loads(out.stdout)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(catalogue), encoding="utf-8")
    return catalogue
