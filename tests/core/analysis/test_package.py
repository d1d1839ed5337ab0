"""core.analysis re-exports its entry points lazily: importing one module does not import the others."""

from __future__ import annotations

import pytest

import core.analysis
from tests.support.apphelpers import in_fresh_python


def test_importing_the_overview_tables_does_not_import_scikit_learn():
    code = (
        "import sys\n"
        "import core.analysis.overview\n"
        "assert 'sklearn' not in sys.modules, 'core.analysis imported scores (scikit-learn) for the overview'\n"
        "from core.analysis import gallery_items, macro_f1\n"
        "from core.analysis.scores import macro_f1 as direct\n"
        "assert macro_f1 is direct and 'sklearn' in sys.modules\n"
    )
    in_fresh_python(code)


def test_every_listed_entry_point_resolves_and_nothing_else_does():
    for name in core.analysis.__all__:
        assert callable(getattr(core.analysis, name)), name
    with pytest.raises(AttributeError, match="no_such_function"):
        core.analysis.no_such_function  # noqa: B018
