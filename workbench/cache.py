"""Every cached read of core results the pages and components use, and nothing else caches.

Keys change whenever the files behind them do (a file's size + mtime, the project's fingerprint, a
cache key naming the runs and settings), so a rerun never rereads an unchanged file and a rewritten
file is never served stale. st.cache_data returns a copy per caller; st.cache_resource objects are
shared by every session and read-only (nobody may modify them).

    dataset / forget_datasets      the project's checked tables (in-process, with indexing progress)
    split_items                    a split's gallery rows (core.analysis.overview.gallery_items), once per dataset
    thumbnail_data_uri             a thumbnail as a data: URI
    display_image_uri              the review card's large image as a data: URI
    run_predictions                a run's prediction table (oof.csv + test_probs.csv); RunDamaged when they are
    has_embeddings / neighbour_index   a run's NeighbourIndex (bounded memory), for nearest neighbours; RunDamaged likewise
    projection                     a stored UMAP projection
    run_events                     a run's events.jsonl of some kinds, read incrementally (only what was appended)
    load_review / Review           the Issues page's label and data issues of some runs
    review_health                  label health (likely wrong labels, overlapping classes) of a review
    model_catalogue                timm's architecture names (once per timm version)
    recipe_infos / recipe_names    the noise recipes (core.recipes.store.list_recipes), per state of recipes/
    checked_recipe                 a recipe's YAML parsed and checked, once per text
    recipe_preview                 train images through a recipe, seeded draws as data: URIs, with the time taken
    preview_thumbnails             real images at the recipe preview's size, as data: URIs
    warm_umap_once                 UMAP's one-time compilation, started once per server process
    warm_other_pages_once          the other pages' imports, once per server process, after a page was drawn
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import io
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st
from PIL import Image

from core.analysis.predictions import prediction_table
from core.embeddings.neighbours import NeighbourIndex
from core.embeddings.projection_job import read_projection
from core.io.images import ImageError, open_rgb
from core.io.text import shown
from core.issues.health import LabelHealth
from core.issues.run_issues import RunIssues
from core.predictions.members import Member, PredictionError
from core.predictions.members import run_member as read_run_member
from core.predictions.store import PredictionFile, list_predictions, predictions_dir
from core.project.dataset import Dataset, dataset_fingerprint, load_dataset
from core.project.imageindex import read_thumbnail
from core.project.layout import ProjectLayout
from core.recipes.fit_cache import FitParams, data_key
from core.recipes.store import Recipe, RecipeError, RecipeInfo, list_recipes, parse_recipe, recipes_dir
from core.runs.artifacts import RunDamaged, load_embeddings, load_oof, load_test_probs
from core.runs.folder import EMBEDDING_IDS, EMBEDDINGS, EVENTS, OOF, STATUS, TEST_PROBS, read_events_from, read_status
from core.runs.progress import Callbacks

_MAX_DATASETS = 4
_datasets: OrderedDict[tuple, Dataset] = OrderedDict()
_lock = threading.Lock()


def dataset(root: Path) -> Dataset:
    """The project's checked tables, shared by every session (read-only: never modify its frames).

    Kept in this process keyed by the project's fingerprint (CSV and folder mtimes), so an edited
    CSV or an added image is picked up on the next rerun. The first load of a big project indexes
    every image and shows its progress.
    """
    key = (str(root), dataset_fingerprint(root))
    with _lock:
        hit = _datasets.get(key)
        if hit is not None:
            _datasets.move_to_end(key)
            return hit
    slot = st.empty()
    loaded = load_dataset(root, callbacks=_ProgressBar(slot))
    slot.empty()
    with _lock:
        _datasets[key] = loaded
        while len(_datasets) > _MAX_DATASETS:
            _datasets.popitem(last=False)
    return loaded


class _ProgressBar(Callbacks):
    """Core's progress protocol drawn as a Streamlit progress bar in `slot`: "<Message>: 1,234 / 3,000"."""

    def __init__(self, slot) -> None:
        self.slot = slot

    def on_progress(self, *, progress: float, message: str = "", **where) -> None:
        counted = f": {where['step']:,} / {where['steps']:,}" if "step" in where and "steps" in where else ""
        self.slot.progress(min(1.0, max(0.0, float(progress))), text=f"{message[:1].upper()}{message[1:]}{counted}")


def forget_datasets() -> None:
    """Drop every cached dataset (the sidebar's Rescan), so the next read re-checks the files."""
    with _lock:
        _datasets.clear()


def _stamp(path: Path) -> tuple[int, int] | None:
    """(size, mtime) of a file, or None when it is missing: the part of a cache key that follows the file."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


# ------------------------------------------------------------------------------------------- images

DISPLAY_PX = 512  # the review card's image is at most this many pixels on its long side
PIXELATED_BELOW = 160  # smaller images are scaled up without smoothing, so pixels stay visible


@st.cache_data(show_spinner=False, max_entries=20_000)
def _thumbnail_data_uri(thumb: str) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(read_thumbnail(thumb)).decode("ascii")


def thumbnail_data_uri(thumb: str) -> str:
    """An index row's thumbnail (core.project.imageindex.read_thumbnail) as a data: URI, cached; the
    reference names a pack made for the file's size and mtime, so it never goes stale. "" when its pack
    is gone or cut short (the cache cleared while the app runs): that card shows no picture, the page
    carries on, and nothing is cached, so the next scan's thumbnail shows."""
    try:
        return _thumbnail_data_uri(thumb)
    except OSError:
        return ""


@st.cache_data(show_spinner=False, max_entries=512)
def display_image_uri(path: str, mtime_ns: int) -> tuple[str, bool]:
    """(data URI, is small) of an image for the review card; at most DISPLAY_PX on its long side.

    mtime_ns is part of the cache key only: an edited file gets a new entry.
    """
    try:
        image = open_rgb(Path(path))
    except ImageError:
        return "", False
    small = max(image.size) < PIXELATED_BELOW
    if max(image.size) > DISPLAY_PX:
        image.thumbnail((DISPLAY_PX, DISPLAY_PX))
    buffer = io.BytesIO()
    if small:
        image.save(buffer, format="PNG")
        mime = "image/png"
    else:
        image.save(buffer, format="JPEG", quality=90)
        mime = "image/jpeg"
    return f"data:{mime};base64," + base64.b64encode(buffer.getvalue()).decode("ascii"), small


# ------------------------------------------------------------------------------------------- runs


def run_predictions(run_dir: Path, *, num_classes: int, test_labels: pd.DataFrame | None) -> pd.DataFrame:
    """The run's prediction table (core.analysis.predictions.prediction_table): train out-of-fold rows, then test rows.

    RunDamaged (core.runs.artifacts) when oof.csv or test_probs.csv is cut short, garbled or does not fit the
    project (its message names the run and the file): never a partial table. Not cached, so a fixed file is read.
    """
    run_dir = Path(run_dir)
    labels_key = None if test_labels is None else (len(test_labels), int(pd.util.hash_pandas_object(test_labels).sum()))
    stamps = (_stamp(run_dir / OOF), _stamp(run_dir / TEST_PROBS), _stamp(run_dir / STATUS))
    return _predictions(str(run_dir), stamps, num_classes, labels_key, test_labels)


@st.cache_data(show_spinner=False, max_entries=8)
def _predictions(run_dir: str, stamps: tuple, num_classes: int, labels_key, _test_labels) -> pd.DataFrame:
    # The hold-out labels are keyed by labels_key (a cheap hash); Streamlit skips `_`-prefixed arguments.
    folder = Path(run_dir)
    status = read_status(folder)
    oof, test = load_oof(folder, status), load_test_probs(folder, status)
    try:
        return prediction_table(oof, test, _test_labels, num_classes=num_classes)
    except ValueError as exc:  # columns or class indices that do not fit the project's classes
        raise RunDamaged(
            f"run {shown(folder.name, 60)}: its predictions do not fit this project: {shown(exc, 200)}"
        ) from exc


def has_embeddings(run_dir: Path) -> bool:
    return (Path(run_dir) / EMBEDDINGS).is_file() and (Path(run_dir) / EMBEDDING_IDS).is_file()


def neighbour_index(run_dir: Path) -> tuple[NeighbourIndex, dict[tuple[str, str], int], pd.DataFrame] | None:
    """(the run's NeighbourIndex, {(split, ID): row}, the ID/split table) or None without embeddings.

    Shared read-only by every session (st.cache_resource): nobody may modify the arrays.
    """
    run_dir = Path(run_dir)
    if not has_embeddings(run_dir):
        return None
    return _neighbour_index(str(run_dir), _stamp(run_dir / EMBEDDINGS), _stamp(run_dir / EMBEDDING_IDS))


@st.cache_resource(show_spinner="Reading the run's embeddings...", max_entries=2)
def _neighbour_index(run_dir: str, emb_stamp, ids_stamp):
    loaded = load_embeddings(Path(run_dir))  # RunDamaged when they cannot be loaded or do not match their IDs
    if loaded is None:  # removed since has_embeddings looked
        raise RunDamaged(
            f"run {shown(Path(run_dir).name, 60)}: {EMBEDDINGS} or {EMBEDDING_IDS} disappeared while being read"
        )
    ids, vectors = loaded  # vectors: memory-mapped; the index keeps at most ~N x 128 float32 of it
    lookup = {(s, i): n for n, (s, i) in enumerate(zip(ids["split"], ids["ID"]))}
    return NeighbourIndex.build(vectors), lookup, ids


class _EventTail:
    """What one run's events.jsonl held of some kinds, up to `offset`; one lock per file."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.inode: int | None = None
        self.offset = 0
        self.events: list[dict] = []


@st.cache_resource(show_spinner=False, max_entries=32)
def _event_tail(path: str, kinds: tuple[str, ...]) -> _EventTail:
    return _EventTail()


def run_events(run_dir: Path, kinds: tuple[str, ...]) -> list[dict]:
    """The run's events of `kinds`, in order. A job's page polls every second: only the bytes appended
    since the last look are read and parsed (a rewritten or shorter file is read again from the start)."""
    path = Path(run_dir) / EVENTS
    tail = _event_tail(str(path), tuple(kinds))
    try:
        stat = path.stat()
    except OSError:
        return []
    with tail.lock:
        if tail.inode != stat.st_ino or stat.st_size < tail.offset:
            tail.inode, tail.offset, tail.events = stat.st_ino, 0, []
        if stat.st_size > tail.offset:
            new, tail.offset = read_events_from(run_dir, tail.offset, kinds=kinds)
            tail.events = tail.events + new  # a new list: callers may hold the previous one
        return tail.events


def projection(out: Path) -> pd.DataFrame:
    """A stored UMAP projection (ID, split, x, y), read once per file version."""
    return _projection(str(out), _stamp(Path(out)))


@st.cache_data(show_spinner=False, max_entries=6)
def _projection(out: str, stamp) -> pd.DataFrame:
    return read_projection(out)


# ------------------------------------------------------------------------------------------- label issues

AUTO_DATALAB_ROWS = 20_000  # above this, Datalab (~1 min at 140,000) runs only when asked; label issues always run
REFERENCES = 4  # confident examples kept per class for the review card


@dataclass(frozen=True)
class Review:
    """What the Issues page works from, shared read-only by every session (cache_resource)."""

    issues: RunIssues
    queue: pd.DataFrame  # RunIssues.queue()
    references: dict[int, list[str]]  # class -> confident example IDs
    by_id: pd.DataFrame  # the label table indexed by ID, with the queue's `kinds` column ("" when unflagged)


@st.cache_resource(show_spinner=False, max_entries=8)
def _load_review(project: str, run_ids: tuple[str, ...], key: str, with_data: bool) -> Review:
    from core.issues.run_issues import issues_for_runs
    from core.labels.review import confident_examples
    from core.project.layout import open_layout

    issues = issues_for_runs(open_layout(project), run_ids, data=with_data)
    queue = issues.queue()
    by_id = issues.labels.set_index("ID")
    by_id["kinds"] = queue.set_index("ID")["kinds"].reindex(by_id.index).fillna("")
    references = confident_examples(issues.labels, per_class=REFERENCES)
    return Review(issues=issues, queue=queue, references=references, by_id=by_id)


def load_review(layout: ProjectLayout, run_ids: tuple[str, ...], *, with_data: bool = True) -> Review:
    """The issues of `run_ids`, computed on first use (with a spinner), then read from the cache.

    with_data=False skips Datalab (outliers, duplicates, leakage): label issues only.
    """
    from core.issues.label_issues import DEFAULT_FILTER_BY, DEFAULT_SCORE_METHOD
    from core.issues.run_issues import cache_key

    key = cache_key(layout, run_ids, filter_by=DEFAULT_FILTER_BY, score_method=DEFAULT_SCORE_METHOD, data=with_data)
    what = "label issues, outliers, duplicates and leakage" if with_data else "label issues"
    with st.spinner(f"Finding {what} with cleanlab (once per run; cached under .workbench/cache/issues)..."):
        return _load_review(str(layout.root), run_ids, key, with_data)


def review_health(layout: ProjectLayout, review: Review) -> LabelHealth:
    """core.issues.health.label_health of the review's label table (given_label, prob_*), once per issues key."""
    return _review_health(str(layout.root), review.issues.run_ids, review.issues.key, review.issues.labels)


@st.cache_data(show_spinner="Estimating label health...", max_entries=8)
def _review_health(project: str, run_ids: tuple[str, ...], key: str, _labels: pd.DataFrame) -> LabelHealth:
    # The label table is keyed by `key` (runs, file stamps, options), like _load_review; Streamlit skips `_labels`.
    from core.issues.health import label_health
    from core.runs.folder import prob_columns

    num_classes = sum(c.startswith("prob_") for c in _labels.columns)
    return label_health(_labels["given_label"].to_numpy(), _labels[prob_columns(num_classes)].to_numpy())


# ------------------------------------------------------------------------------------------- models


@st.cache_data(show_spinner="Listing timm models (once per timm version)...")
def model_catalogue() -> dict[str, list[str]]:
    """core.models.catalogue.model_catalogue, read once per server process."""
    from core.models.catalogue import model_catalogue as read_catalogue

    return read_catalogue()


# ------------------------------------------------------------------------------------------- noise recipes


def _folder_stamp(folder: Path) -> tuple:
    """The folder's mtime and every YAML file's (name, size, mtime): changes with any save, delete or hand edit."""
    try:
        files = sorted((p.name, *(_stamp(p) or ())) for p in folder.iterdir() if p.suffix == ".yaml")
        return (folder.stat().st_mtime_ns, tuple(files))
    except OSError:
        return ()


def recipe_infos(layout: ProjectLayout) -> list[RecipeInfo]:
    """core.recipes.store.list_recipes (presets, saved files, broken ones with their error), reread when recipes/ changes."""
    return _recipe_infos(str(layout.root), _folder_stamp(recipes_dir(layout)), layout)


@st.cache_data(show_spinner="Checking the noise recipes...", max_entries=8)
def _recipe_infos(root: str, stamp: tuple, _layout: ProjectLayout) -> list[RecipeInfo]:
    return list_recipes(_layout)


def recipe_names(layout: ProjectLayout) -> list[str]:
    """The names of the recipes a run can use (the broken ones left out), in list_recipes' order."""
    return [info.name for info in recipe_infos(layout) if info.error is None]


@st.cache_resource(show_spinner=False, max_entries=64)
def checked_recipe(yaml_text: str, name: str) -> tuple[Recipe | None, str]:
    """(the Recipe, "") or (None, why it cannot be used: RecipeError's message naming the line, transform, parameter).

    Parsed once per text. Shared by every session: apply it through core.recipes.apply, which copies the pipeline.
    """
    try:
        return parse_recipe(yaml_text, name=name), ""
    except RecipeError as exc:
        return None, str(exc)


def recipe_preview(
    yaml_text: str,
    name: str,
    *,
    images: list[Path],
    draws: int,
    seed: int,
    off: tuple[int, ...] = (),
    work_px: int,
    show_px: int,
) -> tuple[list[list[str]], float]:
    """([per image: its original, then `draws` noisy versions, as JPEG data: URIs], seconds it took).

    Each image is shrunk to at most `work_px` on its long side (0: full size) before the recipe, and
    shown at most `show_px`. Image k's draws are core.recipes.apply.augmented_copies with seed
    copy_seed(seed, k): the same for the same arguments. `off`: indexes of the recipe's top-level
    steps left out. The seconds are those of the call that computed it (a cached result keeps them).
    """
    sources = tuple((str(p), (_stamp(Path(p)) or (0, 0))[1]) for p in images)
    return _recipe_preview(yaml_text, name, sources, draws, seed, tuple(off), work_px, show_px)


@st.cache_data(show_spinner=False, max_entries=32)
def _recipe_preview(
    yaml_text: str, name: str, sources: tuple, draws: int, seed: int, off: tuple, work_px: int, show_px: int
) -> tuple[list[list[str]], float]:
    from core.recipes.apply import augmented_copies, copy_seed
    from core.recipes.serialization import albumentations

    start = time.perf_counter()
    recipe, error = checked_recipe(yaml_text, name)
    if recipe is None:
        raise RecipeError(error)
    kept = [copy.deepcopy(t) for i, t in enumerate(recipe.compose.transforms) if i not in off]
    subset = dataclasses.replace(recipe, compose=albumentations().Compose(kept, p=1.0))
    rows = []
    for k, (path, mtime_ns) in enumerate(sources):
        image = _preview_source(path, mtime_ns, work_px)
        noisy = augmented_copies(subset, image, copies=draws, seed=copy_seed(seed, k))
        rows.append([_jpeg_uri(image, show_px)] + [_jpeg_uri(out, show_px) for out in noisy])
    return rows, time.perf_counter() - start


def preview_thumbnails(images: list[Path], *, show_px: int) -> list[str]:
    """Real images (e.g. test) as the recipe preview shows its own: at most `show_px`, JPEG data: URIs."""
    return [_preview_thumbnail(str(p), (_stamp(Path(p)) or (0, 0))[1], show_px) for p in images]


@st.cache_data(show_spinner=False, max_entries=2048)
def _preview_thumbnail(path: str, mtime_ns: int, show_px: int) -> str:
    return _jpeg_uri(_preview_source(path, mtime_ns, 2 * show_px), show_px)


@st.cache_data(show_spinner=False, max_entries=256)
def _preview_source(path: str, mtime_ns: int, max_px: int) -> np.ndarray:
    """An image as (H, W, 3) uint8 RGB, at most `max_px` on its long side (0: as it is); grey on a decode error."""
    try:
        image = open_rgb(Path(path), draft_size=(max_px, max_px) if max_px else None)
    except ImageError:
        return np.full((max_px or 64, max_px or 64, 3), 128, dtype=np.uint8)
    if max_px and max(image.size) > max_px:
        image.thumbnail((max_px, max_px), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(image)


def _jpeg_uri(image: np.ndarray, max_px: int) -> str:
    """An (H, W, 3) uint8 image, shrunk to at most `max_px` on its long side, as a JPEG (quality 90) data: URI."""
    picture = Image.fromarray(image)
    if max(picture.size) > max_px:
        picture.thumbnail((max_px, max_px), Image.Resampling.BILINEAR, reducing_gap=2.0)
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=90)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


# ------------------------------------------------------------------------------------------- server


@st.cache_resource(show_spinner=False)
def warm_umap_once() -> bool:
    """Once per server process: UMAP's one-time numba compilation (~30 s per machine) started in the
    background (core.embeddings.projection_job.start_warm_up), so the first map a user opens takes seconds.
    WORKBENCH_WARM_UMAP=0 turns it off (the tests do, so each app they start stays quiet)."""
    if os.environ.get("WORKBENCH_WARM_UMAP", "1") == "0":
        return False
    from core.embeddings.projection_job import start_warm_up

    try:
        return start_warm_up()
    except OSError:  # a read-only home: the first map compiles instead, as before
        return False


@st.cache_resource(show_spinner=False)
def warm_other_pages_once() -> bool:
    """Once per server process, called after a page has been drawn: import in a background thread what the
    other pages import and the first page does not (workbench.launch.other_page_modules: scikit-learn for
    the scores, ~1 s on 2 cores), so neither a new user's first view nor the first visit to another
    page waits for it. WORKBENCH_WARM_PAGES=0 turns it off (the tests do: their imports stay in one thread)."""
    if os.environ.get("WORKBENCH_WARM_PAGES", "1") == "0":
        return False
    threading.Thread(target=_warm_other_pages, name="wb-warm-up-pages", daemon=True).start()
    return True


WARM_PAGES_AFTER_S = 5.0  # the script is done, but the browser is still drawing the first view


def _warm_other_pages() -> None:
    from workbench.launch import other_page_modules, warm_up

    time.sleep(WARM_PAGES_AFTER_S)
    warm_up(other_page_modules())


def fit_data_key(data: Dataset, params: FitParams) -> str:
    """core.recipes.fit_cache.data_key for the project's current files (its images stat-ed once per change)."""
    return _fit_data_key(str(data.layout.root), dataset_fingerprint(data.layout.root), params, data)


@st.cache_data(show_spinner=False, max_entries=8)
def _fit_data_key(root: str, stamp: tuple, params: FitParams, _data: Dataset) -> str:
    return data_key(_data, params)


def prediction_files(data: Dataset) -> list[PredictionFile]:
    """core.predictions.store.list_predictions, re-read when predictions/ or the project's files change."""
    folder = predictions_dir(data.layout)
    try:
        stamp = tuple(sorted((p.name, *(_stamp(p) or ())) for p in folder.iterdir()))
    except OSError:
        stamp = ()
    return _prediction_files(str(data.layout.root), stamp, dataset_fingerprint(data.layout.root), data)


@st.cache_data(show_spinner="Checking the prediction CSVs...", max_entries=4)
def _prediction_files(root: str, stamp: tuple, data_stamp: tuple, _data: Dataset) -> list[PredictionFile]:
    return list_predictions(_data.layout, test_ids=_data.test["ID"].astype(str).tolist(), num_classes=_data.num_classes)


def split_items(data: Dataset, split: str) -> pd.DataFrame:
    """A split's gallery rows (core.analysis.overview.gallery_items: ID, thumb, path, sizes...), built once per
    state of the project and shared read-only: at 140,000 images they take 1-2 s, which no rerun should pay."""
    return _split_items(str(data.layout.root), dataset_fingerprint(data.layout.root), split, data)


@st.cache_resource(show_spinner=False, max_entries=4)
def _split_items(root: str, data_stamp: tuple, split: str, _data: Dataset) -> pd.DataFrame:
    from core.analysis.overview import gallery_items

    return gallery_items(_data, split)


def run_member(data: Dataset, run_dir: Path) -> Member | str:
    """A run's test predictions as an ensemble member (with its OOF rows), or why it cannot be one."""
    run_dir = Path(run_dir)
    stamps = (_stamp(run_dir / TEST_PROBS), _stamp(run_dir / OOF), _stamp(run_dir / STATUS))
    return _run_member(str(run_dir), stamps, dataset_fingerprint(data.layout.root), data)


@st.cache_data(show_spinner=False, max_entries=32)
def _run_member(run_dir: str, stamps: tuple, data_stamp: tuple, _data: Dataset) -> Member | str:
    try:
        return read_run_member(
            run_dir,
            name=Path(run_dir).name,
            test_ids=_data.test["ID"].astype(str).tolist(),
            num_classes=_data.num_classes,
        )
    except PredictionError as exc:
        return str(exc)
