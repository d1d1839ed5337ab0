"""albumentations as the recipes package uses it: imported on first use, its registry, its errors.

albumentations()        the module (imported inside functions: it imports torch; no update check)
registry()              its serializable transforms by the short name YAML files hold
known_params(cls)       the parameters a transform takes (what an unknown-parameter check allows)
albumentations_error    its (pydantic's) error in one line: "param = value: what is wrong"
normalized(value)       a serialized value compared by meaning (tuples as lists, numbers as floats)
probe_images()          the small RGB and grey images every recipe is tried on before it is used
"""

from __future__ import annotations

import inspect
import os
import re
import warnings
from functools import cache, lru_cache
from typing import Any

import numpy as np


def albumentations() -> Any:
    """The albumentations module, imported on first use.

    Importing it takes seconds (it imports torch for ToTensorV2), so the recipes package imports it
    inside functions only. Its import-time PyPI version check is switched off (NO_ALBUMENTATIONS_UPDATE):
    a training job or a page must not wait on, or phone, the network for a warning.
    """
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    import albumentations as A

    return A


def normalized(value: Any) -> Any:
    """A serialized value compared by meaning: tuples as lists, every number as a float."""
    if isinstance(value, dict):
        return {k: normalized(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalized(v) for v in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


def albumentations_error(exc: BaseException) -> str:
    """albumentations' (pydantic's) error in one line: "param = value: what is wrong; ..."."""
    text = str(exc)
    found = re.findall(
        r"^(\w+)\n\s+(?:Value error, )?(.+?) \[type=[^,\]]+(?:, input_value=(.+?), input_type=\w+)?\]", text, re.M
    )
    if found:
        return "; ".join(f"{param} = {value}: {why}" if value else f"{param}: {why}" for param, why, value in found)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


@lru_cache(maxsize=1)
def registry() -> dict[str, type]:
    """albumentations' serializable transforms by short name (what __class_fullname__ holds)."""
    albumentations()
    from albumentations.core.serialization import SERIALIZABLE_REGISTRY

    return dict(SERIALIZABLE_REGISTRY)


@cache
def known_params(cls: type) -> frozenset[str] | None:
    """The parameters a transform takes (None: any); with the keys its own to_dict writes, which can be more."""
    params = inspect.signature(cls.__init__).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return None
    names = set(params) - {"self"}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            names |= set(albumentations().to_dict(cls([]) if "transforms" in names else cls())["transform"])
    except Exception:  # noqa: BLE001 - a transform without defaults: its signature is what it takes
        pass
    return frozenset(names - {"__class_fullname__"})


def probe_images() -> dict[str, np.ndarray]:
    """A small colour image and a grey one as RGB (48 x 64, uint8), the same every time."""
    rng = np.random.default_rng(0)
    grey = np.linspace(40, 220, 48 * 64).reshape(48, 64).astype(np.uint8)
    return {
        "an RGB image": rng.integers(0, 256, (48, 64, 3), dtype=np.uint8),
        "a grey image": np.repeat(grey[..., None], 3, axis=2),
    }
