"""The Issues page's export view: decisions so far, export the next clean train CSV, pick a version to retrain on."""

from __future__ import annotations

import streamlit as st

from core.labels.decisions import decision_counts
from core.labels.versions import export_version, versions_table
from core.project.layout import ProjectLayout
from core.runs.catalog import newer_versions, nothing_new_message
from workbench import state
from workbench.components.downloads import download_files
from workbench.components.review import saving


def export_panel(layout: ProjectLayout, *, active: str, trained_on: str | None = None) -> int | None:
    """Draw the decision counts, the export button, the versions and a version picker.

    trained_on: the labels the active run trained on ("original", "v2", ...); the picker offers only newer
    versions (none: it says there is nothing new). Returns the version to retrain the active run's config on
    when its button is pressed, else None.
    """
    counts = decision_counts(layout.db_path)
    c1, c2, c3, c4, c5 = st.columns(5)
    c1.metric("Kept", f"{counts['keep']:,}")
    c2.metric("Relabelled", f"{counts['relabel']:,}")
    c3.metric("Dropped", f"{counts['drop']:,}")
    c4.metric("Ambiguous", f"{counts['ambiguous']:,}", help="Plausible in two classes: not a label error")
    export = c5.button("Export the next version", type="primary", icon=":material/download:")
    # Drawn below the counts but read before exporting: a click reruns the script with its current value.
    leave_out = st.checkbox(
        "Leave images marked ambiguous out of training",
        value=False,
        help="Off: they keep their label in the exported CSV. On: they are left out of it (the changes file says so)",
    )
    if export:
        with saving():  # disk full, a damaged workbench.db: st.error naming the file, nothing written
            result = export_version(layout, leave_out_ambiguous=leave_out)
    if export and result.nothing_new:
        st.info(
            f"Nothing new since v{result.version}: no decision changes a label, so nothing was written "
            f"({result.path.name} is the newest version).",
            icon=":material/info:",
        )
    elif export:
        ambiguous = f"{result.ambiguous:,} ambiguous" + (
            " left out" if result.ambiguous_left_out else " kept" if result.ambiguous else ""
        )
        state.set_flash(
            f"Exported v{result.version}: {result.rows:,} rows, {result.relabeled:,} relabelled, "
            f"{result.dropped:,} dropped, {ambiguous} → {result.path}"
        )
        st.rerun()
    versions = versions_table(layout)
    if versions.empty:
        st.info(
            "No version exported yet. train.csv is never modified; each export writes "
            "`.workbench/labels/train_v<N>.csv` and `changes_v<N>.csv`."
        )
        return None
    st.dataframe(
        versions.iloc[::-1],
        hide_index=True,
        width="stretch",
        column_config={
            "changed_vs_previous": st.column_config.NumberColumn("relabelled vs previous"),
            "ambiguous_left_out": st.column_config.NumberColumn("ambiguous left out"),
            "dropped_vs_previous": st.column_config.NumberColumn("left out vs previous"),
            "restored_vs_previous": st.column_config.NumberColumn("restored vs previous"),
        },
    )
    numbers = versions["version"].tolist()[::-1]
    if trained_on is not None:  # only versions newer than the active run's labels are worth a retrain
        newer = set(newer_versions(trained_on, layout.labels_dir))
        numbers = [n for n in numbers if n in newer]
        if not numbers:
            st.info(nothing_new_message(active, trained_on), icon=":material/info:")
            return None
    left, right = st.columns([1, 2])
    chosen = left.selectbox(
        "Version", numbers, key=state.issues_version_key(tuple(numbers)), format_func=lambda n: f"v{n}"
    )
    right.caption(
        f"Retrain runs the active run's config ({active}) on v{chosen}; when it has finished, the "
        "Runs page compares it with the active run, per class."
    )
    retrain = right.button(f"Retrain on v{chosen}", icon=":material/replay:")
    download_files([layout.labels_dir / f"train_v{chosen}.csv", layout.labels_dir / f"changes_v{chosen}.csv"])
    st.page_link(
        "../pages/runs.py", label="Runs: follow the retrain and compare per-class F1", icon=":material/history:"
    )
    return int(chosen) if retrain else None
