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
cli         the `workbench` command
"""
