"""What a run got wrong: the predictions table, scores, two runs side by side, overview tables.

predictions  prediction_table and its filters, sorts and gallery cards
scores       macro_f1, headline metrics, per-class scores, the confusion matrix
two_runs     per-class deltas and disagreements between two runs
overview     class and image-size distributions, gallery rows
shift        how test differs from train: per-image statistics, kinds of difference, a domain classifier

The entry points are re-exported lazily (PEP 562): `from core.analysis import macro_f1` imports `scores`
when it is asked for. Importing one module of the package (the Overview needs `overview` and
`predictions`) therefore no longer imports scikit-learn for `scores`: 1.0 s on 2 cores that a new
user's first view used to wait for.
"""

from __future__ import annotations

import importlib

_MODULE_OF = {
    "class_distribution": "overview",
    "compare_per_class": "two_runs",
    "confusion_counts": "scores",
    "filter_predictions": "predictions",
    "gallery_items": "overview",
    "headline_metrics": "scores",
    "macro_f1": "scores",
    "per_class_scores": "scores",
    "prediction_table": "predictions",
    "run_disagreements": "two_runs",
}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> object:
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_MODULE_OF[name]}"), name)
