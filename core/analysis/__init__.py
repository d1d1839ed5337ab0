"""What a run got wrong: the predictions table, scores, two runs side by side, overview tables.

predictions  prediction_table and its filters, sorts and gallery cards
scores       macro_f1, headline metrics, per-class scores, the confusion matrix
two_runs     per-class deltas and disagreements between two runs
overview     class and image-size distributions, gallery rows
shift        how test differs from train: per-image statistics, kinds of difference, a domain classifier
"""

from __future__ import annotations

from core.analysis.overview import class_distribution, gallery_items
from core.analysis.predictions import filter_predictions, prediction_table
from core.analysis.scores import confusion_counts, headline_metrics, macro_f1, per_class_scores
from core.analysis.two_runs import compare_per_class, run_disagreements

__all__ = [
    "class_distribution",
    "compare_per_class",
    "confusion_counts",
    "filter_predictions",
    "gallery_items",
    "headline_metrics",
    "macro_f1",
    "per_class_scores",
    "prediction_table",
    "run_disagreements",
]
