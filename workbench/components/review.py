"""The label-review queue: one card per flagged image, decisions by button or keyboard, undo.

Every decision goes through `core.labels.decisions.record_decision` inside a widget callback, so it is
committed to SQLite before the rerun that draws the next item starts: what the page shows as saved
is on disk. The item on screen travels with each action (its ID, the label seen, a request id), so
a double click stores one decision and a stale keypress cannot decide the wrong image; a second tab
that decided the same image first wins, and this tab is told so.
"""

from __future__ import annotations

import base64
import io
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from core.io.images import ImageError, open_rgb
from core.issues.run_issues import KIND_TITLES, RunIssues, issues_for_runs
from core.labels.decisions import DecisionConflict, DecisionRequest, record_decision, record_decisions, undo_decision
from core.labels.review import confident_examples, top_classes
from core.project.dataset import Dataset
from workbench import state
from workbench.components.gallery import gallery
from workbench.data import thumbnail_data_uri

_HERE = Path(__file__).resolve().parent
_card = st.components.v2.component(
    "wb_review_card",
    html='<div class="wb-review"></div>',
    css=(_HERE / "review_card.css").read_text(encoding="utf-8"),
    js=(_HERE / "review_card.js").read_text(encoding="utf-8"),
)

# key -> action of the keyboard shortcuts (the buttons show the same letters)
SHORTCUTS = {"k": "keep", "a": "accept", "enter": "accept", "r": "relabel", "d": "drop", "s": "skip", "u": "undo"}
HINT = "Keys: K keep · A or Enter accept suggestion · R relabel to the chosen class · D drop · S skip · U undo"
DISPLAY_PX = 512  # the large image is at most this many pixels on its long side
PIXELATED_BELOW = 160  # smaller images are scaled up without smoothing, so pixels stay visible
REFERENCES = 4


@dataclass(frozen=True)
class Review:
    """What the Issues page works from, shared read-only by every session (cache_resource)."""

    issues: RunIssues
    queue: pd.DataFrame  # RunIssues.queue()
    references: dict[int, list[str]]  # class -> confident example IDs
    by_id: pd.DataFrame  # the label table indexed by ID, with the queue's `kinds` column ("" when unflagged)


AUTO_DATALAB_ROWS = 20_000  # above this, Datalab (minutes) runs only when asked; label issues always run


@st.cache_resource(show_spinner=False, max_entries=8)
def _load_review(project: str, run_ids: tuple[str, ...], key: str, with_data: bool) -> Review:
    from core.project.layout import open_layout

    issues = issues_for_runs(open_layout(project), run_ids, data=with_data)
    queue = issues.queue()
    by_id = issues.labels.set_index("ID")
    by_id["kinds"] = queue.set_index("ID")["kinds"].reindex(by_id.index).fillna("")
    references = confident_examples(issues.labels, per_class=REFERENCES)
    return Review(issues=issues, queue=queue, references=references, by_id=by_id)


def load_review(layout, run_ids: tuple[str, ...], *, with_data: bool = True) -> Review:
    """The issues of `run_ids`, computed on first use (with a spinner), then read from the cache.

    with_data=False skips Datalab (outliers, duplicates, leakage): label issues only.
    """
    from core.issues.label_issues import DEFAULT_FILTER_BY, DEFAULT_SCORE_METHOD
    from core.issues.run_issues import cache_key

    key = cache_key(layout, run_ids, filter_by=DEFAULT_FILTER_BY, score_method=DEFAULT_SCORE_METHOD, data=with_data)
    what = "label issues, outliers, duplicates and leakage" if with_data else "label issues"
    with st.spinner(f"Finding {what} with cleanlab (once per run; cached under .workbench/cache/issues)..."):
        return _load_review(str(layout.root), run_ids, key, with_data)


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


def _thumbs(data: Dataset, ids: list[str]) -> list[str | None]:
    """Thumbnail paths of train images, in the order of `ids` (None where there is none)."""
    images = data.images
    found = images.loc[(images["split"] == "train") & images["name"].isin(ids)]
    lookup = dict(zip(found["name"], found["thumb"]))
    return [lookup.get(i) or None for i in ids]


def class_label(data: Dataset, target) -> str:
    return f"{int(target)} · {data.class_name(int(target))}"


def session_token() -> str:
    if state.ISSUES_SESSION not in st.session_state:
        st.session_state[state.ISSUES_SESSION] = uuid.uuid4().hex[:12]
    return st.session_state[state.ISSUES_SESSION]


def make_item(row: pd.Series, *, run_id: str) -> dict:
    """The item on screen, as the actions need it (ids and labels only)."""
    given, suggested = int(row["given_label"]), int(row["suggested_label"])
    if suggested == given:  # flagged for another kind, or the model agrees: offer the runner-up
        probs = [float(row[f"prob_{k}"]) for k in range(sum(c.startswith("prob_") for c in row.index))]
        ranked = [c for c, _ in top_classes(probs, k=2) if c != given]
        suggested = ranked[0] if ranked else given
    return {
        "ID": str(row["ID"]),
        "given": given,
        "suggested": suggested,
        "run": run_id,
        "request": f"{session_token()}:{uuid.uuid4().hex[:12]}",
    }


# ------------------------------------------------------------------------------------------- actions


def _notice(text: str) -> None:
    st.session_state[state.ISSUES_NOTICE] = text


def decide(db_path: Path, item: Mapping, action: str, new_label: int | None = None) -> None:
    """Widget callback: store one decision about the item on screen (committed before the rerun)."""
    if action == "accept":
        action, new_label = "relabel", item["suggested"]
    if action == "relabel" and new_label is not None and int(new_label) == item["given"]:
        action, new_label = "keep", None  # relabelling to the label it has is keeping it
    source = "cleanlab" if action == "relabel" and new_label == item["suggested"] else "manual"
    try:
        decision = record_decision(
            db_path,
            item["ID"],
            action,
            old_label=item["given"],
            new_label=new_label,
            source=source,
            run_id=item["run"],
            expected_latest=None,  # the queue shows undecided images only
            request_id=item["request"],
        )
    except DecisionConflict as conflict:
        _notice(f"{conflict}. It was left as it is (decided in another tab or from the command line).")
        return
    stack = st.session_state.setdefault(state.ISSUES_UNDO, [])
    if decision.id not in stack:
        stack.append(decision.id)
    _notice(f"Saved: {item['ID']} {decision.describe()}.")


def skip(item: Mapping) -> None:
    skipped = st.session_state.setdefault(state.ISSUES_SKIPPED, [])
    if item["ID"] not in skipped:
        skipped.append(item["ID"])
    _notice(f"Skipped {item['ID']} (it comes back at the end of the queue).")


def undo_last(db_path: Path) -> None:
    """Revert this session's newest decision that is still in force (repeat to go further back)."""
    stack = st.session_state.setdefault(state.ISSUES_UNDO, [])
    while stack:
        reverted = undo_decision(db_path, stack.pop())
        if reverted is not None:
            _notice(f"Undone: {reverted.image_id} {reverted.describe()}; it is back in the queue.")
            return
    _notice("Nothing to undo in this session.")


def on_card_action(db_path: Path) -> None:
    """Callback of the card's keyboard trigger: the action applies only to the item still on screen."""
    value = st.session_state.get(state.ISSUES_CARD)
    payload = value.get("action") if isinstance(value, Mapping) else getattr(value, "action", None)
    item = st.session_state.get(state.ISSUES_ITEM)
    if not isinstance(payload, Mapping) or not item:
        return
    action = payload.get("action")
    if action == "undo":
        undo_last(db_path)
        return
    if payload.get("id") != item["ID"]:
        return  # pressed while another item was loading: ignore rather than guess
    if action == "skip":
        skip(item)
    elif action == "relabel":
        decide(db_path, item, "relabel", st.session_state.get(state.issues_relabel_key(item["ID"]), item["suggested"]))
    elif action in ("keep", "accept", "drop"):
        decide(db_path, item, action)


def bulk_accept(db_path: Path, rows: pd.DataFrame, run_id: str) -> tuple[int, int]:
    """Relabel every row to its suggested class in one transaction; returns (stored, already decided)."""
    requests = [
        DecisionRequest(str(r.ID), "relabel", int(r.given_label), int(r.suggested_label), expected_latest=None)
        for r in rows.itertuples(index=False)
        if int(r.suggested_label) != int(r.given_label)
    ]
    stored, conflicts = record_decisions(db_path, requests, source="bulk", run_id=run_id)
    st.session_state.setdefault(state.ISSUES_UNDO, []).extend(d.id for d in stored)
    return len(stored), len(conflicts)


def group_decision(db_path: Path, members: pd.DataFrame, action: str, run_id: str) -> tuple[int, int]:
    """Keep every member, drop every member, or keep the first and drop the rest (one transaction)."""
    requests = []
    for position, row in enumerate(members.itertuples(index=False)):
        this = action if action != "dedupe" else ("keep" if position == 0 else "drop")
        expected = None if pd.isna(row.expected) else int(row.expected)
        requests.append(DecisionRequest(str(row.ID), this, int(row.label), expected_latest=expected))
    stored, conflicts = record_decisions(db_path, requests, source="bulk", run_id=run_id)
    st.session_state.setdefault(state.ISSUES_UNDO, []).extend(d.id for d in stored)
    return len(stored), len(conflicts)


# ------------------------------------------------------------------------------------------- drawing


def review_card(data: Dataset, review: Review, item: dict | None, *, position: str, db_path: Path) -> None:
    """The card of `item` (None: the queue is empty), wired to the keyboard."""
    notice = st.session_state.pop(state.ISSUES_NOTICE, "")
    payload: dict = {
        "item": None,
        "notice": notice,
        "empty": "Nothing left to review with these filters.",
        "hint": HINT,
    }
    if item is not None:
        row = review.by_id.loc[item["ID"]]
        path = data.layout.train_dir / item["ID"]
        try:
            mtime = path.stat().st_mtime_ns
        except OSError:
            mtime = 0
        src, small = display_image_uri(str(path), mtime)
        num_classes = review.issues.num_classes
        probs = [float(row[f"prob_{k}"]) for k in range(num_classes)]
        bars = []
        for target, p in top_classes(probs, keep=(item["given"], item["suggested"]), k=5):
            role = " ".join(r for r, t in (("given", item["given"]), ("suggested", item["suggested"])) if t == target)
            bars.append({"label": class_label(data, target), "p": p, "role": role})
        flags = [KIND_TITLES[k].rstrip("s") for k in str(row["kinds"]).split(",") if k]
        refs = []
        for role, target in (("given", item["given"]), ("suggested", item["suggested"])):
            members = [i for i in review.references.get(target, []) if i != item["ID"]][: REFERENCES - 1]
            thumbs = _thumbs(data, members)
            refs.append(
                {
                    "title": f"{role} class {class_label(data, target)}: confident examples",
                    "role": role,
                    "images": [
                        {"id": i, "src": thumbnail_data_uri(t)} for i, t in zip(members, thumbs) if isinstance(t, str)
                    ],
                }
            )
        payload["item"] = {
            "id": item["ID"],
            "src": src,
            "pixelated": small,
            "given": class_label(data, item["given"]),
            "suggested": class_label(data, item["suggested"]),
            "score": f"{float(row['label_score']):.4f}",
            "position": position,
            "flags": flags,
            "bars": bars,
            "refs": refs,
        }
        payload["keys"] = SHORTCUTS
    _card(data=payload, key=state.ISSUES_CARD, on_action_change=lambda: on_card_action(db_path))


def gallery_rows(data: Dataset, review: Review, ids: list[str], *, score: pd.Series | None = None) -> pd.DataFrame:
    """Gallery items (core.analysis.overview.gallery_items' columns) of train images, captioned with their label."""
    images = data.images.loc[(data.images["split"] == "train") & data.images["name"].isin(ids)].set_index("name")
    rows = []
    scores = list(score) if score is not None else [None] * len(ids)
    for image_id, value in zip(ids, scores):
        if image_id not in images.index or image_id not in review.by_id.index:
            continue
        label = int(review.by_id.at[image_id, "given_label"])
        rows.append(
            {
                "ID": image_id,
                "thumb": images.at[image_id, "thumb"],
                "path": str(data.layout.train_dir / image_id),
                "caption": class_label(data, label),
                "sub": image_id if value is None else f"{image_id} · {value:.3f}",
                "tone": "",
            }
        )
    return pd.DataFrame(rows, columns=["ID", "thumb", "path", "caption", "sub", "tone"])


GROUPS_PER_PAGE = 6


def group_view(data: Dataset, review: Review, groups: pd.DataFrame, *, kind: str, db_path: Path, run_id: str) -> None:
    """Near-duplicate (or train/test leakage) groups side by side, conflicting labels first, with group actions."""
    from core.labels.decisions import current_decisions

    current = current_decisions(db_path).set_index("ID")
    labels = review.by_id["given_label"]
    train_members = groups.loc[groups["split"] == "train"]
    label_sets = train_members.assign(label=labels.reindex(train_members["ID"]).to_numpy()).groupby("group")["label"]
    conflicts = label_sets.nunique() > 1
    order = sorted(groups["group"].unique(), key=lambda g: (not bool(conflicts.get(g, False)), g))
    num_conflicting = int(conflicts.sum())
    plural = "" if len(order) == 1 else "s"
    what = (
        f"near-duplicate group{plural}"
        if kind == "near_duplicate"
        else f"group{plural} of train images nearly identical to test images"
    )
    st.caption(
        f"{len(order):,} {what}, {num_conflicting:,} with conflicting train labels (shown first). "
        + (
            "Keeping one copy of each group stops a duplicated image from counting twice."
            if kind == "near_duplicate"
            else "Train copies of test images inflate validation scores and leak the test set."
        )
    )
    num_pages = max(1, -(-len(order) // GROUPS_PER_PAGE))
    page = 1
    if num_pages > 1:
        page = st.pagination(num_pages, key=f"{state.ISSUES_GROUP_PAGE}.{kind}.{num_pages}", max_visible_pages=7)
    images = data.images.set_index(["split", "name"])
    for group in order[(page - 1) * GROUPS_PER_PAGE : page * GROUPS_PER_PAGE]:
        members = groups.loc[groups["group"] == group]
        rows = []
        for member in members.itertuples(index=False):
            key = (member.split, member.ID)
            if key not in images.index:
                continue
            decision = current.loc[member.ID] if member.split == "train" and member.ID in current.index else None
            label = int(labels.get(member.ID, -1)) if member.split == "train" else None
            status = ""
            if decision is not None:
                status = (
                    "dropped" if decision["action"] == "drop" else f"now {class_label(data, decision['new_label'])}"
                )
            rows.append(
                {
                    "ID": member.ID,
                    "thumb": images.at[key, "thumb"],
                    "path": str(data.layout.image_dir(member.split) / member.ID),
                    "caption": f"test · {member.ID}" if label is None else class_label(data, label),
                    "sub": member.ID if member.split == "train" else "test image",
                    "tone": "bad" if bool(conflicts.get(group, False)) and member.split == "train" else "",
                    "split": member.split,
                    "decision": status,
                    "label": label,
                    "expected": None if decision is None else int(decision["decision_id"]),
                }
            )
        frame = pd.DataFrame(rows)
        if frame.empty:
            continue
        train_rows = frame.loc[frame["split"] == "train"]
        with st.container(border=True):
            st.markdown(
                f"**Group {group}** · {len(train_rows)} train"
                + (f" + {len(frame) - len(train_rows)} test" if len(frame) > len(train_rows) else "")
                + (" · :red[conflicting labels]" if conflicts.get(group, False) else "")
            )
            actions = (
                [("keep", "Keep all"), ("dedupe", "Keep one, drop the rest"), ("drop", "Drop all")]
                if kind == "near_duplicate"
                else [("keep", "Keep the train copy"), ("drop", "Drop the train copy")]
            )
            with st.container(horizontal=True):
                for action, title in actions:
                    if st.button(title, key=state.issues_button_key(f"{kind}.{group}.{action}"), width="content"):
                        stored, skipped = group_decision(db_path, train_rows, action, run_id)
                        st.toast(
                            f"Group {group}: {stored} decision(s) saved"
                            + (f", {skipped} skipped (decided meanwhile in another tab)" if skipped else "")
                        )
                        st.rerun()
            decided = [f"{r.ID}: {r.decision}" for r in train_rows.itertuples() if r.decision]
            if decided:
                st.caption("Decided: " + "; ".join(decided))
            gallery(frame, name=f"issues_{kind}_{group}", page_size=12, min_px=110)
