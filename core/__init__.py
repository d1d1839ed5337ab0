"""The workbench's library: plain Python, never imports streamlit.

project     the project folder layout and `workbench.toml` settings
csvio       robust CSV reading (BOM, CRLF, cp949...) and atomic writes
images      safe image opening as upright RGB (bomb check, EXIF, modes)
imageindex  one cached pass over the images: sizes, decode check, thumbnails
dataset     load + check a project: usable rows, classes, findings
demo        the built-in demo project from scikit-learn's digits
importer    ImageFolder (class-per-subfolder) import
db          the SQLite store in `.workbench/workbench.db`
settings    per-user settings: recent projects, the demo's location
config      run configuration: dataclasses, YAML, --set overrides
runs        the run folder contract: status, events, artifacts
jobs        detached job processes, slot queue, cancel
train       the job entry point (python -m core.train)
progress    callbacks through which loops report
labels      which labels a run trains on (original or a clean version)
models      timm models with hub / offline / local weights
embeddings  cached frozen-backbone embeddings
scan        the scan run: embeddings + k-fold logistic regression
data        datasets, folds, samplers, loaders for training
transforms  noise recipes (albumentations) and Mixup/CutMix
losses      loss factory (timm losses, focal)
fit         the k-fold training loop, TTA prediction, embeddings
ddp         the torchrun entry for multi-GPU (or multi-process CPU) training
metrics     headline metrics of a run
compare     per-class scores and run-vs-run deltas
summaries   tables the overview shows
modelzoo    timm model names without importing timm in the page
cli         the `workbench` command
"""
