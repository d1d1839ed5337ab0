"""Download buttons for the files the workbench writes: a run's CSVs, label versions, recipes, the issues CSV.

The bytes are read only when the button is clicked (a callable as `data`), so a page with many
buttons costs nothing until one is used, and the click does not rerun the page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import streamlit as st

from workbench import state

_MIME = {".csv": "text/csv", ".yaml": "application/yaml", ".yml": "application/yaml", ".txt": "text/plain",
         ".json": "application/json"}  # fmt: skip


def _read(path: Path) -> bytes:
    """The file's bytes at click time (a file removed meanwhile downloads as a one-line note)."""
    try:
        return path.read_bytes()
    except OSError as exc:
        return f"{path.name} could not be read: {exc.strerror or exc}\n".encode()


def download_files(files: Sequence[Path], *, label: str = "{name}") -> None:
    """One button per regular file in `files` (the others are skipped), named as the file is."""
    present = [Path(p) for p in files if Path(p).is_file()]
    if not present:
        return
    row = st.container(horizontal=True)
    for path in present:
        row.download_button(
            label.format(name=path.name),
            data=partial(_read, path),
            file_name=path.name,
            mime=_MIME.get(path.suffix.lower(), "application/octet-stream"),
            key=state.download_key(str(path.resolve())),
            on_click="ignore",
            icon=":material/download:",
        )


def download_text(text: str | Callable[[], str], *, file_name: str, label: str | None = None) -> None:
    """A button that downloads `text` (or what the callable returns when clicked: a table made on demand) as `file_name`."""
    st.download_button(
        label or f"Download {file_name}",
        data=text,
        file_name=file_name,
        mime=_MIME.get(Path(file_name).suffix.lower(), "text/plain"),
        key=state.download_key(f"text:{file_name}"),
        on_click="ignore",
        icon=":material/download:",
    )
