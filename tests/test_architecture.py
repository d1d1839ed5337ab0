"""Layering rules that keep pages thin and core reusable from the command line."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HEAVY = ("streamlit", "torch", "timm", "umap", "cleanlab")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_never_imports_streamlit_anywhere_in_its_source():
    offenders = [p.name for p in (REPO / "core").rglob("*.py") if "streamlit" in _imports(p)]
    assert offenders == []


def test_importing_every_core_module_loads_neither_streamlit_nor_heavy_libraries():
    modules = sorted(p.stem for p in (REPO / "core").glob("*.py") if p.stem != "__init__")
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module('core.' + m)\n"
        f"print(sorted(h for h in {HEAVY!r} if h in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_session_key_is_declared_in_state_module():
    """Pages and components never spell a session-state key as a string literal."""
    offenders = []
    for path in list((REPO / "pages").glob("*.py")) + list((REPO / "workbench").rglob("*.py")):
        if path.name == "state.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
                target = ast.unparse(node.value)
                if target.endswith("session_state"):
                    offenders.append(f"{path.name}: {ast.unparse(node)}")
            if isinstance(node, ast.keyword) and node.arg == "key" and isinstance(node.value, ast.Constant):
                offenders.append(f"{path.name}: key={node.value.value!r}")
    assert offenders == []
