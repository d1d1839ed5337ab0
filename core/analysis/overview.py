"""Small tables the overview shows: class distribution and image-size distribution."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from core.project.dataset import Dataset
from core.runs.folder import SUBMISSION


def class_distribution(dataset: Dataset, *, test_predictions: pd.DataFrame | None = None) -> pd.DataFrame:
    """Images per class and split, tidy: columns target, class_name, split, count, share.

    Train counts use the given labels. Test counts use `test_predictions` (a run's predicted class
    per test image) when given, else the labelled hold-out (test_labels.csv) when present.
    """
    series = {"train (given labels)": dataset.train["target"]}
    if test_predictions is not None:
        series["test (predicted)"] = test_predictions["target"]
    elif dataset.test_labels is not None:
        series["test (hold-out labels)"] = dataset.test_labels["target"]
    rows = []
    for split, targets in series.items():
        counts = targets.astype(int).value_counts()
        total = max(int(counts.sum()), 1)
        for target, name in dataset.classes.items():
            count = int(counts.get(target, 0))
            rows.append({"target": target, "class_name": name, "split": split, "count": count, "share": count / total})
    return pd.DataFrame(rows, columns=["target", "class_name", "split", "count", "share"])


def test_predictions(run_dir: Path) -> pd.DataFrame | None:
    """ID, target: the predicted class of every test image in a run's submission.csv (None without one)."""
    path = Path(run_dir) / SUBMISSION
    if not path.is_file():
        return None
    return pd.read_csv(path, dtype={"ID": str})[["ID", "target"]]


def size_distribution(dataset: Dataset) -> pd.DataFrame:
    """Usable images per (split, width, height): columns split, width, height, count."""
    images = dataset.images
    usable = images.loc[images["error"] == ""]
    keep = ((usable["split"] == "train") & usable["name"].isin(dataset.train["ID"])) | (
        (usable["split"] == "test") & usable["name"].isin(dataset.test["ID"])
    )
    usable = usable.loc[keep]
    grouped = usable.groupby(["split", "width", "height"], as_index=False).size()
    return grouped.rename(columns={"size": "count"}).sort_values("count", ascending=False).reset_index(drop=True)


def gallery_items(
    dataset: Dataset, split: str, *, target: int | None = None, test_predictions: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Rows for the gallery: ID, thumb, path, caption, sub, class and size metadata.

    Train rows are labelled by their given class; test rows by the hold-out label where it exists,
    else by `test_predictions` (a run's predictions, captioned "pred"). `target` keeps only that class.
    """
    images = dataset.images.loc[dataset.images["split"] == split].set_index("name")
    if split == "train":
        frame = dataset.train.copy()
    else:
        frame = dataset.test.copy()
        if dataset.test_labels is not None:
            frame = frame.merge(dataset.test_labels, on="ID", how="left")
        elif test_predictions is not None:
            frame = frame.merge(test_predictions, on="ID", how="left")
        else:
            frame["target"] = pd.NA
    if target is not None:
        frame = frame.loc[frame["target"] == target]
    info = images.reindex(frame["ID"].tolist())
    frame["thumb"] = info["thumb"].to_numpy()
    frame["width"] = info["width"].to_numpy()
    frame["height"] = info["height"].to_numpy()
    frame["mode"] = info["mode"].to_numpy()
    frame["bytes"] = info["bytes"].to_numpy()
    names = [dataset.class_name(t) if pd.notna(t) else "" for t in frame["target"]]
    frame["class_name"] = names
    predicted = split == "test" and dataset.test_labels is None and test_predictions is not None
    prefix = "pred " if predicted else ""
    frame["caption"] = [f"{prefix}{t} · {n}" if n else i for t, n, i in zip(frame["target"], names, frame["ID"])]
    frame["sub"] = frame["ID"]
    frame["split"] = split
    return frame.loc[frame["thumb"].notna() & (frame["thumb"] != "")].reset_index(drop=True)
