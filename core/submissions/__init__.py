"""The submissions log: what a team sent to the leaderboard, what produced it, and what it scored (DESIGN.md).

log   log_submission / run_submission / file_submission, set_scores, list_submissions,
      validation_vs_leaderboard (does our validation predict the leaderboard?)
"""

from __future__ import annotations

from core.submissions.log import (
    Submission,
    SubmissionError,
    list_submissions,
    log_submission,
    set_scores,
    validation_vs_leaderboard,
)

__all__ = [
    "Submission",
    "SubmissionError",
    "list_submissions",
    "log_submission",
    "set_scores",
    "validation_vs_leaderboard",
]
