"""`python -m workbench.launch run APP [options] [-- ARGS]`: Streamlit's own command line, with the
first page's imports warmed in a background thread while the server starts (`workbench serve` uses it).

Streamlit runs no app code before the first browser session, so without this a new user's first
Overview waits for every module the router and the default page import (pandas, plotly, the core
and widget modules: about 2 s on a small machine) after the page opens. The modules are read from
the import statements of workbench/app.py and the default page, so the list follows the code.
A module that fails to import here is left for the page, which shows the error as usual.
The other pages' modules (other_page_modules: scikit-learn for the scores) are not imported here: the
app warms them after its first page is drawn (workbench.cache.warm_other_pages_once).
"""

from __future__ import annotations

import ast
import importlib
import threading
from pathlib import Path

_HERE = Path(__file__).resolve().parent
PAGES_DIR = _HERE.parent / "pages"
FIRST_PAGE_FILES = (_HERE / "app.py", PAGES_DIR / "overview.py")
EXTRA_MODULES = ("pyarrow.parquet",)  # read by the first dataset load (the image index)


def first_page_modules(files: tuple[Path, ...] = FIRST_PAGE_FILES) -> list[str]:
    """The absolute imports of `files` (the router and the default page), in order, without repeats."""
    names: list[str] = []
    for file in files:
        try:
            tree = ast.parse(file.read_text(encoding="utf-8"))
        except (OSError, SyntaxError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module != "__future__":
                names.append(node.module)
                # `from workbench import state`: a submodule is imported too, not only the package.
                names += [f"{node.module}.{alias.name}" for alias in node.names]
    return list(dict.fromkeys(n for n in names if n))


def other_page_modules() -> list[str]:
    """The absolute imports of the other pages that the first page does not import (scikit-learn for the
    scores: ~1 s on 2 cores), for workbench.cache.warm_other_pages_once."""
    first = set(first_page_modules())
    return [name for name in first_page_modules(tuple(sorted(PAGES_DIR.glob("*.py")))) if name not in first]


def warm_up(modules: list[str] | None = None) -> list[str]:
    """Import `modules` (default: the first page's and EXTRA_MODULES); returns those that imported."""
    done = []
    for name in modules if modules is not None else [*first_page_modules(), *EXTRA_MODULES]:
        try:
            importlib.import_module(name)
        except ImportError:
            continue  # `from X import function`: not a module; anything really missing fails on the page
        except Exception:  # noqa: BLE001 - the page imports it again and shows its error
            continue
        done.append(name)
    return done


def skip_repl_check() -> None:
    """Spare the first element of this process Streamlit's REPL check.

    The first element a Streamlit process draws checks whether it runs in a REPL, to warn that an app
    belongs in `streamlit run`: inspect.stack() reads the source of every frame, 0.1-0.15 s on 2 cores,
    paid before a new user's first view shows anything. This launcher is `streamlit run`, so the warning
    never applies; Streamlit's own once-per-process flag is set as if it had been shown.
    """
    from streamlit import delta_generator

    delta_generator._use_warning_has_been_displayed = True


def main() -> None:
    # The server's own modules first, in this thread: the warm-up then only imports what the app
    # needs, in the app's order, so the two threads never hold each other's module locks.
    import streamlit.web.bootstrap  # noqa: F401
    import streamlit.web.server  # noqa: F401
    from streamlit.web.cli import main as streamlit_main

    skip_repl_check()
    threading.Thread(target=warm_up, name="wb-warm-up-imports", daemon=True).start()
    streamlit_main(prog_name="streamlit")  # reads sys.argv[1:] like `python -m streamlit`


if __name__ == "__main__":
    main()
