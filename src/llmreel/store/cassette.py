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
import errno
import gc
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

from llmreel.exceptions import (
    InvalidCassetteNameError,
    RecordingFileError,
    WriteFailedError,
)
from llmreel.formats import load_file, native
from llmreel.interaction import Interaction
from llmreel.matching import Matcher
from llmreel.store.index import INDEX_DIR, IndexRow, SqliteIndex

__all__ = ["Cassette", "Entry", "cassette_path", "validate_cassette_name"]

log = logging.getLogger("llmreel")

# Below this many files a cassette is parsed directly; the SQLite index only
# pays for itself on large ones.
INDEX_THRESHOLD = 200
_SUFFIXES = (".json", ".txt")
# Temp files of writes in flight are ".<name>.<random>.partial"; one left behind by a
# writer that died (SIGKILL, power loss) is removed once it is older than this.
_TEMP_SUFFIX = ".partial"
STALE_TEMP_SECONDS = 60.0
_NAME_OK = re.compile(r"^[A-Za-z0-9._\-]+(/[A-Za-z0-9._\-]+)*$")


def validate_cassette_name(name: str) -> str:
    """A relative cassette name that cannot escape its directory, or an error saying why."""
    text = name.strip().replace("\\", "/").rstrip("/")
    if (
        not text
        or len(text) > 200
        or not _NAME_OK.match(text)
        or any(part in ("", ".", "..") or part.startswith(".") for part in text.split("/"))
    ):
        raise InvalidCassetteNameError(
            f"invalid cassette name {name!r}: use letters, digits, '.', '_', '-' and '/' "
            f"between parts, no '..' and no leading '.' (e.g. 'tests/test_chat')."
        )
    return text


def cassette_path(root: str | os.PathLike[str], name: str) -> Path:
    base = Path(root).resolve()
    target = (base / validate_cassette_name(name)).resolve()
    if target != base and base not in target.parents:
        raise InvalidCassetteNameError(f"cassette name {name!r} resolves outside {base}.")
    return target


@contextlib.contextmanager
def _bulk() -> Iterator[None]:
    """Pause the cyclic garbage collector while a large map is built.

    Building the map of a 100k-recording cassette allocates a few hundred thousand small
    objects that all stay alive; every allocation threshold crossed then triggers a
    collection that walks the growing heap for nothing (about a third of a warm open,
    bench/NOTES.md). Reference counting still frees everything; the collector is
    re-enabled afterwards only if it was on (a caller's ``gc.disable()`` is kept).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _slug(path: str) -> str:
    parts = [p for p in re.split(r"[^A-Za-z0-9]+", path) if p and p not in ("v1", "api", "v1beta")]
    return "-".join(parts)[:40].strip("-").lower() or "root"


@dataclass(slots=True)
class Entry:
    """What the cassette knows about one file without loading it."""

    name: str  # relative to the cassette root, with '/'
    key: str
    pos: int
    method: str
    path: str
    model: str
    test_id: str | None
    any_body: bool
    path_key: str
    size: int
    mtime_ns: int
    alt_key: str | None = None  # a second key the file answers to (llama-stack base paths)


class Cassette:
    """One directory of recordings, looked up by key and sequence position."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        matcher: Matcher | None = None,
        *,
        recursive: bool = True,
    ) -> None:
        self.root = Path(root)
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
        with _bulk():
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
                        if d.name.endswith(_TEMP_SUFFIX):
                            _remove_if_stale(d)
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
            with _bulk():
                self._rebuild(rows.values())
            self._listing = listing

    def _rebuild(self, rows: object) -> None:
        entries: dict[str, Entry] = {}
        errors: dict[str, RecordingFileError] = {}
        for row in rows:  # type: ignore[attr-defined]
            (
                name,
                size,
                mtime,
                key,
                pos,
                method,
                path,
                model,
                test_id,
                any_body,
                path_key,
                alt_key,
                error,
            ) = row
            if error is not None:
                old = self.errors.get(name)
                errors[name] = (
                    old
                    if old is not None and str(old) == error
                    else _stored_error(self.root / name, error)
                )
                continue
            entries[name] = Entry(
                name,
                key,
                pos,
                method,
                path,
                model,
                test_id,
                bool(any_body),
                path_key,
                size,
                mtime,
                alt_key,
            )
        by_key: dict[str, list[Entry]] = {}
        by_path_key: dict[str, list[Entry]] = {}
        for e in entries.values():
            by_key.setdefault(e.key, []).append(e)
            if e.alt_key:
                by_key.setdefault(e.alt_key, []).append(e)
            if e.any_body:
                by_path_key.setdefault(e.path_key, []).append(e)
        for seq in by_key.values():
            if len(seq) > 1:  # most keys have one recording: nothing to order
                seq.sort(key=lambda e: (e.pos, e.name))
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
        return f"{_slug(inter.request.path)}-{inter.key[:12]}-{pos}.json"

    def write(self, inter: Interaction, pos: int, *, overwrite: bool) -> Entry:
        """Write atomically. ``overwrite`` replaces position ``pos``; otherwise the first
        free position from ``pos`` on is claimed (and set on ``inter``)."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _write_error(self.root, exc) from exc
        replaced: list[Entry] = []
        if overwrite:
            seq = self.sequence(inter.key)
            replaced = [e for e in seq if e.pos == pos]
        while True:
            inter.position = pos
            name = self.file_name(inter, pos)
            final = self.root / name
            data = native.dumps(inter)
            tmp = self.root / f".{name}.{uuid.uuid4().hex[:8]}.partial"
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                try:
                    view = memoryview(data)
                    while view:
                        n = os.write(fd, view)
                        view = view[n:]
                    os.fsync(fd)
                finally:
                    os.close(fd)
                if overwrite:
                    if name in self.errors:
                        # Record mode re-records over a file it could not read; say so.
                        log.warning("llmreel: replacing damaged recording %s", final)
                    os.replace(tmp, final)
                else:
                    try:
                        os.link(tmp, final)
                    except FileExistsError:
                        os.unlink(tmp)
                        pos += 1
                        continue
                    os.unlink(tmp)
            except OSError as exc:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise _write_error(final, exc) from exc
            break
        for old in replaced:
            if old.name != name:
                with contextlib.suppress(OSError):
                    os.unlink(self.root / old.name)
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
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.root / entry.name)
        self.refresh()

    def close(self) -> None:
        if self._index is not None:
            self._index.close()


def _remove_if_stale(d: os.DirEntry[str]) -> None:
    """Delete a writer's leftover temp file; a fresh one may belong to a live writer."""
    try:
        if time.time() - d.stat(follow_symlinks=False).st_mtime > STALE_TEMP_SECONDS:
            os.unlink(d.path)
    except OSError:
        pass  # read-only directory or already gone: it is ignored either way


class StaleEntryError(RecordingFileError):
    """A file changed between indexing and use; the cassette has been refreshed."""


def _stored_error(path: Path, error: str) -> RecordingFileError:
    exc = RecordingFileError.__new__(RecordingFileError)
    Exception.__init__(exc, error)
    exc.path = str(path)
    exc.reason = error
    return exc


def _write_error(path: Path, exc: OSError) -> WriteFailedError:
    if exc.errno == errno.ENOSPC:
        what = "the disk is full"
        todo = "free some space and run again"
    elif exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        what = "the directory is not writable"
        todo = "make it writable, or use --mode replay to only read it"
    elif exc.errno == errno.EDQUOT:
        what = "the disk quota is exhausted"
        todo = "free some space and run again"
    else:
        what = exc.strerror or str(exc)
        todo = "check the directory and run again"
    return WriteFailedError(
        f"could not write recording {path}: {what} ({errno.errorcode.get(exc.errno or 0, '?')}). "
        f"Nothing was written and existing recordings are untouched; {todo}."
    )
