"""The label-review queue: one card per flagged image, decisions by button or keyboard, undo.

Every decision goes through `core.labels.decisions.record_decision` inside a widget callback, so it is
committed to SQLite before the rerun that draws the next item starts: what the page shows as saved
is on disk. The item on screen travels with each action (its ID, the label seen, a request id), so
a double click stores one decision and a stale keypress cannot decide the wrong image; a second tab
that decided the same image first wins, and this tab is told so.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import streamlit as st

from core.io.atomic import SaveError
from core.io.text import shown
from core.issues.run_issues import KIND_TITLES
from core.labels.decisions import (
    Decision,
    DecisionConflict,
    DecisionRequest,
    record_decision,
    record_decisions,
    undo_decision,
)
from core.labels.review import top_classes
from core.project.dataset import Dataset
from core.project.db import DatabaseError
from core.runs.folder import prob_columns
from workbench import state
from workbench.cache import REFERENCES, Review, display_image_uri, thumbnail_data_uri
from workbench.components.gallery import gallery

_HERE = Path(__file__).resolve().parent
_card = st.components.v2.component(
    "wb_review_card",
    html='<div class="wb-review"></div>',
    css=(_HERE / "review_card.css").read_text(encoding="utf-8"),
    js=(_HERE / "review_card.js").read_text(encoding="utf-8"),
)

# key -> action of the keyboard shortcuts (the buttons show the same letters)
SHORTCUTS = {
    "k": "keep",
    "a": "accept",
    "enter": "accept",
    "r": "relabel",
    "d": "drop",
    "m": "ambiguous",
    "s": "skip",
    "u": "undo",
}
HINT = (
    "Keys: K keep · A or Enter accept suggestion · R relabel to the chosen class · D drop · "
    "M ambiguous · S skip · U undo"
)


def _thumbs(data: Dataset, ids: list[str]) -> list[str | None]:
    """Thumbnail paths of train images, in the order of `ids` (None where there is none)."""
    images = data.images
    found = images.loc[(images["split"] == "train") & images["name"].isin(ids)]
    lookup = dict(zip(found["name"], found["thumb"]))
    return [lookup.get(i) or None for i in ids]


def make_item(row: pd.Series, *, run_id: str) -> dict:
    """The item on screen, as the actions need it (ids and labels only)."""
    given, suggested = int(row["given_label"]), int(row["suggested_label"])
    if suggested == given:  # flagged for another kind, or the model agrees: offer the runner-up
        probs = [float(row[c]) for c in prob_columns(sum(c.startswith("prob_") for c in row.index))]
        ranked = [c for c, _ in top_classes(probs, k=2) if c != given]
        suggested = ranked[0] if ranked else given
    return {
        "ID": str(row["ID"]),
        "given": given,
        "suggested": suggested,
        "run": run_id,
        "request": f"{state.issues_session_token()}:{uuid.uuid4().hex[:12]}",
    }


# ------------------------------------------------------------------------------------------- actions


def save_failed(exc: BaseException) -> str:
    """The one line a failed save shows (SaveError and DatabaseError name the file and the reason)."""
    return str(exc) if isinstance(exc, SaveError | DatabaseError) else f"could not save: {shown(exc, 200)}"


@contextmanager
def saving() -> Iterator[None]:
    """Around a write a button asked for: a failed save (disk full, a damaged workbench.db) is drawn as
    st.error and the run stops there, so no rerun wipes the message; nothing was stored."""
    try:
        yield
    except (OSError, DatabaseError) as exc:
        st.error(save_failed(exc), icon=":material/error:")
        st.stop()


def decide(
    db_path: Path,
    item: Mapping,
    action: str,
    new_label: int | None = None,
    *,
    expected_latest: int | None = None,
    notify: Callable[[str], None] = state.set_review_notice,
) -> Decision | None:
    """Widget callback: store one decision about the item on screen (committed before the rerun).

    expected_latest: the id of the image's decision the user saw (None: undecided, as in the queue);
    notify: where the outcome is told (the review card's notice; the image dialog passes its own).
    Returns the decision stored, or None when another tab decided the image meanwhile.
    """
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
            expected_latest=expected_latest,
            request_id=item["request"],
        )
    except DecisionConflict as conflict:
        notify(f"{conflict}. It was left as it is (decided in another tab or from the command line).")
        return None
    except (OSError, DatabaseError) as exc:  # a callback: drawn at the top of the next run, not a traceback
        st.error(save_failed(exc), icon=":material/error:")
        notify(f"Not saved: {item['ID']} ({save_failed(exc)}).")
        return None
    state.push_undo([decision.id])
    notify(f"Saved: {item['ID']} {decision.describe()}.")
    return decision


def skip(item: Mapping) -> None:
    state.skip_image(item["ID"])
    state.set_review_notice(f"Skipped {item['ID']} (it comes back at the end of the queue).")


def undo_last(db_path: Path) -> None:
    """Revert this session's newest decision that is still in force (repeat to go further back)."""
    while (decision_id := state.pop_undo()) is not None:
        try:
            reverted = undo_decision(db_path, decision_id)
        except (OSError, DatabaseError) as exc:
            state.push_undo([decision_id])  # still in force: the next Undo tries it again
            st.error(save_failed(exc), icon=":material/error:")
            return
        if reverted is not None:
            state.set_review_notice(f"Undone: {reverted.image_id} {reverted.describe()}; it is back in the queue.")
            return
    state.set_review_notice("Nothing to undo in this session.")


def on_card_action(db_path: Path) -> None:
    """Callback of the card's keyboard trigger: the action applies only to the item still on screen."""
    value = st.session_state.get(state.ISSUES_CARD)
    payload = value.get("action") if isinstance(value, Mapping) else getattr(value, "action", None)
    item = state.review_item()
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
    elif action in ("keep", "accept", "drop", "ambiguous"):
        decide(db_path, item, action)


def bulk_accept(db_path: Path, rows: pd.DataFrame, run_id: str) -> tuple[int, int]:
    """Relabel every row to its suggested class in one transaction; returns (stored, already decided)."""
    requests = [
        DecisionRequest(str(r.ID), "relabel", int(r.given_label), int(r.suggested_label), expected_latest=None)
        for r in rows.itertuples(index=False)
        if int(r.suggested_label) != int(r.given_label)
    ]
    stored, conflicts = record_decisions(db_path, requests, source="bulk", run_id=run_id)
    state.push_undo([d.id for d in stored])
    return len(stored), len(conflicts)


def mark_ambiguous(db_path: Path, rows: pd.DataFrame, run_id: str) -> tuple[int, int]:
    """Mark every row's image ambiguous (its given label kept) in one transaction; returns (stored, already decided).

    rows: queue rows (ID, given_label). An image that already has a decision is never overwritten:
    it is skipped and counted, as is a second row of the same image.
    """
    requests = [
        DecisionRequest(str(r.ID), "ambiguous", int(r.given_label), expected_latest=None)
        for r in rows.itertuples(index=False)
    ]
    stored, conflicts = record_decisions(db_path, requests, source="bulk", run_id=run_id)
    state.push_undo([d.id for d in stored])
    return len(stored), len(conflicts)


def group_decision(db_path: Path, members: pd.DataFrame, action: str, run_id: str) -> tuple[int, int]:
    """Keep every member, drop every member, or keep the first and drop the rest (one transaction)."""
    requests = []
    for position, row in enumerate(members.itertuples(index=False)):
        this = action if action != "dedupe" else ("keep" if position == 0 else "drop")
        expected = None if pd.isna(row.expected) else int(row.expected)
        requests.append(DecisionRequest(str(row.ID), this, int(row.label), expected_latest=expected))
    stored, conflicts = record_decisions(db_path, requests, source="bulk", run_id=run_id)
    state.push_undo([d.id for d in stored])
    return len(stored), len(conflicts)


# ------------------------------------------------------------------------------------------- drawing


def review_card(data: Dataset, review: Review, item: dict | None, *, position: str, db_path: Path) -> None:
    """The card of `item` (None: the queue is empty), wired to the keyboard."""
    notice = state.pop_review_notice()
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
        probs = [float(row[c]) for c in prob_columns(num_classes)]
        bars = []
        for target, p in top_classes(probs, keep=(item["given"], item["suggested"]), k=5):
            role = " ".join(r for r, t in (("given", item["given"]), ("suggested", item["suggested"])) if t == target)
            bars.append({"label": data.class_label(target), "p": p, "role": role})
        flags = [KIND_TITLES[k].rstrip("s") for k in str(row["kinds"]).split(",") if k]
        refs = []
        for role, target in (("given", item["given"]), ("suggested", item["suggested"])):
            members = [i for i in review.references.get(target, []) if i != item["ID"]][: REFERENCES - 1]
            thumbs = _thumbs(data, members)
            refs.append(
                {
                    "title": f"{role} class {data.class_label(target)}: confident examples",
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
            "given": data.class_label(item["given"]),
            "suggested": data.class_label(item["suggested"]),
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
                "caption": data.class_label(label),
                "sub": image_id if value is None else f"{image_id} · {value:.3f}",
                "tone": "",
            }
        )
    return pd.DataFrame(rows, columns=["ID", "thumb", "path", "caption", "sub", "tone"])


GROUPS_PER_PAGE = 6
GROUP_ACTIONS = {
    "near_duplicate": [("keep", "Keep all"), ("dedupe", "Keep one, drop the rest"), ("drop", "Drop all")],
    "leakage": [("keep", "Keep the train copy"), ("drop", "Drop the train copy")],
}


def group_view(data: Dataset, review: Review, groups: pd.DataFrame, *, kind: str, db_path: Path, run_id: str) -> None:
    """Near-duplicate (or train/test leakage) groups side by side, conflicting labels first, with group actions."""
    from core.labels.decisions import current_decisions

    current = current_decisions(db_path).set_index("ID")
    labels = review.by_id["given_label"]
    conflicts = _conflicting_groups(groups, labels)
    order = sorted(groups["group"].unique(), key=lambda g: (not bool(conflicts.get(g, False)), g))
    st.caption(_groups_caption(kind, len(order), int(conflicts.sum())))
    num_pages = max(1, -(-len(order) // GROUPS_PER_PAGE))
    page = 1
    if num_pages > 1:
        page = st.pagination(num_pages, key=state.issues_group_page_key(kind, num_pages), max_visible_pages=7)
    images = data.images.set_index(["split", "name"])
    for group in order[(page - 1) * GROUPS_PER_PAGE : page * GROUPS_PER_PAGE]:
        conflicting = bool(conflicts.get(group, False))
        members = groups.loc[groups["group"] == group]
        frame = _group_rows(data, members, images=images, labels=labels, current=current, conflicting=conflicting)
        if not frame.empty:
            _group_card(frame, group=group, kind=kind, conflicting=conflicting, db_path=db_path, run_id=run_id)


def _conflicting_groups(groups: pd.DataFrame, labels: pd.Series) -> pd.Series:
    """group -> whether its train members carry more than one given label."""
    train_members = groups.loc[groups["split"] == "train"]
    label_sets = train_members.assign(label=labels.reindex(train_members["ID"]).to_numpy()).groupby("group")["label"]
    return label_sets.nunique() > 1


def _groups_caption(kind: str, num_groups: int, num_conflicting: int) -> str:
    plural = "" if num_groups == 1 else "s"
    what = (
        f"near-duplicate group{plural}"
        if kind == "near_duplicate"
        else f"group{plural} of train images nearly identical to test images"
    )
    return f"{num_groups:,} {what}, {num_conflicting:,} with conflicting train labels (shown first). " + (
        "Keeping one copy of each group stops a duplicated image from counting twice."
        if kind == "near_duplicate"
        else "Train copies of test images inflate validation scores and leak the test set."
    )


def _group_rows(
    data: Dataset,
    members: pd.DataFrame,
    *,
    images: pd.DataFrame,
    labels: pd.Series,
    current: pd.DataFrame,
    conflicting: bool,
) -> pd.DataFrame:
    """Gallery items of one group's images, with each train image's label, decision and expected decision id."""
    rows = []
    for member in members.itertuples(index=False):
        key = (member.split, member.ID)
        if key not in images.index:
            continue
        decision = current.loc[member.ID] if member.split == "train" and member.ID in current.index else None
        label = int(labels.get(member.ID, -1)) if member.split == "train" else None
        status = ""
        if decision is not None and decision["action"] in ("drop", "ambiguous"):
            status = "dropped" if decision["action"] == "drop" else "marked ambiguous"
        elif decision is not None:
            status = f"now {data.class_label(decision['new_label'])}"
        rows.append(
            {
                "ID": member.ID,
                "thumb": images.at[key, "thumb"],
                "path": str(data.layout.image_dir(member.split) / member.ID),
                "caption": f"test · {member.ID}" if label is None else data.class_label(label),
                "sub": member.ID if member.split == "train" else "test image",
                "tone": "bad" if conflicting and member.split == "train" else "",
                "split": member.split,
                "decision": status,
                "label": label,
                "expected": None if decision is None else int(decision["decision_id"]),
            }
        )
    return pd.DataFrame(rows)


def _group_card(frame: pd.DataFrame, *, group, kind: str, conflicting: bool, db_path: Path, run_id: str) -> None:
    """One group: its header, the group actions, what was decided, and its images."""
    train_rows = frame.loc[frame["split"] == "train"]
    with st.container(border=True):
        st.markdown(
            f"**Group {group}** · {len(train_rows)} train"
            + (f" + {len(frame) - len(train_rows)} test" if len(frame) > len(train_rows) else "")
            + (" · :red[conflicting labels]" if conflicting else "")
        )
        with st.container(horizontal=True):
            for action, title in GROUP_ACTIONS[kind]:
                if st.button(title, key=state.issues_button_key(f"{kind}.{group}.{action}"), width="content"):
                    with saving():
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
