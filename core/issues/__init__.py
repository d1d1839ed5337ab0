"""What is wrong with the train labels and images, found with cleanlab.

label_issues   label_issues: ranked label issues on out-of-fold probabilities
data_issues    data_issues: Datalab's outliers, near duplicates, leakage, class imbalance
run_issues     issues_for_runs: both for one run (or several averaged), cached
class_balance  class_balance: train images per class, and the classes Datalab finds rare
health         label_health: likely wrong labels overall and per class, overlapping class pairs
"""

from __future__ import annotations

from core.issues.class_balance import class_balance
from core.issues.data_issues import DataIssues, data_issues
from core.issues.health import LabelHealth, label_health
from core.issues.label_issues import label_issues
from core.issues.run_issues import RunIssues, issues_for_runs

__all__ = [
    "DataIssues",
    "LabelHealth",
    "RunIssues",
    "class_balance",
    "data_issues",
    "issues_for_runs",
    "label_health",
    "label_issues",
]
