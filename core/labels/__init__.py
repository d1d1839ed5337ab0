"""The train labels a team fixes: decisions, the review queue, exported versions.

decisions  record_decision / undo_decision / current_decisions in workbench.db
review     the review queue of flagged images, and review state for the analysis pages
versions   export_version (labels/train_v<N>.csv), label_versions, resolve_labels ("v3", "latest")
"""

from __future__ import annotations

from core.labels.decisions import current_decisions, record_decision, record_decisions, undo_decision
from core.labels.review import review_queue
from core.labels.versions import export_version, label_versions, resolve_labels

__all__ = [
    "current_decisions",
    "export_version",
    "label_versions",
    "record_decision",
    "record_decisions",
    "resolve_labels",
    "review_queue",
    "undo_decision",
]
