"""Cached reads of core results for the pages. Keys change whenever the files behind them do."""

from __future__ import annotations

import base64
import os
import threading
from collections import OrderedDict
from pathlib import Path

import streamlit as st

from core.project.dataset import Dataset, dataset_fingerprint, load_dataset

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

    def progress(done: int, total: int) -> None:
        slot.progress(
            done / max(total, 1), text=f"Indexing images (size, decode check, thumbnail): {done:,} / {total:,}"
        )

    loaded = load_dataset(root, progress=progress)
    slot.empty()
    with _lock:
        _datasets[key] = loaded
        while len(_datasets) > _MAX_DATASETS:
            _datasets.popitem(last=False)
    return loaded


def forget_datasets() -> None:
    """Drop every cached dataset (the sidebar's Rescan), so the next read re-checks the files."""
    with _lock:
        _datasets.clear()


@st.cache_data(show_spinner=False, max_entries=20_000)
def thumbnail_data_uri(thumb_path: str) -> str:
    """A thumbnail as a data: URI; the path embeds the file's size and mtime, so it never goes stale."""
    return "data:image/jpeg;base64," + base64.b64encode(Path(thumb_path).read_bytes()).decode("ascii")


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
