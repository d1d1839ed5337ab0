"""The documented start commands are safe from any working directory: the app listens on localhost only and
gathers no usage statistics, whether started as `workbench serve` or `streamlit run <repo>/workbench/app.py`
from another folder (here /tmp's). No browser: the sockets are read from /proc/net."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.apphelpers import APP, free_port, supervised

LOOPBACK = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1 and ::1 as /proc/net/tcp{,6} write them


def _listening(port: int) -> set[str]:
    """The local addresses (hex, as /proc/net writes them) with a socket listening on `port`."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if fields[3] == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


@contextmanager
def _started(command: list[str], *, cwd: Path, home: Path, log: Path, port: int):
    """`command` started in `cwd` with a bare HOME (no ~/.streamlit); yields the process once /_stcore/health answers."""
    env = dict(os.environ, HOME=str(home), WORKBENCH_HOME=str(home / "wb"), PYTHONUNBUFFERED="1")
    env.pop("WORKBENCH_PROJECT", None)
    with open(log, "w") as handle:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=handle, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    with supervised(process, f"http://127.0.0.1:{port}", log):
        yield process


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A working directory outside the repository, with no .streamlit/ of its own."""
    folder = tmp_path / "cwd"
    folder.mkdir()
    return folder


def _assert_safe(port: int, log: Path) -> None:
    addresses = _listening(port)
    assert addresses and addresses <= LOOPBACK, f"listening on {addresses}, not only on localhost"
    assert "usage statistics" not in log.read_text()


def test_streamlit_run_from_another_folder_reads_the_apps_settings(elsewhere, tmp_path, make_project):
    project = make_project(tmp_path)
    port = free_port()
    log = tmp_path / "streamlit-run.log"
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        f"--server.port={port}",
        "--",
        "--project",
        str(project),
    ]
    with _started(command, cwd=elsewhere, home=tmp_path / "home", log=log, port=port):
        _assert_safe(port, log)


def test_workbench_serve_from_another_folder_is_local_without_usage_statistics(elsewhere, tmp_path, make_project):
    project = make_project(tmp_path)
    port = free_port()
    log = tmp_path / "serve.log"
    command = [str(Path(sys.executable).parent / "workbench"), "serve", "--project", str(project), f"--port={port}"]
    with _started(command, cwd=elsewhere, home=tmp_path / "home", log=log, port=port) as process:
        _assert_safe(port, log)
        argv = Path(f"/proc/{process.pid}/cmdline").read_bytes().split(b"\0")  # serve execs streamlit: same pid
        assert b"--browser.gatherUsageStats=false" in argv and b"--server.address=127.0.0.1" in argv


def _banner_script():
    from workbench.components.exposure import exposure_banner

    exposure_banner(served=True)


@pytest.mark.parametrize(
    ("address", "allow", "warned"),
    [(None, "", True), ("0.0.0.0", "", True), ("10.1.2.3", "", True), ("0.0.0.0", "1", False),
     ("127.0.0.1", "", False), ("localhost", "", False), ("::1", "", False)],
)  # fmt: skip
def test_a_server_listening_beyond_localhost_warns_on_every_page(monkeypatch, address, allow, warned):
    from streamlit.testing.v1 import AppTest

    options = {"server.address": address, "server.port": 8501}
    monkeypatch.setattr("streamlit.get_option", options.__getitem__)
    monkeypatch.setenv("WORKBENCH_ALLOW_REMOTE", allow)
    at = AppTest.from_function(_banner_script).run()
    assert not at.exception
    texts = [w.value for w in at.warning]
    assert bool(texts) == warned
    if warned:
        assert "workbench serve" in texts[0] and (address or "every network interface") in texts[0]
