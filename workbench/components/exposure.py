"""A warning on every page while the server listens beyond localhost (anyone who reaches the port reads the data)."""

from __future__ import annotations

import os

import streamlit as st

from core.cli.project import is_loopback
from core.io.text import shown

ALLOW_REMOTE = "WORKBENCH_ALLOW_REMOTE"  # "1": listening beyond localhost is meant (no warning)


def exposure_banner(*, served: bool) -> None:
    """Warn when the server's address is not a loopback one and $WORKBENCH_ALLOW_REMOTE is not 1.

    served: the script runs in a real server (`streamlit run`), not in a test harness with no socket.
    """
    address = st.get_option("server.address")
    if not served or os.environ.get(ALLOW_REMOTE) == "1" or is_loopback(address):
        return
    where = f"address {shown(address, 80)}" if address else "every network interface"
    st.warning(
        f"This app listens on {where}, port {st.get_option('server.port')}: anyone who can reach it can read and "
        "change this project. Start it with `workbench serve` (localhost only; reach it from your laptop with "
        f"`ssh -L 8501:localhost:8501`), or set {ALLOW_REMOTE}=1 if this is meant.",
        icon=":material/public:",
    )
