"""Layering rules that keep pages thin, core reusable from the command line, and the tree navigable."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORE = REPO / "core"
HEAVY = ("streamlit", "torch", "timm", "umap", "cleanlab")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80
MAX_PAGE_LINES = 150


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def _top_names(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _core_modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(CORE.rglob("*.py")) if "__pycache__" not in p.parts}


def _is_package(name: str, modules: dict[str, Path]) -> bool:
    return modules.get(name, Path()).name == "__init__.py"


def _core_imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Every core module this file imports, at the top or inside a function (a deferred import is still a dependency)."""
    found = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in modules}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in modules:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in modules else node.module)
    return found


def test_core_never_imports_streamlit_anywhere_in_its_source():
    offenders = [str(p.relative_to(REPO)) for p in CORE.rglob("*.py") if "streamlit" in _top_names(p)]
    assert offenders == []


def test_importing_every_core_module_loads_neither_streamlit_nor_heavy_libraries():
    modules = sorted(m for m in _core_modules() if not m.endswith("__main__"))
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"print(sorted(h for h in {HEAVY!r} if h in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_core_module_imports_on_its_own():
    """Each module imported first, in a fresh interpreter: a cycle hidden by import order shows up here."""
    modules = sorted(m for m in _core_modules() if not m.endswith("__main__"))
    code = (
        "import subprocess, sys\n"
        f"mods = {modules!r}\n"
        "procs = [(m, subprocess.Popen([sys.executable, '-c', 'import ' + m], stderr=subprocess.PIPE)) for m in mods]\n"
        "bad = [(m, p.communicate()[1].decode()[-300:]) for m, p in procs if p.wait() != 0]\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_no_import_cycle_inside_core():
    modules = _core_modules()
    graph = {name: _core_imports(path, modules) - {name} for name, path in modules.items()}
    cycles = []
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(stack[stack.index(nxt) :] + [nxt]))
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_core_modules_import_from_the_defining_module_not_a_table_of_contents():
    """`from core.runs.folder import OOF`, never `from core.runs import OOF` (the TOCs are for users of core)."""
    modules = _core_modules()
    offenders = []
    for name, path in modules.items():
        if path.name == "__init__.py":
            continue
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and _is_package(node.module or "", modules):
                if node.module == "core" or any(f"{node.module}.{a.name}" not in modules for a in node.names):
                    offenders.append(f"{name}: from {node.module} import ...")
    assert offenders == []


def test_the_root_table_of_contents_lists_every_subpackage_and_module():
    doc = ast.get_docstring(_tree(CORE / "__init__.py"), clean=False) or ""
    listed = set(re.findall(r"^\s*(\w+)\s{2,}\S", doc, flags=re.MULTILINE))
    present = {p.parent.name for p in CORE.glob("*/__init__.py")} | {
        p.stem for p in CORE.glob("*.py") if p.stem not in ("__init__", "train")
    }
    assert listed == present


def test_each_package_table_of_contents_names_its_modules_and_re_exports_what_exists():
    for init in CORE.glob("*/__init__.py"):
        doc = ast.get_docstring(_tree(init), clean=False) or ""
        modules = {p.stem for p in init.parent.glob("*.py") if p.stem not in ("__init__", "__main__")}
        listed = set(re.findall(r"^\s*(\w+)\s{2,}\S", doc, flags=re.MULTILINE))
        assert modules <= listed, f"{init.parent.name}/__init__.py does not list {sorted(modules - listed)}"
    # Re-exports resolve (an import error here names the stale one).
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import importlib, pathlib\n"
            "for p in pathlib.Path('core').glob('*/__init__.py'): importlib.import_module('core.' + p.parent.name)",
        ],
        cwd=REPO,
        check=True,
    )


def test_at_most_a_few_top_level_modules_in_core():
    assert sorted(p.stem for p in CORE.glob("*.py")) == ["__init__", "config", "home", "train"]


def test_no_module_over_the_line_limit():
    long = [
        f"{p.relative_to(REPO)}: {n}"
        for p in CORE.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    ]
    assert long == []


def test_no_function_over_the_line_limit():
    long = []
    for folder in ("core", "workbench", "pages"):
        for path in (REPO / folder).rglob("*.py"):
            for node in ast.walk(_tree(path)):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    n = node.end_lineno - node.lineno + 1
                    if n > MAX_FUNCTION_LINES:
                        long.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name}: {n} lines")
    assert long == []


def test_pages_stay_thin():
    long = [
        f"{p.name}: {n}"
        for p in (REPO / "pages").glob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_PAGE_LINES
    ]
    assert long == []


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


def test_streamlit_caches_live_in_one_module():
    """Every st.cache_data / st.cache_resource is in workbench/cache.py."""
    offenders = []
    for path in list((REPO / "pages").glob("*.py")) + list((REPO / "workbench").rglob("*.py")):
        if path.name != "cache.py" and re.search(r"st\.cache_(data|resource)", path.read_text(encoding="utf-8")):
            offenders.append(str(path.relative_to(REPO)))
    assert offenders == []


def test_tests_mirror_the_tree():
    """tests/core/<subpackage>/ exists for every core subpackage that has tests; no test sits loose in tests/."""
    loose = sorted(p.name for p in (REPO / "tests").glob("test_*.py") if p.name != "test_architecture.py")
    assert loose == []
    strays = [
        str(p.relative_to(REPO))
        for p in (REPO / "tests" / "core").glob("*/")
        if p.is_dir() and p.name != "__pycache__" and not (CORE / p.name).is_dir()
    ]
    assert strays == []


def test_no_package_imports_a_module_that_is_also_run_with_python_m():
    """`python -m core.pkg.mod` runs mod a second time when core/pkg/__init__.py imported it first (a RuntimeWarning
    in every job log): such modules stay out of the tables of contents' imports."""
    modules = _core_modules()
    offenders = []
    for name, path in modules.items():
        if path.name == "__init__.py" or 'if __name__ == "__main__"' not in path.read_text(encoding="utf-8"):
            continue
        package = name.rsplit(".", 1)[0]
        if package in modules and name in _core_imports(modules[package], modules):
            offenders.append(f"{package}/__init__.py imports {name}")
    assert offenders == []
