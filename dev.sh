#!/usr/bin/env bash
# Quick start on a fresh machine (Python 3.11+):
#   ./dev.sh app    install into .venv, then open the app on the built-in demo project
#   ./dev.sh test   install into .venv with the test extras (and Chromium for browser tests), run the suite
# Anything after the verb goes to `workbench serve` (app) or pytest (test).
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
VENV="${WORKBENCH_VENV:-.venv}"

install() {  # $1: pip extras ("" or "test"); reinstalls only when pyproject.toml changed
    local extras="$1" stamp
    [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
    stamp="$VENV/.installed${extras:+-$extras}"
    if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
        "$VENV/bin/python" -m pip install --quiet --upgrade pip
        "$VENV/bin/python" -m pip install --quiet -e ".${extras:+[$extras]}"
        touch "$stamp"
    fi
}

ensure_chromium() {  # Debian's chromium drives the browser tests; playwright never downloads its own
    local browser="${WORKBENCH_CHROMIUM:-/usr/bin/chromium}"
    [ -x "$browser" ] && return 0
    if command -v apt-get >/dev/null; then
        local sudo=""
        [ "$(id -u)" = 0 ] || sudo="sudo -n"
        echo "installing Debian's chromium for the browser tests" >&2
        $sudo apt-get install -y -qq chromium >/dev/null 2>&1 \
            || { $sudo apt-get update -qq >/dev/null 2>&1 && $sudo apt-get install -y -qq chromium >/dev/null 2>&1; } \
            || echo "could not install chromium; browser tests will fail (set WORKBENCH_CHROMIUM to a Chromium binary)" >&2
    fi
}

case "${1:-}" in
    app)
        shift
        install ""
        exec "$VENV/bin/workbench" serve "$@"
        ;;
    test)
        shift
        install "test"
        ensure_chromium
        "$VENV/bin/ruff" check .
        "$VENV/bin/ruff" format --check .
        exec "$VENV/bin/python" -m pytest "$@"
        ;;
    *)
        echo "usage: ./dev.sh app [--project DIR] [--port N] | ./dev.sh test [pytest args]" >&2
        exit 2
        ;;
esac
