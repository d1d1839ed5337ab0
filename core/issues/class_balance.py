"""How many train images each class has, and which classes Datalab finds much rarer than the others."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd


def class_balance(labels: pd.DataFrame, data_table: pd.DataFrame | None, *, classes: Sequence[int]) -> pd.DataFrame:
    """One row per class of `classes`, in that order: target, images, is_rare.

    labels: a run's label-issue table (ID, given_label, ...): images counts its given labels, i.e.
    the labels the run was trained on. data_table: Datalab's table (ID, is_class_imbalance_issue,
    ...), or None where Datalab has not run (then no class is rare).
    """
    counts = labels["given_label"].value_counts().reindex(list(classes), fill_value=0)
    flagged: set[int] = set()
    if data_table is not None:
        rare_ids = data_table.loc[data_table["is_class_imbalance_issue"], "ID"]
        rare = labels.set_index("ID")["given_label"].reindex(rare_ids)
        flagged = set(rare.dropna().astype(int))
    return pd.DataFrame(
        {"target": list(classes), "images": counts.to_numpy(), "is_rare": [int(t) in flagged for t in classes]}
    )
