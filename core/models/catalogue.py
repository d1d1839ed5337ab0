"""The names a user can pick from timm: models, optimizers, schedulers, without importing timm into the page process.

`import timm` pulls in torch (seconds); the lists are computed once per timm version in a
subprocess and kept in the per-user folder. The train form offers the model names; config
validation checks train.optimizer and train.scheduler against the other two.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from core.home import workbench_home
from core.io.atomic import write_json_atomic

# Run in a subprocess. timm has no list of scheduler names; these are the ones its
# create_scheduler_v2 knows (timm 1.0-1.1), kept only if it builds them the way
# core.training.loop.create_schedule calls it (stepped per update: 'plateau' cannot be).
_SCRIPT = """
import json
import timm, torch
from timm.optim import list_optimizers
from timm.scheduler import create_scheduler_v2

candidates = ("cosine", "tanh", "step", "constant", "multistep", "plateau", "poly", "wsd", "rsqrt", "none")
schedulers = []
for name in candidates:
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    try:
        create_scheduler_v2(optimizer, sched=name, num_epochs=9, warmup_epochs=1, warmup_prefix=True,
                            step_on_epochs=False, updates_per_epoch=2)
    except Exception:
        continue
    schedulers.append(name)
print(json.dumps({
    "names": timm.list_models(),
    "hub": sorted(set(m.split(".")[0] for m in timm.list_models(pretrained=True))),
    "optimizers": list_optimizers(),
    "schedulers": schedulers,
}))
"""


CATALOGUE_KEYS = ("names", "hub", "optimizers", "schedulers")


def _cache_file() -> Path:
    try:
        timm_version = version("timm")
    except PackageNotFoundError:  # pragma: no cover - a declared dependency
        timm_version = "unknown"
    return workbench_home() / f"timm-models-{timm_version}.json"


def model_catalogue() -> dict[str, list[str]]:
    """What timm offers, cached per timm version; lists of names under four keys.

    names: every timm architecture; hub: those with hub weights; optimizers:
    timm.optim.list_optimizers() (what create_optimizer_v2 takes); schedulers: the names
    timm.scheduler.create_scheduler_v2 builds when stepped per update (as training steps it).
    """
    path = _cache_file()
    try:
        cached = json.loads(path.read_text(encoding="utf-8"))
        if all(key in cached for key in CATALOGUE_KEYS):  # a file from before a key was added is recomputed
            return cached
    except (OSError, ValueError):
        pass
    out = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, check=True, timeout=300)
    catalogue = json.loads(out.stdout)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Atomic: two sessions asking at once must never leave (or read) half a file.
    write_json_atomic(path, catalogue, indent=None)
    return catalogue
