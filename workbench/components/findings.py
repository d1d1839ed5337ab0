"""Validation findings from `workbench check`, shown on the page."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.project.checks import CheckReport


def show_findings(report: CheckReport) -> None:
    """Errors first (the project is not usable), then warnings, each with every item it names."""
    if not report.findings:
        st.success("Project check passed: no problems found.", icon=":material/check_circle:")
        return
    for finding in report.errors:
        st.error(finding.message, icon=":material/error:")
    warnings = report.warnings
    infos = [f for f in report.findings if f.level == "info"]
    if warnings or infos:
        label = f"{len(warnings)} warning(s)" + (f", {len(infos)} note(s)" if infos else "") + " from the project check"
        with st.expander(label, expanded=bool(warnings) and len(warnings) <= 3):
            for finding in warnings:
                st.warning(finding.message, icon=":material/warning:")
                if len(finding.items) > 5:
                    st.dataframe(pd.DataFrame({finding.code: list(finding.items)}), hide_index=True, height=160)
            for finding in infos:
                st.info(finding.message, icon=":material/info:")
