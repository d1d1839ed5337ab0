"""Cached reads of a run's stored results for the analysis pages (Browse, Errors, Embeddings).

Every cache is keyed by the run folder and the files' size + mtime, so a rerun never rereads an
unchanged file and a rewritten file is never served stale. Nothing here recomputes what a run
stored; the prediction table only reshapes oof.csv + test_probs.csv (core.analysis.predictions).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from core.analysis.predictions import prediction_table
from core.embeddings.neighbours import unit_rows
from core.embeddings.projection_job import read_projection
from core.runs.folder import EMBEDDING_IDS, EMBEDDINGS, OOF, TEST_PROBS, read_oof, read_test_probs


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


def predictions(run_dir: Path, *, num_classes: int, test_labels: pd.DataFrame | None) -> pd.DataFrame:
    """The run's prediction table (core.analysis.predictions.prediction_table): train out-of-fold rows, then test rows."""
    run_dir = Path(run_dir)
    labels_key = None if test_labels is None else (len(test_labels), int(pd.util.hash_pandas_object(test_labels).sum()))
    return _predictions(
        str(run_dir), _stamp(run_dir / OOF), _stamp(run_dir / TEST_PROBS), num_classes, labels_key, test_labels
    )


@st.cache_data(show_spinner=False, max_entries=8)
def _predictions(run_dir: str, oof_stamp, test_stamp, num_classes: int, labels_key, _test_labels) -> pd.DataFrame:
    # The hold-out labels are keyed by labels_key (a cheap hash); Streamlit skips `_`-prefixed arguments.
    folder = Path(run_dir)
    oof = read_oof(folder) if oof_stamp else None
    test = read_test_probs(folder) if test_stamp else None
    return prediction_table(oof, test, _test_labels, num_classes=num_classes)


def has_embeddings(run_dir: Path) -> bool:
    return (Path(run_dir) / EMBEDDINGS).is_file() and (Path(run_dir) / EMBEDDING_IDS).is_file()


def neighbour_index(run_dir: Path) -> tuple[np.ndarray, dict[tuple[str, str], int], pd.DataFrame] | None:
    """(unit-length embeddings (N, D) float32, {(split, ID): row}, the ID/split table) or None without embeddings.

    Shared read-only by every session (st.cache_resource): nobody may modify the arrays.
    """
    run_dir = Path(run_dir)
    if not has_embeddings(run_dir):
        return None
    return _neighbour_index(str(run_dir), _stamp(run_dir / EMBEDDINGS), _stamp(run_dir / EMBEDDING_IDS))


@st.cache_resource(show_spinner="Reading the run's embeddings...", max_entries=2)
def _neighbour_index(run_dir: str, emb_stamp, ids_stamp):
    folder = Path(run_dir)
    unit = unit_rows(np.load(folder / EMBEDDINGS))
    unit.flags.writeable = False
    ids = pd.read_csv(folder / EMBEDDING_IDS, dtype={"ID": str, "split": str}, keep_default_na=False)
    lookup = {(s, i): n for n, (s, i) in enumerate(zip(ids["split"], ids["ID"]))}
    return unit, lookup, ids


def projection(out: Path) -> pd.DataFrame:
    """A stored UMAP projection (ID, split, x, y), read once per file version."""
    return _projection(str(out), _stamp(Path(out)))


@st.cache_data(show_spinner=False, max_entries=6)
def _projection(out: str, stamp) -> pd.DataFrame:
    return read_projection(out)
