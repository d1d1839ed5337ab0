"""Recipe fit scores on disk: what the fit job (core.recipes.fit_job) writes and the pages read.

    FitParams                            the embedding and sampling settings (part of every cache key)
    fit_sample(data, params)             the seeded train and test rows a fit job embeds
    data_key(data, params)               the key of that sample (its images' names, sizes, mtimes) and the params
    fit_keys(data, infos, params)        {recipe name: its result's key} (the recipe's version + data_key)
    fit_results(layout, keys)            {recipe name: FitResult} of those already scored
    read_result(path, name)              one result file; a malformed one gives a FitResult with `error`
    read_shift(layout, data_key)         the train vs test report (core.analysis.shift), or None
    read_overlay(path)                   a recipe's UMAP overlay (ID, set, x, y)

Everything lives in the project's cache folder under fit/ (safe to delete): <recipe>-<key>.json and
.npz per recipe, shift-<key>.json, and the job's job.status.json and job.log. Reading never writes
and never raises for a damaged file.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from core.analysis.shift import kind_shifts
from core.runs.status import read_json

if TYPE_CHECKING:
    from core.project.dataset import Dataset
    from core.project.layout import ProjectLayout

FIT_FOLDER = "fit"


@dataclass(frozen=True)
class FitParams:
    """What a fit score is computed with (all part of the cache key).

    The backbone, weights, size and features of the embeddings (128 px: a third of 224 px's cost, and
    the size the fit score was validated at); how many train and test images are embedded (seeded
    samples: the score's error at 1,000 rows is far below the gaps between recipes); how many images
    each side the pixel statistics read; the seed of the samples and of the recipe copies.
    """

    backbone: str = "tf_efficientnet_lite0"
    pretrained: str = "offline"
    image_size: int = 128
    features: str = "multi"
    batch_size: int = 64
    train_rows: int = 1000
    test_rows: int = 1000
    stat_rows: int = 300
    seed: int = 0

    def validate(self) -> FitParams:
        for name in ("image_size", "batch_size", "train_rows", "test_rows", "stat_rows"):
            if int(getattr(self, name)) < 2:
                raise ValueError(f"{name} must be at least 2, got {getattr(self, name)}")
        if int(self.seed) < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        return self


@dataclass
class FitResult:
    """One recipe's fit score as the job wrote it (a file that cannot be read gives `error`)."""

    recipe: str
    version: str = ""
    score: float = float("nan")
    seconds: float = float("nan")
    far_off: list[str] = field(default_factory=list)  # kinds the copies still differ from test in (KS >= FAR_KS)
    partly: list[str] = field(default_factory=list)  # kinds they differ in less (KIND_KS <= KS < FAR_KS)
    kinds: list[dict[str, Any]] = field(default_factory=list)  # KindShift fields per kind
    overlay: Path | None = None  # the .npz of the UMAP overlay, when written
    error: str = ""


# ---------------------------------------------------------------- samples and keys


def fit_dir(layout: ProjectLayout) -> Path:
    return layout.cache_dir / FIT_FOLDER


def status_file(layout: ProjectLayout) -> Path:
    return fit_dir(layout) / "job.status.json"


def log_file(layout: ProjectLayout) -> Path:
    return fit_dir(layout) / "job.log"


def _sample(rows: pd.DataFrame, count: int, seed: int) -> pd.DataFrame:
    rows = rows.sort_values("ID", kind="stable").reset_index(drop=True)
    if len(rows) <= count:
        return rows
    keep = np.sort(np.random.default_rng(seed).choice(len(rows), count, replace=False))
    return rows.iloc[keep].reset_index(drop=True)


def fit_sample(data: Dataset, params: FitParams) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train rows, test rows): seeded samples of at most train_rows / test_rows, in ID order."""
    return _sample(data.train, params.train_rows, params.seed), _sample(data.test, params.test_rows, params.seed + 1)


def _stamp(paths: list[str]) -> str:
    """A digest of the files' names, sizes and mtimes (a missing file counts as missing)."""
    digest = hashlib.sha1()
    for path in paths:
        try:
            stat = os.stat(path)
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        except OSError:
            digest.update(f"{path}\0missing\n".encode())
    return digest.hexdigest()


def data_key(data: Dataset, params: FitParams) -> str:
    """A key for the sampled images and the params: the train vs test report's, and part of every recipe's."""
    train, test = fit_sample(data, params)
    parts = [asdict(params.validate()), _stamp(train["path"].tolist()), _stamp(test["path"].tolist())]
    return hashlib.sha1(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def recipe_key(version: str, data_key_: str) -> str:
    return hashlib.sha1(f"{version}:{data_key_}".encode()).hexdigest()[:16]


def fit_keys(data: Dataset, infos: list[Any], params: FitParams) -> dict[str, str]:
    """{recipe name: its result's key} for every usable recipe (core.recipes.store.RecipeInfo with a version)."""
    shared = data_key(data, params)
    return {info.name: recipe_key(info.version, shared) for info in infos if info.version and not info.error}


def result_file(layout: ProjectLayout, name: str, key: str) -> Path:
    return fit_dir(layout) / f"{name}-{key}.json"


def shift_file(layout: ProjectLayout, key: str) -> Path:
    return fit_dir(layout) / f"shift-{key}.json"


def _finite(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return float("nan")
    return number


def read_result(path: Path, name: str) -> FitResult | None:
    """A recipe's result file: None when absent; a FitResult with `error` when malformed (never raises)."""
    if not path.is_file():
        return None
    data = read_json(path)
    if not data or "score" not in data:
        return FitResult(recipe=name, error=f"{path.name} cannot be read; score the recipe again")
    overlay = path.with_suffix(".npz")
    kinds = [k for k in data.get("kinds", []) if isinstance(k, dict)] if isinstance(data.get("kinds"), list) else []
    shifts = kind_shifts(kinds)
    return FitResult(
        recipe=name,
        version=str(data.get("version", ""))[:40],
        score=_finite(data.get("score")),
        seconds=_finite(data.get("seconds")),
        far_off=[shift.kind for shift in shifts if shift.far_off],
        partly=[shift.kind for shift in shifts if shift.differs and not shift.far_off],
        kinds=kinds,
        overlay=overlay if overlay.is_file() else None,
    )


def fit_results(layout: ProjectLayout, keys: dict[str, str]) -> dict[str, FitResult]:
    """{recipe name: FitResult} for every recipe in `keys` that has a result file."""
    results = {}
    for name, key in keys.items():
        found = read_result(result_file(layout, name, key), name)
        if found is not None:
            results[name] = found
    return results


def read_shift(layout: ProjectLayout, key: str) -> dict[str, Any] | None:
    """The train vs test report for a data key: {"auc", "kinds": [KindShift fields], "train", "test"}, or None."""
    data = read_json(shift_file(layout, key))
    if not data or not isinstance(data.get("kinds"), list):
        return None
    return data


def read_overlay(path: Path) -> pd.DataFrame:
    """A recipe's UMAP overlay: columns ID, set (train | copy | test), x, y."""
    with np.load(Path(path), allow_pickle=False) as stored:
        xy = stored["xy"]
        return pd.DataFrame(
            {"ID": stored["ids"].astype(str), "set": stored["sets"].astype(str), "x": xy[:, 0], "y": xy[:, 1]}
        )
