"""Label health on the Issues page: the headline, the per-class table, the overlapping class pairs, a pair side by side.

    health_headline(data, health)                       how many labels look wrong, which classes overlap
    label_health_view(data, review, health, ...)        per class and per pair, or one pair side by side
    overlap_pairs(health)                               the pairs shown, and which of them overlap
    leaning(labels, given, towards)                     images labelled `given` the model puts in `towards`

The estimates are core.issues.health's (see its docstring); this module only sorts, counts and draws.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from core.issues.health import OVERLAP_SHARE, LabelHealth
from core.issues.label_issues import CONFIDENT
from core.labels.decisions import current_decisions
from core.project.dataset import Dataset
from workbench import state
from workbench.cache import Review, thumbnail_data_uri
from workbench.components import review as rv
from workbench.components.gallery import gallery

HEALTH_VIEW = "Label health"  # the Issues page's view of this module
PAIRS_SHOWN = 5  # overlapping pairs listed, most shared images first
THUMBS_PER_SIDE = 4  # thumbnails of each direction in the list of pairs
PAIR_ROWS = 200  # rows of each side of a pair reviewed side by side


def overlap_pairs(health: LabelHealth, *, pairs: int = PAIRS_SHOWN) -> pd.DataFrame:
    """health.overlapping's first `pairs` rows (with core's `plausible`, `share` and `overlaps`)."""
    return health.overlapping.head(pairs).reset_index(drop=True)


def overlapping_sets(health: LabelHealth) -> set[frozenset[int]]:
    """The pairs that overlap, each as {class a, class b}."""
    found = overlap_pairs(health)
    return {frozenset((int(r.class_a), int(r.class_b))) for r in found.itertuples() if r.overlaps}


def leaning(labels: pd.DataFrame, given: int, towards: int) -> pd.DataFrame:
    """Rows of the label table labelled `given` whose most likely class is `towards`, most confident first."""
    rows = labels.loc[(labels["given_label"] == given) & (labels["suggested_label"] == towards)]
    return rows.sort_values(f"prob_{towards}", ascending=False, kind="stable")


def decision_text(data: Dataset, action, new_label) -> str:
    """A current decision as a table cell: "relabel -> 1 · dog", "keep", "drop", "ambiguous"."""
    if action == "relabel" and pd.notna(new_label):
        return f"relabel -> {data.class_label(int(new_label))}"
    return str(action)


def overlap_sentence(data: Dataset, pair) -> str:
    a, b = data.class_name(pair.class_a), data.class_name(pair.class_b)
    return (
        f"**{a} and {b} overlap**: {pair.examples:,} images are plausible in both. Review them side by side "
        "or mark them ambiguous rather than relabelling them."
    )


# ------------------------------------------------------------------------------------------- headline


def health_headline(data: Dataset, health: LabelHealth) -> None:
    """The estimate of wrong labels, its upper bound, and each overlapping pair with a way to review it."""
    with st.container(border=True):
        st.markdown(
            f":material/health_and_safety: **~{health.likely_wrong:,} of {health.num_examples:,} labels "
            f"({health.likely_wrong_share:.1%}) look wrong**: the model puts them in another class with "
            f"probability ≥ {CONFIDENT}. Expect about {health.likely_wrong:,} flags in the review queue."
        )
        st.caption(
            f"Up to {health.cleanlab_estimate:,} by cleanlab's estimate, which also counts the images the model "
            f"finds plausible in two classes: an upper bound. Per class and per pair: **{HEALTH_VIEW}**."
        )
        for pair in overlap_pairs(health).itertuples():
            if not pair.overlaps:
                continue
            left, right = st.columns([6, 1], vertical_alignment="center")
            left.markdown(overlap_sentence(data, pair))
            right.button(
                "Side by side",
                key=state.issues_button_key(f"pair.{pair.class_a}.{pair.class_b}.headline"),
                icon=":material/compare:",
                on_click=state.open_pair,
                args=(pair.class_a, pair.class_b, HEALTH_VIEW),
            )


# ------------------------------------------------------------------------------------------- the view


def label_health_view(data: Dataset, review: Review, health: LabelHealth, *, db_path: Path, run_id: str) -> None:
    """Per class and per overlapping pair; a pair opened from its button is reviewed side by side instead."""
    pair = state.open_issues_pair()
    known = {(int(r.class_a), int(r.class_b)) for r in health.overlapping.itertuples()}
    if pair is not None and pair in known:
        pair_review(data, review, *pair, db_path=db_path, run_id=run_id)
        return
    st.markdown(f"**Per class**, worst first · label health score {health.health_score:.3f} (cleanlab, 1 = clean)")
    classes = health.classes
    worst = float(classes["likely_wrong_share"].max()) if len(classes) else 0.0
    st.dataframe(
        pd.DataFrame(
            {
                "class": [data.class_label(t) for t in classes["target"]],
                "images": classes["images"],
                "look wrong": classes["likely_wrong"],
                "share": classes["likely_wrong_share"],
                "upper bound": classes["cleanlab_estimate"],
                "quality score": classes["quality_score"],
            }
        ),
        hide_index=True,
        width="stretch",
        column_config={
            "share": st.column_config.ProgressColumn(format="percent", min_value=0.0, max_value=max(worst, 0.01)),
            "look wrong": st.column_config.NumberColumn(help=f"Put in another class with probability ≥ {CONFIDENT}"),
            "upper bound": st.column_config.NumberColumn(help="cleanlab's estimate: also counts ambiguous images"),
            "quality score": st.column_config.NumberColumn(format="%.3f", help="cleanlab's label quality score"),
        },
    )
    pair_list(data, review, health)


def pair_list(data: Dataset, review: Review, health: LabelHealth) -> None:
    """The class pairs the model mixes up most, with a few images of each direction and a button to review them."""
    pairs = overlap_pairs(health)
    st.markdown("**Class pairs the model mixes up most**")
    if pairs.empty:
        st.success("No two classes share images: the model tells every class apart.")
        return
    st.caption(
        f"cleanlab's find_overlapping_classes. A pair overlaps when the images the model finds plausible in both "
        f"(its confident flags left out) are at least {OVERLAP_SHARE:.0%} of the two classes' images; between other "
        "pairs the mix-ups are mostly confident flags, i.e. label errors. Thumbnails: images of each class the "
        f"model leans towards the other (red: flagged, p ≥ {CONFIDENT})."
    )
    for pair in pairs.itertuples():
        a, b = int(pair.class_a), int(pair.class_b)
        with st.container(border=True):
            left, right = st.columns([5, 1], vertical_alignment="center")
            left.markdown(
                f"**{data.class_label(a)} ↔ {data.class_label(b)}** · {pair.examples:,} images mixed up · "
                f"{pair.likely_wrong:,} of them confident flags"
                + (" · :orange-badge[overlap]" if pair.overlaps else "")
            )
            right.button(
                "Side by side",
                key=state.issues_button_key(f"pair.{a}.{b}.list"),
                icon=":material/compare:",
                on_click=state.open_pair,
                args=(a, b, HEALTH_VIEW),
            )
            thumbs = _pair_thumbs(data, review, a, b)
            if len(thumbs):
                gallery(thumbs, name=f"issues_pair_{a}_{b}", page_size=2 * THUMBS_PER_SIDE, min_px=80)


def _pair_thumbs(data: Dataset, review: Review, a: int, b: int) -> pd.DataFrame:
    """Gallery items: up to THUMBS_PER_SIDE images labelled a leaning to b, then b leaning to a. Images the model
    finds plausible in both come first; confident flags (red) only where there are too few of those."""
    thumbs = _train_thumbs(data)
    rows = []
    for given, towards in ((a, b), (b, a)):
        side = leaning(review.issues.labels, given, towards)
        side = side.loc[side["ID"].isin(thumbs.index)]
        confident = (side[f"prob_{towards}"] >= CONFIDENT).to_numpy()
        side = pd.concat([side.loc[~confident], side.loc[confident]]).head(THUMBS_PER_SIDE)
        for row in side.itertuples(index=False):
            p_towards, p_given = getattr(row, f"prob_{towards}"), getattr(row, f"prob_{given}")
            flagged = p_towards >= CONFIDENT
            rows.append(
                {
                    "ID": row.ID,
                    "thumb": thumbs[row.ID],
                    "path": str(data.layout.train_dir / row.ID),
                    "caption": f"{data.class_name(given)} → {data.class_name(towards)}",
                    "sub": f"p {p_towards:.2f} vs {p_given:.2f}",
                    "tone": "bad" if flagged else "",
                }
            )
    return pd.DataFrame(rows, columns=["ID", "thumb", "path", "caption", "sub", "tone"])


def _train_thumbs(data: Dataset) -> pd.Series:
    """ID -> thumbnail path of the train images that have one."""
    images = data.images.loc[data.images["split"] == "train"]
    images = images.loc[images["thumb"].map(lambda t: isinstance(t, str) and t != "")]
    return images.set_index("name")["thumb"]


# ------------------------------------------------------------------------------------------- side by side


def pair_review(data: Dataset, review: Review, a: int, b: int, *, db_path: Path, run_id: str) -> None:
    """Images labelled a that the model leans to b beside those labelled b leaning to a, with bulk actions."""
    st.button(
        "All pairs", key=state.issues_button_key("pair.close"), icon=":material/arrow_back:", on_click=state.close_pair
    )
    st.markdown(f"#### {data.class_label(a)} and {data.class_label(b)} side by side")
    st.caption(
        "Each side: images of one class whose most likely class is the other, undecided first, then the most "
        "confident. Where both readings are plausible, mark them ambiguous; relabel only what clearly belongs "
        "to the other class. Images already decided are never changed here."
    )
    if notice := state.pop_action_notice():
        st.success(notice, icon=":material/done_all:")
    current = current_decisions(db_path).set_index("ID")
    for column, (given, towards) in zip(st.columns(2, gap="medium"), ((a, b), (b, a))):
        with column:
            _pair_side(data, review, given, towards, current=current, db_path=db_path, run_id=run_id)


def _pair_side(
    data: Dataset, review: Review, given: int, towards: int, *, current: pd.DataFrame, db_path: Path, run_id: str
) -> None:
    rows = leaning(review.issues.labels, given, towards)
    decided = rows["ID"].isin(current.index).to_numpy()
    rows = pd.concat([rows.loc[~decided], rows.loc[decided]]).head(PAIR_ROWS)
    thumbs = _train_thumbs(data)
    name_given, name_towards = data.class_name(given), data.class_name(towards)
    st.markdown(
        f"**Labelled {name_given}, leaning to {name_towards}** · {int((~decided).sum()):,} undecided of "
        f"{len(decided):,}" + (f" (first {PAIR_ROWS} shown)" if len(decided) > PAIR_ROWS else "")
    )
    table = pd.DataFrame(
        {
            "image": [thumbnail_data_uri(thumbs[i]) if i in thumbs.index else None for i in rows["ID"]],
            "ID": rows["ID"].to_numpy(),
            f"p {name_given}": rows[f"prob_{given}"].to_numpy(),
            f"p {name_towards}": rows[f"prob_{towards}"].to_numpy(),
            "flagged": rows["is_label_issue"].to_numpy(),
            "decision": [
                decision_text(data, current.at[i, "action"], current.at[i, "new_label"]) if i in current.index else ""
                for i in rows["ID"]
            ],
        }
    )
    picked = st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        height=420,
        row_height=56,
        on_select="rerun",
        selection_mode="multi-row",
        # A decision changes the generation: the selection starts empty rather than pointing at moved rows.
        key=state.issues_pair_table_key(given, towards, int(decided.sum())),
        column_config={
            "image": st.column_config.ImageColumn(width="small"),
            f"p {name_given}": st.column_config.NumberColumn(format="%.2f"),
            f"p {name_towards}": st.column_config.NumberColumn(format="%.2f"),
            "flagged": st.column_config.CheckboxColumn(help=f"Put in {name_towards} with probability ≥ {CONFIDENT}"),
        },
    )
    selected = rows.iloc[picked.selection.rows] if picked is not None else rows.iloc[:0]
    _pair_actions(
        selected,
        current,
        given=given,
        towards=towards,
        names=(name_given, name_towards),
        db_path=db_path,
        run_id=run_id,
    )


def _pair_actions(
    selected: pd.DataFrame,
    current: pd.DataFrame,
    *,
    given: int,
    towards: int,
    names: tuple[str, str],
    db_path: Path,
    run_id: str,
) -> None:
    """Mark ambiguous / relabel to the other class, for the undecided images selected (decided ones are left)."""
    decided = selected["ID"].isin(current.index).to_numpy()
    chosen, before = selected.loc[~decided], int(decided.sum())
    if before:
        st.caption(f"{before:,} of the selected images are decided already: they are left as they are.")
    left, right = st.columns(2)
    if left.button(
        f"Mark {len(chosen)} ambiguous",
        key=state.issues_button_key(f"pair.{given}.{towards}.ambiguous"),
        icon=":material/compare_arrows:",
        width="stretch",
        disabled=chosen.empty,
    ):
        with rv.saving():
            stored, skipped = rv.mark_ambiguous(db_path, chosen, run_id)
        _done(f"Marked {stored:,} image(s) labelled {names[0]} ambiguous", before + skipped)
    if right.button(
        f"Relabel {len(chosen)} to {names[1]}",
        key=state.issues_button_key(f"pair.{given}.{towards}.relabel"),
        icon=":material/edit:",
        width="stretch",
        disabled=chosen.empty,
    ):
        with rv.saving():
            stored, skipped = rv.bulk_accept(db_path, chosen.assign(suggested_label=towards), run_id)
        _done(f"Relabelled {stored:,} image(s) from {names[0]} to {names[1]}", before + skipped)


def _done(text: str, skipped: int) -> None:
    """After a pair action is stored: say what it did on the next run (decisions are on disk by now)."""
    state.set_action_notice(text + (f"; {skipped:,} skipped (already decided)" if skipped else ""))
    st.rerun()
