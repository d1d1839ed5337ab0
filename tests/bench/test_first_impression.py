"""bench/first_impression.py's A/B plumbing: another revision's app, and rounds alternated a, b, b, a."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.support.apphelpers import REPO

sys.path.insert(0, str(Path(REPO) / "bench"))

import first_impression  # noqa: E402


def test_another_revision_is_exported_whole(tmp_path):
    tree = first_impression.export_revision("HEAD", tmp_path)
    assert (tree / "workbench" / "app.py").is_file() and (tree / "core" / "__init__.py").is_file()
    assert not (tree / ".git").exists()


def test_rounds_alternate_and_flip_order(monkeypatch, tmp_path):
    ran: list[tuple[str, Path]] = []

    def one_round(home, *, variant, warm_umap, tree):
        ran.append((variant, tree))
        return {"first image": 1.0}

    monkeypatch.setattr(first_impression, "one_round", one_round)
    monkeypatch.setattr(first_impression, "note", lambda text: None)
    trees = {"serve": Path(REPO), "serve@HEAD~1": tmp_path}
    results = first_impression.run_rounds(list(trees), trees, rounds=3, warm_umap=False)
    assert [v for v, _ in ran] == ["serve", "serve@HEAD~1", "serve@HEAD~1", "serve", "serve", "serve@HEAD~1"]
    assert all(tree == trees[v] for v, tree in ran)
    assert {v: len(r) for v, r in results.items()} == {"serve": 3, "serve@HEAD~1": 3}
