"""The derived SQLite index of a cassette: a cache of what each file's key is.

Files are the truth. The index remembers, per file name, its size and mtime and
what parsing it gave (key, position, endpoint, model...), so opening a large
cassette does not parse every file again. It lives in ``<cassette>/.llmreel/``
with a ``.gitignore`` of its own, is rebuilt when it is missing, corrupt, or was
built under another matcher configuration, and is never needed for correctness.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path

__all__ = ["INDEX_DIR", "IndexRow", "SqliteIndex"]

INDEX_DIR = ".llmreel"
_SCHEMA_VERSION = 3

# name, size, mtime_ns, key, pos, method, path, model, test_id, any_body, path_key, alt_key,
# error
IndexRow = tuple[
    str, int, int, str, int, str, str, str, str | None, int, str, str | None, str | None
]


class SqliteIndex:
    """A per-cassette cache table; every failure degrades to 'no index'."""

    def __init__(self, root: Path, fingerprint: str) -> None:
        self.root = root
        self.fingerprint = fingerprint
        self.path = root / INDEX_DIR / "index.sqlite"
        self._db: sqlite3.Connection | None = None

    def _open(self) -> sqlite3.Connection | None:
        if self._db is not None:
            return self._db
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            ignore = self.path.parent / ".gitignore"
            if not ignore.exists():
                ignore.write_text("# llmreel's derived index: a cache, never commit it\n*\n")
            db = sqlite3.connect(
                self.path, timeout=10, check_same_thread=False, isolation_level=None
            )
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=OFF")
            db.execute("CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT)")
            row = db.execute("SELECT v FROM meta WHERE k='schema'").fetchone()
            fp_row = db.execute("SELECT v FROM meta WHERE k='fingerprint'").fetchone()
            if (
                row is None
                or row[0] != str(_SCHEMA_VERSION)
                or fp_row is None
                or fp_row[0] != self.fingerprint
            ):
                db.execute("DROP TABLE IF EXISTS files")
                db.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (str(_SCHEMA_VERSION),)
                )
                db.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('fingerprint', ?)", (self.fingerprint,)
                )
            db.execute(
                "CREATE TABLE IF NOT EXISTS files (name TEXT PRIMARY KEY, size INTEGER, "
                "mtime_ns INTEGER, key TEXT, pos INTEGER, method TEXT, path TEXT, model TEXT, "
                "test_id TEXT, any_body INTEGER, path_key TEXT, alt_key TEXT, error TEXT)"
            )
        except (sqlite3.Error, OSError):
            self._discard()
            return None
        self._db = db
        return db

    def _discard(self) -> None:
        """A corrupt or unusable index is deleted; the next open rebuilds it."""
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
        self._db = None
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                os.unlink(str(self.path) + suffix)

    def rows(self) -> list[IndexRow] | None:
        db = self._open()
        if db is None:
            return None
        try:
            return list(
                db.execute(
                    "SELECT name, size, mtime_ns, key, pos, method, path, model, test_id, "
                    "any_body, path_key, alt_key, error FROM files"
                )
            )
        except sqlite3.Error:
            self._discard()
            return None

    def update(self, upserts: Iterable[IndexRow], deletes: Iterable[str]) -> None:
        db = self._open()
        if db is None:
            return
        try:
            db.execute("BEGIN")
            db.executemany("DELETE FROM files WHERE name=?", ((n,) for n in deletes))
            db.executemany(
                "INSERT OR REPLACE INTO files VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", upserts
            )
            db.execute("COMMIT")
        except sqlite3.Error:
            self._discard()

    def get_meta(self, key: str) -> str | None:
        db = self._open()
        if db is None:
            return None
        try:
            row = db.execute("SELECT v FROM meta WHERE k=?", (key,)).fetchone()
        except sqlite3.Error:
            self._discard()
            return None
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        db = self._open()
        if db is None:
            return
        try:
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
        except sqlite3.Error:
            self._discard()

    def close(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None
