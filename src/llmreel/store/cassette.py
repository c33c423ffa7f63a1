"""A cassette: a directory of recording files, its in-memory map of keys, and atomic writes.

Identical keys form an ordered sequence (sorted by position, then file name).
Reads never trust a cache blindly: the directory listing (names, sizes, mtimes)
decides what must be parsed again, and a lookup that misses re-reads the
listing once, so recordings written meanwhile by other threads or processes
are found. New recordings claim their sequence position with an atomic
``link()`` of a fully written temporary file, so concurrent writers never
overwrite each other and nobody ever sees a half-written file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

import orjson

from llmreel.exceptions import RecordingFileError
from llmreel.formats import load_file, native
from llmreel.matching import Matcher
from llmreel.model.interaction import Interaction
from llmreel.store.entries import Entry, build_maps
from llmreel.store.files import TEMP_SUFFIX, bulk, remove_if_stale, write_atomically, write_error
from llmreel.store.index import INDEX_DIR, IndexRow, SqliteIndex
from llmreel.store.names import recording_file_name

__all__ = ["INDEX_THRESHOLD", "Cassette", "Entry", "StaleEntryError"]

log = logging.getLogger("llmreel")

# Below this many files a cassette is parsed directly; the SQLite index only
# pays for itself on large ones.
INDEX_THRESHOLD = 200
_SUFFIXES = (".json", ".txt")


class Cassette:
    """One directory of recordings, looked up by key and sequence position."""

    # Lookups (sequence, any_body_sequence) only read memory: async adapters may call them
    # on the event loop. A store that lists or fetches while looking up says False.
    in_memory_lookups: ClassVar[bool] = True

    def __init__(
        self,
        root: str | os.PathLike[str],
        matcher: Matcher | None = None,
        *,
        recursive: bool = True,
    ) -> None:
        self.root = Path(root)
        # How the cassette is named in messages: its directory, or a remote store's URL.
        self.location = str(self.root)
        self.matcher = matcher or Matcher()
        self.recursive = recursive
        self.name = self.root.name
        self.errors: dict[str, RecordingFileError] = {}
        self._lock = threading.RLock()
        self._entries: dict[str, Entry] = {}
        self._by_key: dict[str, list[Entry]] = {}
        self._by_path_key: dict[str, list[Entry]] = {}
        self._loaded: dict[str, tuple[int, Interaction]] = {}
        self._index: SqliteIndex | None = None
        self._listing: dict[str, tuple[int, int]] = {}
        self._dirs_seen: dict[str, int] = {}
        if not self._open_from_index():
            self.refresh()

    def _open_from_index(self) -> bool:
        """Open a large cassette from its index without a stat per file.

        Trusted only when the same file names are there and no directory changed since
        the index was last checked against every file (adding, removing or renaming a
        file changes its directory's mtime). A file edited in place is caught when it is
        used: :meth:`load` compares its size and mtime with the index.
        """
        names = self._scan(stat=False)
        if len(names) <= INDEX_THRESHOLD:
            return False
        self._index = SqliteIndex(self.root, self.matcher.fingerprint)
        dirs = orjson.dumps(self._dirs_seen, option=orjson.OPT_SORT_KEYS).decode()
        if self._index.get_meta("dirs") != dirs:
            return False
        with bulk():
            rows = self._index.rows()
            if rows is None:
                return False
            listing = {r[0]: (r[1], r[2]) for r in rows}
            if listing.keys() != names.keys():  # names are unique in the index
                return False
            with self._lock:
                self._rebuild(rows)
                self._listing = listing
        return True

    # ------------------------------------------------------------------ reading

    def _scan(self, *, stat: bool = True) -> dict[str, tuple[int, int]]:
        """Recording files under the root with (size, mtime_ns); (-1, -1) when ``stat`` is
        False. Directory mtimes go to ``self._dirs_seen``."""
        found: dict[str, tuple[int, int]] = {}
        dirs: dict[str, int] = {}
        stack = [(self.root, "")]
        while stack:
            folder, prefix = stack.pop()
            try:
                dirs[prefix] = os.stat(folder).st_mtime_ns
                it = os.scandir(folder)
            except (FileNotFoundError, NotADirectoryError):
                continue
            except OSError as exc:
                log.warning("llmreel: cannot list %s: %s", folder, exc)
                continue
            with it:
                for d in it:
                    if d.name.startswith("."):
                        if d.name.endswith(TEMP_SUFFIX):
                            remove_if_stale(d)
                        continue
                    try:
                        if d.is_dir():
                            if self.recursive and d.name != INDEX_DIR:
                                stack.append((Path(d.path), f"{prefix}{d.name}/"))
                            continue
                        if not d.name.endswith(_SUFFIXES):
                            continue
                        if not stat:
                            found[prefix + d.name] = (-1, -1)
                            continue
                        st = d.stat()
                    except OSError:
                        continue
                    found[prefix + d.name] = (st.st_size, st.st_mtime_ns)
        self._dirs_seen = dirs
        return found

    def _parse(self, name: str, size: int, mtime_ns: int) -> IndexRow:
        try:
            inter = load_file(self.root / name)
        except RecordingFileError as exc:
            return (name, size, mtime_ns, "", 0, "", "", "", None, 0, "", None, str(exc))
        key = self.matcher.key(inter.request)
        alt_key = None
        # Files imported from llama-stack keep the reader's second base path in meta.
        alt = inter.meta.get("alt_path")
        if isinstance(alt, str):
            alt_key = self.matcher.key(dataclasses.replace(inter.request, path=alt))
        self._loaded[name] = (mtime_ns, inter)
        pos = inter.position
        return (
            name,
            size,
            mtime_ns,
            key,
            pos,
            inter.request.method,
            inter.request.path,
            inter.request.model,
            inter.test_id,
            int(inter.any_body),
            self.matcher.path_key(inter.request),
            alt_key,
            None,
        )

    def refresh(self) -> None:
        """Bring the in-memory map in line with the files on disk."""
        with self._lock:
            listing = self._scan()
            if listing == self._listing and self._entries is not None:
                return
            rows: dict[str, IndexRow] = {}
            if self._index is None and len(listing) > INDEX_THRESHOLD:
                self._index = SqliteIndex(self.root, self.matcher.fingerprint)
            if self._index is not None:
                for row in self._index.rows() or []:
                    rows[row[0]] = row
            else:
                for name, e in self._entries.items():
                    rows[name] = (
                        name,
                        e.size,
                        e.mtime_ns,
                        e.key,
                        e.pos,
                        e.method,
                        e.path,
                        e.model,
                        e.test_id,
                        int(e.any_body),
                        e.path_key,
                        e.alt_key,
                        None,
                    )
                for name, err in self.errors.items():
                    size, mtime = self._listing.get(name, (-1, -1))
                    rows[name] = (name, size, mtime, "", 0, "", "", "", None, 0, "", None, str(err))
            upserts: list[IndexRow] = []
            for name, (size, mtime) in listing.items():
                known = rows.get(name)
                if known is None or known[1] != size or known[2] != mtime:
                    fresh = self._parse(name, size, mtime)
                    rows[name] = fresh
                    upserts.append(fresh)
            deletes = [n for n in rows if n not in listing]
            for n in deletes:
                del rows[n]
                self._loaded.pop(n, None)
            if self._index is not None and (upserts or deletes):
                self._index.update(upserts, deletes)
            if self._index is not None:
                self._index.set_meta(
                    "dirs", orjson.dumps(self._dirs_seen, option=orjson.OPT_SORT_KEYS).decode()
                )
            with bulk():
                self._rebuild(rows.values())
            self._listing = listing

    def _rebuild(self, rows: Iterable[IndexRow]) -> None:
        entries, by_key, by_path_key, errors = build_maps(rows, self.root, self.errors)
        new_errors = set(errors) - set(self.errors)
        for name in sorted(new_errors):
            log.warning("llmreel: %s", errors[name])
        self._entries, self._by_key, self._by_path_key, self.errors = (
            entries,
            by_key,
            by_path_key,
            errors,
        )

    def __len__(self) -> int:
        return len(self._entries)

    def entries(self) -> list[Entry]:
        with self._lock:
            return sorted(self._entries.values(), key=lambda e: e.name)

    def sequence(self, key: str) -> list[Entry]:
        with self._lock:
            return list(self._by_key.get(key, ()))

    def any_body_sequence(self, path_key: str) -> list[Entry]:
        with self._lock:
            return list(self._by_path_key.get(path_key, ()))

    def cached(self, entry: Entry) -> Interaction | None:
        """The recording of ``entry`` if it is in memory (no file is touched), else None."""
        with self._lock:
            cached = self._loaded.get(entry.name)
        return cached[1] if cached is not None and cached[0] == entry.mtime_ns else None

    def load(self, entry: Entry) -> Interaction:
        with self._lock:
            cached = self._loaded.get(entry.name)
            if cached is not None and cached[0] == entry.mtime_ns:
                return cached[1]
        path = self.root / entry.name
        try:
            st = os.stat(path)
            changed = (st.st_size, st.st_mtime_ns) != (entry.size, entry.mtime_ns)
        except FileNotFoundError:
            changed = True
        if changed:
            # Edited or removed since the map was built: re-read the directory and let the
            # caller look the request up again.
            self.refresh()
            raise StaleEntryError(str(path), "changed on disk while it was being looked up")
        inter = load_file(path)
        with self._lock:
            if len(self._loaded) > 4096:
                self._loaded.clear()
            self._loaded[entry.name] = (entry.mtime_ns, inter)
        return inter

    # ------------------------------------------------------------------ writing

    def file_name(self, inter: Interaction, pos: int) -> str:
        return recording_file_name(inter, pos)

    def write(self, inter: Interaction, pos: int, *, overwrite: bool) -> Entry:
        """Write atomically. ``overwrite`` replaces position ``pos``; otherwise the first
        free position from ``pos`` on is claimed (and set on ``inter``)."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise write_error(self.root, exc) from exc
        replaced: list[Entry] = []
        if overwrite:
            seq = self.sequence(inter.key)
            replaced = [e for e in seq if e.pos == pos]
        while True:
            inter.position = pos
            name = self.file_name(inter, pos)
            final = self.root / name
            if overwrite and name in self.errors:
                # Record mode re-records over a file it could not read; say so.
                log.warning("llmreel: replacing damaged recording %s", final)
            if self._store(name, native.dumps(inter), overwrite=overwrite):
                break
            pos += 1
        for old in replaced:
            if old.name != name:
                self._remove(old.name)
        st = final.stat()
        entry = Entry(
            name,
            inter.key,
            pos,
            inter.request.method,
            inter.request.path,
            inter.request.model,
            inter.test_id,
            False,
            self.matcher.path_key(inter.request),
            st.st_size,
            st.st_mtime_ns,
        )
        inter.path = str(final)
        with self._lock:
            for old in replaced:
                self._entries.pop(old.name, None)
                self._listing.pop(old.name, None)
            self._entries[name] = entry
            self._listing[name] = (st.st_size, st.st_mtime_ns)
            self._loaded[name] = (st.st_mtime_ns, inter)
            seq = [
                e
                for e in self._by_key.get(inter.key, [])
                if e.name != name and e.name not in {o.name for o in replaced}
            ]
            seq.append(entry)
            seq.sort(key=lambda e: (e.pos, e.name))
            self._by_key[inter.key] = seq
            if self._index is not None:
                self._index.update(
                    [
                        (
                            name,
                            st.st_size,
                            st.st_mtime_ns,
                            inter.key,
                            pos,
                            inter.request.method,
                            inter.request.path,
                            inter.request.model,
                            inter.test_id,
                            0,
                            entry.path_key,
                            None,
                            None,
                        )
                    ],
                    [o.name for o in replaced if o.name != name],
                )
        return entry

    def delete(self, entry: Entry) -> None:
        self._remove(entry.name)
        self.refresh()

    def exists(self) -> bool:
        """Whether the cassette holds anything yet (its directory exists)."""
        return self.root.exists()

    # Where file bytes go: the local directory here; a remote cassette also writes its store.

    def _store(self, name: str, data: bytes, *, overwrite: bool) -> bool:
        """Write file ``name`` whole; without ``overwrite``, False if the name is taken."""
        return write_atomically(self.root, name, data, overwrite=overwrite)

    def _remove(self, name: str) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.root / name)

    def close(self) -> None:
        if self._index is not None:
            self._index.close()


class StaleEntryError(RecordingFileError):
    """A file changed between indexing and use; the cassette has been refreshed."""
