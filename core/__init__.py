"""The workbench's library: plain Python, never imports streamlit. One folder per concern:

    config       RunConfig and its sections: defaults, help text and choices, YAML, --set
    home         per-user files outside any project: recent projects, the demo's location
    io           safe reading and writing: atomic writes, CSVs in any encoding, images as RGB
    project      the user's folder and .workbench/: layout, db, image index, loading + checks,
                 importer, demo
    runs         the run folder contract, the run catalogue, background jobs, progress, folds,
                 the job entry point (`python -m core.train`, a shim kept for old scripts)
    models       timm factory with offline / hub / local weights, the model catalogue
    training     the train run: data, transforms, losses, runtime, loop, folds, DDP
    scan         the scan run: frozen-backbone embeddings -> k-fold logistic regression
    embeddings   frozen-backbone features, nearest neighbours, UMAP maps (background job)
    analysis     what a run got wrong: predictions table, scores, two runs, overview tables, train vs test
    issues       cleanlab label issues, Datalab data issues, cached per run
    labels       decisions, the review queue, exported versions ("v3", "latest")
    recipes      noise recipes: presets, the editor's transform catalogue, the store
                 (.workbench/recipes/<name>.yaml), applying one to images per seed, offline
                 expansion (.workbench/augmented/<name>/: K copies of every train image on disk),
                 fit scores (how close a recipe's copies look to test; a background job)
    predictions  prediction CSVs (teammates', runs', ensembles): checks, agreement, voting, selection
    submissions  the submissions log: what was sent, what produced it, leaderboard scores typed in
    cli          `workbench ...`, one module per group of commands

Inside core, import from the module that defines a name (`from core.runs.folder import OOF`),
never from a package's table of contents: tests/test_architecture.py checks that, and that
there is no import cycle.
"""
