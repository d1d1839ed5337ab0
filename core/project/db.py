"""The project's SQLite store, `.workbench/workbench.db` (WAL mode), with a versioned schema.

Each entry of MIGRATIONS takes the schema from version i to i+1 and runs once, inside a
transaction; `PRAGMA user_version` records how far a database has come. Later features append
migrations; they never edit one that has shipped.

Faults, each a message that names the file (never a raw sqlite3 error):
- a file that is not a SQLite database, or one that fails `PRAGMA quick_check`: DatabaseError on
  open; the file is left as it is (it may be recoverable), the message says how to rebuild it.
- a store with no label version while `.workbench/labels/` holds exports (workbench.db deleted, or
  created empty over a project with work in it): rebuilt from the export files on open
  (core.project.rebuild); the notice it leaves is read with `take_notices`. Never an empty store
  silently over existing work.
- a write that fails (disk full, read-only, locked past the busy wait): SaveError ("could not save
  .../workbench.db: no space left on device"), the transaction rolled back: nothing half-stored.
- `open_store(path, create=False)` never creates a database (FileNotFoundError): for readers
  that must not turn a folder into a project.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.io.atomic import SaveError
from core.io.text import shown
from core.project.rebuild import exported_versions, rebuild_from_exports

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


class DatabaseError(RuntimeError):
    """workbench.db cannot be used (not a SQLite database, damaged, newer than this workbench); says what to do."""


_WHAT_TO_DO = (
    "move it aside (e.g. rename it to workbench.db.broken) and run `workbench check --project DIR`, which "
    "rebuilds the label versions and the newest version's decisions from .workbench/labels/, or restore a "
    "backup (`workbench restore`)"
)

_NOTICES: dict[str, list[str]] = {}  # db path -> what opening it repaired, until take_notices reads it


def _is_full(exc: BaseException) -> bool:
    return getattr(exc, "sqlite_errorname", "") == "SQLITE_FULL" or "disk is full" in str(exc)


def save_error(path: str | Path, exc: BaseException) -> SaveError:
    """A failed write to the store as SaveError ("could not save <path>: no space left on device")."""
    return SaveError(path, exc, reason="no space left on device" if _is_full(exc) else None)


def _no_space(folder: Path) -> bool:
    try:
        return os.statvfs(folder).f_bavail == 0
    except OSError:
        return False


def _open_error(path: Path, exc: sqlite3.Error) -> Exception:
    if _is_full(exc) or ("SQLITE_IOERR" in getattr(exc, "sqlite_errorname", "") and _no_space(path.parent)):
        return SaveError(path, exc, reason="no space left on device")
    name = getattr(exc, "sqlite_errorname", "")
    if name == "SQLITE_NOTADB" or "not a database" in str(exc):
        return DatabaseError(f"{shown(path, 300)} is not a SQLite database; {_WHAT_TO_DO}")
    if name == "SQLITE_CORRUPT" or "malformed" in str(exc):
        return DatabaseError(f"{shown(path, 300)} is damaged ({shown(exc, 80)}); {_WHAT_TO_DO}")
    return DatabaseError(f"could not open {shown(path, 300)}: {shown(exc, 120)}")


_BUSY_WAIT_S = 10.0  # how long a connection waits for another's lock


def connect(path: str | Path, *, create: bool = True, read_only: bool = False) -> sqlite3.Connection:
    """Open (creating and migrating as needed) the store at `path`. WAL, foreign keys on, 10 s busy wait.

    create=False: a missing store is FileNotFoundError, nothing is created. DatabaseError when the
    file is not a usable store; SaveError when creating or migrating it fails (disk full).
    read_only: the caller only reads. A WAL store needs its -shm file, which a full disk refuses
    (SQLITE_IOERR_SHMSIZE); a reader then gets the store opened immutable instead: what the main
    file holds (every write of a connection that closed cleanly), never written.
    """
    path = Path(path)
    if not create and not path.is_file():
        raise FileNotFoundError(errno.ENOENT, "no workbench.db yet", str(path))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SaveError(path.parent, exc) from exc
    connection = sqlite3.connect(path, timeout=_BUSY_WAIT_S, isolation_level=None)
    try:
        try:
            _use_wal(connection)
            connection.execute("PRAGMA synchronous=FULL")  # a decision shown as saved survives a power cut
            connection.execute("PRAGMA foreign_keys=ON")
            _quick_check(connection, path)
            migrate(connection)
        except sqlite3.Error as exc:
            error = _open_error(path, exc)
            if read_only and isinstance(error, SaveError) and path.is_file():
                connection.close()
                connection = _immutable(path)
                return connection
            raise error from exc
        if connection.execute("SELECT 1 FROM label_versions LIMIT 1").fetchone() is None:
            _rebuild(connection, path)
    except BaseException:
        connection.close()
        raise
    return connection


def _use_wal(connection: sqlite3.Connection) -> None:
    """Switch the store to WAL. Several connections opening a new store together race for this
    switch, and SQLite answers the loser SQLITE_BUSY at once, without its busy wait (it would
    deadlock otherwise), so the switch is retried here for the same 10 s."""
    deadline = time.monotonic() + _BUSY_WAIT_S
    while True:
        try:
            if connection.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorname", "") != "SQLITE_BUSY" or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


_CHECKED: set[tuple[str, int, int]] = set()  # (path, size, mtime) of main files that passed quick_check


def _quick_check(connection: sqlite3.Connection, path: Path) -> None:
    """DatabaseError when `PRAGMA quick_check` finds damage; run once per state of the main file (a
    store of 20,000 decisions takes ~50 ms), again once a checkpoint or a hand has changed it."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key in _CHECKED:
        return
    problems = [row[0] for row in connection.execute("PRAGMA quick_check").fetchall()]
    if problems != ["ok"]:
        raise DatabaseError(f"{shown(path, 300)} is damaged ({shown('; '.join(problems), 80)}); {_WHAT_TO_DO}")
    _CHECKED.add(key)


def _immutable(path: Path) -> sqlite3.Connection:
    """The store opened for reading only, without its -wal/-shm files (for a reader on a full disk)."""
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?immutable=1", uri=True, isolation_level=None)
    try:
        if schema_version(connection) != SCHEMA_VERSION:
            raise DatabaseError(f"could not open {shown(path, 300)}: the disk is full and it needs a migration")
    except BaseException:
        connection.close()
        raise
    return connection


def _rebuild(connection: sqlite3.Connection, path: Path) -> None:
    """Exports but no label version in the store: put back what the export files hold (core.project.rebuild)."""
    if not exported_versions(path.parent / "labels"):
        return  # the common case (no export yet): no write lock taken
    try:
        with write_transaction(connection):
            notice = rebuild_from_exports(connection, path.parent / "labels")
    except SaveError as exc:
        raise SaveError(exc.path, exc, reason=f"{exc.reason} (while rebuilding it from the exported versions)") from exc
    if notice:
        _NOTICES.setdefault(str(path), []).append(f"{path}: {notice}")


def store_problem(db_path: str | Path) -> str | None:
    """Why the store at `db_path` cannot be used (the DatabaseError or SaveError message), for a page to
    show; None when it is usable or does not exist yet (nothing is created)."""
    try:
        with open_store(db_path, create=False, read_only=True):
            return None
    except FileNotFoundError:
        return None
    except (DatabaseError, SaveError) as exc:
        return str(exc)


def take_notices(db_path: str | Path) -> list[str]:
    """What opening the store at `db_path` repaired in this process (rebuilt from the exports), once."""
    return _NOTICES.pop(str(Path(db_path)), [])


def schema_version(connection: sqlite3.Connection) -> int:
    return int(connection.execute("PRAGMA user_version").fetchone()[0])


def migrate(connection: sqlite3.Connection) -> int:
    """Apply the migrations this database has not seen; returns the resulting version."""
    current = schema_version(connection)
    if current > SCHEMA_VERSION:
        raise DatabaseError(
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
def open_store(db_path: str | Path, *, create: bool = True, read_only: bool = False) -> Iterator[sqlite3.Connection]:
    """A connection to the store (connect: create=False never creates one; read_only readers still
    read on a full disk), closed afterwards."""
    connection = connect(db_path, create=create, read_only=read_only)
    try:
        yield connection
    finally:
        connection.close()


def _file_of(connection: sqlite3.Connection) -> str:
    try:
        return str(connection.execute("PRAGMA database_list").fetchone()[2]) or "workbench.db"
    except sqlite3.Error:
        return "workbench.db"


@contextmanager
def write_transaction(connection: sqlite3.Connection) -> Iterator[None]:
    """One IMMEDIATE transaction: takes the write lock first, so a check and its insert see the same state.

    All or nothing: an exception in the block, or a COMMIT that fails, rolls it back. A database
    error (disk full, read-only, locked past the busy wait) leaves as SaveError naming the file.
    """
    try:
        connection.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        raise save_error(_file_of(connection), exc) from exc
    try:
        yield
        connection.execute("COMMIT")
    except BaseException as exc:
        if connection.in_transaction:
            try:
                connection.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the connection is closed next; SQLite rolls back what was not committed
        if isinstance(exc, sqlite3.OperationalError):
            raise save_error(_file_of(connection), exc) from exc
        raise
