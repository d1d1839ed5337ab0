"""The paginated thumbnail gallery every page reuses.

One inline component (st.components.v2) draws a whole page of thumbnails as a CSS grid from
cached JPEG thumbnails sent as data URIs; there is no Streamlit element per image. Clicking an
image opens a dialog with the full-size image and its metadata.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import streamlit as st

from core.io.images import ImageError, open_rgb
from workbench import state
from workbench.cache import thumbnail_data_uri

_HERE = Path(__file__).resolve().parent
_component = st.components.v2.component(
    "wb_gallery",
    html='<div class="wb-gallery"></div>',
    css=(_HERE / "gallery.css").read_text(encoding="utf-8"),
    js=(_HERE / "gallery.js").read_text(encoding="utf-8"),
)

# Mounting any inline component makes the browser fetch Streamlit's component code (BidiComponent and
# its Arrow chunks, ~200 KB in 5 files). This one draws nothing: once mounted it hides its own element
# container, so it leaves no gap.
_LOADER_JS = """export default function ({ parentElement }) {
  const host = parentElement.getRootNode().host || parentElement;
  const box = host.closest('[data-testid="stElementContainer"]');
  if (box) box.style.display = "none";
}"""
_code_loader = st.components.v2.component("wb_gallery_code_loader", html="<span hidden></span>", js=_LOADER_JS)

HIDDEN_IN_DETAIL = {"thumb", "caption", "sub", "tone", "path"}


def load_gallery_code() -> None:
    """Have the browser fetch the gallery's front-end code now; the router calls it first thing in every run.

    The browser fetches an element's code only when the element first arrives, over at most 6
    connections, in the order asked. On a new user's first view the sidebar's and the page's widgets
    (about 40 small files) were asked for first, and the gallery's code waited 0.4-0.7 s in that queue
    after its images had arrived (Chromium's resource timing). Drawn before the project is loaded, the
    code is on its way before any of them. Drawn in every run at the same place, so nothing below it moves.
    """
    _code_loader(key=state.GALLERY_CODE_LOADER)


def gallery(
    items: pd.DataFrame,
    *,
    name: str,
    page_size: int = 48,
    min_px: int = 112,
    empty_text: str = "No images match.",
    detail: Callable[[pd.Series], None] | None = None,
    render: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
) -> str | None:
    """Show `items` as pages of thumbnails; returns the ID clicked in this rerun, if any.

    items: one row per image with columns ID, thumb (thumbnail path), path (full image), caption,
    and optionally sub (second caption line), tone ("good" / "bad" / "") and any metadata columns,
    which the detail dialog lists. detail(row), when given, draws more inside the dialog, below
    the image and its metadata (e.g. probability bars and nearest neighbours).
    render(rows), when given, turns rows of `items` into such rows, and is called on the shown page
    (and a clicked row) only: a split of 140,000 predictions is captioned 48 at a time, not whole.
    """
    total = len(items)
    num_pages = max(1, -(-total // page_size))
    header = st.container()
    page = 1
    if num_pages > 1:
        page = st.pagination(num_pages, key=state.gallery_page_key(name, num_pages), max_visible_pages=7)
    start = (page - 1) * page_size
    shown = items.iloc[start : start + page_size]
    if render is not None:
        shown = render(shown)
    header.caption(
        f"{total:,} image(s)" + (f", showing {start + 1:,}-{start + len(shown):,}" if total > page_size else "")
    )
    result = _component(
        data={"items": page_payload(shown), "min_px": min_px, "empty": empty_text},
        key=state.gallery_component_key(name),
        on_clicked_change=lambda: None,
    )
    clicked = getattr(result, "clicked", None)
    if clicked:
        match = items.loc[items["ID"] == clicked]
        if render is not None and len(match):
            match = render(match)
        if len(match):
            show_detail(match.iloc[0], detail)
        return str(clicked)
    return None


def page_payload(shown: pd.DataFrame) -> list[dict]:
    """What the grid receives for the items on one page: thumbnails as data: URIs, captions, tone."""
    payload = []
    for row in shown.itertuples(index=False):
        record = row._asdict()
        payload.append(
            {
                "id": record["ID"],
                "src": thumbnail_data_uri(record["thumb"]),
                "caption": record.get("caption", record["ID"]),
                "sub": record.get("sub", ""),
                "tone": record.get("tone", ""),
                "title": record["ID"],
            }
        )
    return payload


@st.dialog("Image", width="large")
def show_detail(row: pd.Series, detail: Callable[[pd.Series], None] | None = None) -> None:
    """The image at full resolution beside its metadata, then whatever `detail(row)` draws."""
    left, right = st.columns([2, 3])  # the image is 384 px wide; the metadata gets the rest (long class names)
    with left:
        try:
            image = open_rgb(Path(row["path"]))
        except ImageError as exc:
            st.error(str(exc))
        else:
            # Small images are scaled up without smoothing so individual pixels stay visible.
            width = image.width if image.width >= 384 else 384
            st.image(image, width=width)
    with right:
        st.subheader(str(row["ID"]))
        meta = {k: v for k, v in row.items() if k not in HIDDEN_IN_DETAIL and pd.notna(v) and v != ""}
        st.dataframe(
            pd.DataFrame({"field": list(meta), "value": [str(v) for v in meta.values()]}),
            hide_index=True,
            width="stretch",
            column_config={"field": st.column_config.TextColumn(width="small")},  # room for long class names
        )
        # The path as text that wraps, with a copy button: in the table it was cut at the column's edge.
        st.caption("File")
        st.code(str(row.get("path", "")), language=None, wrap_lines=True)
    if detail is not None:
        detail(row)
