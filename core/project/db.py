"""The project's SQLite store, `.workbench/workbench.db` (WAL mode), with a versioned schema.

Each entry of MIGRATIONS takes the schema from version i to i+1 and runs once, inside a
transaction; `PRAGMA user_version` records how far a database has come. Later features append
migrations; they never edit one that has shipped.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MIGRATIONS: tuple[str, ...] = (
    # 1: label decisions (history kept: an image's current label is its latest decision),
    #    exported label versions, and a job index. The jobs table was never used (the job list is
    #    rebuilt from the run folders and live pids, core.runs.catalog, which a crash cannot leave
    #    out of date). It stays: dropping it would need a migration, and a new schema version locks
    #    out every teammate still on the previous workbench (it refuses a newer database).
    """
    CREATE TABLE label_decisions (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        image_id    TEXT NOT NULL,
        action      TEXT NOT NULL CHECK (action IN ('keep', 'relabel', 'drop')),
        old_label   INTEGER,
        new_label   INTEGER,
        source      TEXT NOT NULL,
        run_id      TEXT,
        created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    CREATE INDEX label_decisions_image ON label_decisions (image_id, id);
    CREATE TABLE label_versions (
        version     INTEGER PRIMARY KEY,
        path        TEXT NOT NULL,
        rows        INTEGER NOT NULL,
        relabeled   INTEGER NOT NULL,
        dropped     INTEGER NOT NULL,
        created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    CREATE TABLE jobs (
        run_id      TEXT PRIMARY KEY,
        kind        TEXT NOT NULL,
        state       TEXT NOT NULL,
        pid         INTEGER,
        created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    """,
    # 2: label cleaning. request_id makes a decision idempotent (a double click stores one row);
    #    reverted_at marks an undone decision (the row stays as history); a version records its
    #    changes file and the newest decision it includes.
    """
    ALTER TABLE label_decisions ADD COLUMN request_id TEXT;
    ALTER TABLE label_decisions ADD COLUMN reverted_at TEXT;
    CREATE UNIQUE INDEX label_decisions_request ON label_decisions (request_id) WHERE request_id IS NOT NULL;
    CREATE INDEX label_decisions_current ON label_decisions (image_id, id) WHERE reverted_at IS NULL;
    ALTER TABLE label_versions ADD COLUMN changes_path TEXT;
    ALTER TABLE label_versions ADD COLUMN decisions_through INTEGER
    """,
    # 3: the decision 'ambiguous' (an image plausible in two overlapping classes, e.g. shirt and
    #    T-shirt: not a label error, so neither kept as checked nor relabelled; an export can leave
    #    it out of training). SQLite cannot alter a CHECK constraint, so label_decisions is rebuilt
    #    with the same columns and ids (undo history and the versions' decisions_through stay
    #    valid), its AUTOINCREMENT counter carried over (a new decision never reuses an id, even one
    #    of a row deleted by hand) and its indexes recreated. label_versions records how many
    #    ambiguous images an export saw and how many it left out. The cost, accepted: teammates
    #    still on the previous workbench must upgrade, since it refuses a newer database.
    """
    CREATE TABLE label_decisions_new (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        image_id    TEXT NOT NULL,
        action      TEXT NOT NULL CHECK (action IN ('keep', 'relabel', 'drop', 'ambiguous')),
        old_label   INTEGER,
        new_label   INTEGER,
        source      TEXT NOT NULL,
        run_id      TEXT,
        created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        request_id  TEXT,
        reverted_at TEXT
    );
    INSERT INTO label_decisions_new
        (id, image_id, action, old_label, new_label, source, run_id, created_at, request_id, reverted_at)
        SELECT id, image_id, action, old_label, new_label, source, run_id, created_at, request_id, reverted_at
        FROM label_decisions ORDER BY id;
    DELETE FROM sqlite_sequence WHERE name = 'label_decisions_new';
    INSERT INTO sqlite_sequence (name, seq)
        SELECT 'label_decisions_new', seq FROM sqlite_sequence WHERE name = 'label_decisions';
    DROP TABLE label_decisions;
    ALTER TABLE label_decisions_new RENAME TO label_decisions;
    CREATE INDEX label_decisions_image ON label_decisions (image_id, id);
    CREATE UNIQUE INDEX label_decisions_request ON label_decisions (request_id) WHERE request_id IS NOT NULL;
    CREATE INDEX label_decisions_current ON label_decisions (image_id, id) WHERE reverted_at IS NULL;
    ALTER TABLE label_versions ADD COLUMN ambiguous INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE label_versions ADD COLUMN ambiguous_left_out INTEGER NOT NULL DEFAULT 0
    """,
    # 4: the submissions log (DESIGN.md): every CSV a team sent, what produced it, its OOF macro-F1
    #    where known, the leaderboard scores typed in later. The file is a copy under predictions/.
    """
    CREATE TABLE submissions (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        file           TEXT NOT NULL,
        sha256         TEXT NOT NULL,
        produced_by    TEXT NOT NULL,
        note           TEXT NOT NULL DEFAULT '',
        oof_macro_f1   REAL,
        public_score   REAL,
        private_score  REAL,
        created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        scored_at      TEXT
    )
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


def connect(path: str | Path) -> sqlite3.Connection:
    """Open (creating and migrating as needed) the store at `path`. WAL, foreign keys on, 10 s busy wait."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=10.0, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")  # a decision shown as saved survives a power cut
    connection.execute("PRAGMA foreign_keys=ON")
    migrate(connection)
    return connection


def schema_version(connection: sqlite3.Connection) -> int:
    return int(connection.execute("PRAGMA user_version").fetchone()[0])


def migrate(connection: sqlite3.Connection) -> int:
    """Apply the migrations this database has not seen; returns the resulting version."""
    current = schema_version(connection)
    if current > SCHEMA_VERSION:
        raise RuntimeError(
            f"workbench.db is at schema version {current}, newer than this workbench ({SCHEMA_VERSION}); upgrade it"
        )
    while current < SCHEMA_VERSION:
        connection.execute("BEGIN IMMEDIATE")  # one writer: a second process waits, then sees the new version
        try:
            current = schema_version(connection)
            if current < SCHEMA_VERSION:
                for statement in _statements(MIGRATIONS[current]):
                    connection.execute(statement)
                connection.execute(f"PRAGMA user_version = {current + 1}")
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        current = schema_version(connection)
    return current


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


@contextmanager
def open_store(db_path: str | Path) -> Iterator[sqlite3.Connection]:
    """A connection to the store (connect), closed afterwards."""
    connection = connect(db_path)
    try:
        yield connection
    finally:
        connection.close()


@contextmanager
def write_transaction(connection: sqlite3.Connection) -> Iterator[None]:
    """One IMMEDIATE transaction: takes the write lock first, so a check and its insert see the same state."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
