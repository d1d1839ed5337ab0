"""Prediction CSVs (teammates', runs', ensembles): checked, compared, combined (DESIGN.md, Prediction CSVs).

members    Member, PredictionError; parse_predictions (a CSV checked against the test IDs), run_member
store      .workbench/predictions/: add_prediction, save_member, list_predictions, safe_name
agreement  agreement (share, Cohen's kappa), disagreements, member_scores, only_wrong, error_correlation
ensemble   hard_vote (stated tie rule), soft_vote, changed, greedy_selection (Caruana), oof_matrix
predict    predict_run: a finished run's fold models on the test set or any images (TTA optional)
"""

from __future__ import annotations

from core.predictions.agreement import agreement, disagreements, error_correlation, member_scores
from core.predictions.ensemble import greedy_selection, hard_vote, soft_vote
from core.predictions.members import Member, PredictionError, parse_predictions, run_member
from core.predictions.store import add_prediction, list_predictions, save_member

__all__ = [
    "Member",
    "PredictionError",
    "add_prediction",
    "agreement",
    "disagreements",
    "error_correlation",
    "greedy_selection",
    "hard_vote",
    "list_predictions",
    "member_scores",
    "parse_predictions",
    "run_member",
    "save_member",
    "soft_vote",
]
