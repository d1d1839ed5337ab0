"""Validation findings from `workbench check`, shown on the page."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.io.text import shown
from core.project.checks import ITEM_WIDTH, MESSAGE_WIDTH, CheckReport


def show_findings(report: CheckReport) -> None:
    """Errors first (the project is not usable), then warnings, each with every item it names; every
    message and item cut and escaped (core.io.text.shown): an item may be a megabyte CSV cell."""
    if not report.findings:
        st.success("Project check passed: no problems found.", icon=":material/check_circle:")
        return
    for finding in report.errors:
        st.error(shown(finding.message, MESSAGE_WIDTH), icon=":material/error:")
    warnings = report.warnings
    infos = [f for f in report.findings if f.level == "info"]
    if warnings or infos:
        label = f"{len(warnings)} warning(s)" + (f", {len(infos)} note(s)" if infos else "") + " from the project check"
        with st.expander(label, expanded=bool(warnings) and len(warnings) <= 3):
            for finding in warnings:
                st.warning(shown(finding.message, MESSAGE_WIDTH), icon=":material/warning:")
                if len(finding.items) > 5:
                    cells = [shown(item, ITEM_WIDTH) for item in finding.items]
                    st.dataframe(pd.DataFrame({finding.code: cells}), hide_index=True, height=160)
            for finding in infos:
                st.info(shown(finding.message, MESSAGE_WIDTH), icon=":material/info:")
