"""The inspector's index of a directory: every recording under DIR, kept in memory.

Built once by reading every file (native, llama-stack and vcrpy), then kept fresh
by a walk that only stats files: a file whose size or modification time changed is
read again, a new one is read, a removed one is dropped. Pages ask the index
(filters, search, sort, one page of rows); they never read recording files
themselves. A file that resolves outside DIR (a symlink pointing elsewhere) is
never indexed, so nothing outside DIR can be shown.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmreel.tools.catalog import find_files, load
from llmreel.ui.paths import inside
from llmreel.ui.rows import Row, rows_of

__all__ = ["Query", "RecordingIndex"]

_SORTABLE = (
    "file",
    "endpoint",
    "model",
    "test",
    "events",
    "size",
    "recorded",
    "status",
    "format",
    "streamed",
)


@dataclass(slots=True)
class Query:
    """What the Browse page asks for; every filter is optional."""

    q: str = ""  # full text, in prompts and answers (any case, every word must appear)
    endpoint: str = ""  # exact endpoint path
    model: str = ""  # exact model name
    format: str = ""
    cassette: str = ""  # exact folder, relative to DIR
    test: str = ""  # test id contains this
    streamed: bool | None = None
    errors: bool | None = None  # only rows with (True) or without (False) an error
    since: str = ""  # recorded on or after this ISO date
    until: str = ""  # recorded before the end of this ISO date
    sort: str = "file"  # a column name, "-" in front for descending
    offset: int = 0
    limit: int = 100

    def matches(self, row: Row) -> bool:
        if self.endpoint and row.endpoint != self.endpoint:
            return False
        if self.model and row.model != self.model:
            return False
        if self.format and row.format != self.format:
            return False
        if self.cassette and row.cassette != self.cassette:
            return False
        if self.test and self.test.lower() not in row.test.lower():
            return False
        if self.streamed is not None and row.streamed != self.streamed:
            return False
        if self.errors is not None and bool(row.error) != self.errors:
            return False
        if self.since and row.recorded[: len(self.since)] < self.since:
            return False
        if self.until and row.recorded[: len(self.until)] > self.until:
            return False
        if self.q:
            hay = row.haystack
            return all(word in hay for word in self.q.lower().split())
        return True


class RecordingIndex:
    """Rows for every recording under ``root``; thread-safe, refreshed by stat."""

    def __init__(self, root: Path, *, max_age: float = 2.0) -> None:
        self.root = root
        self.real_root = Path(os.path.realpath(root))
        self.max_age = max_age
        self._lock = threading.Lock()
        self._files: dict[str, tuple[int, int, list[Row]]] = {}  # rel -> (size, mtime, rows)
        self._rows: list[Row] = []
        self._by_id: dict[str, Row] = {}
        self._checked = 0.0
        self.skipped: list[str] = []  # files left out because they resolve outside DIR
        self.build_s = 0.0

    # ------------------------------------------------------------------ refresh

    def refresh(self, progress: Callable[[int, int], None] | None = None) -> bool:
        """Bring the index up to date with the disk; True when something changed."""
        with self._lock:
            started = time.perf_counter()
            changed = self._refresh(progress)
            self._checked = time.monotonic()
            if not self.build_s:
                self.build_s = time.perf_counter() - started
            return changed

    def fresh(self) -> None:
        """Refresh when the last look at the disk is older than ``max_age`` seconds."""
        if time.monotonic() - self._checked >= self.max_age:
            self.refresh()

    def _refresh(self, progress: Callable[[int, int], None] | None) -> bool:
        found = find_files([self.root], include_yaml=True) if self.root.is_dir() else []
        seen: set[str] = set()
        skipped: list[str] = []
        changed = False
        for n, (path, _) in enumerate(found):
            if progress is not None and n % 200 == 0:
                progress(n, len(found))
            rel = path.relative_to(self.root).as_posix()
            if path.is_symlink() and not inside(self.real_root, path):
                skipped.append(rel)
                continue
            try:
                st = path.stat()
            except OSError:
                continue  # removed while walking
            seen.add(rel)
            known = self._files.get(rel)
            if known is not None and known[0] == st.st_size and known[1] == st.st_mtime_ns:
                continue
            item = load(path, self.root)
            cassette = Path(rel).parent.as_posix()
            self._files[rel] = (
                st.st_size,
                st.st_mtime_ns,
                rows_of(item, rel, cassette, st.st_mtime_ns),
            )
            changed = True
        for rel in set(self._files) - seen:
            del self._files[rel]
            changed = True
        if progress is not None:
            progress(len(found), len(found))
        self.skipped = skipped
        if changed or not self._rows:
            self._rows = [r for rel in sorted(self._files) for r in self._files[rel][2]]
            self._by_id = {r.id: r for r in self._rows}
        return changed

    # ------------------------------------------------------------------ reading

    def rows(self) -> list[Row]:
        self.fresh()
        return self._rows

    def get(self, row_id: str) -> Row | None:
        """The row with this id; failing that, the one file a server's journal means by it.

        The journal names a file by its cassette and its name inside that cassette
        (``CASSETTE/NAME``), and for recordings found at depth by the name alone: a
        row whose file is under the cassette's folder with that name is taken when it
        is the only one.
        """
        self.fresh()
        row = self._by_id.get(row_id)
        if row is not None or not row_id or "#" in row_id:
            return row
        folder, _, name = row_id.rpartition("/")
        prefix = "" if folder in ("", ".") else folder.removeprefix("./") + "/"
        found = [
            r
            for r in self._rows
            if r.index == 0 and r.file.startswith(prefix) and r.file.rsplit("/", 1)[-1] == name
        ]
        return found[0] if len(found) == 1 else None

    def path_of(self, row: Row) -> Path:
        return self.root / row.file

    def query(self, query: Query) -> tuple[int, list[Row]]:
        """(how many rows match, the page of them the query asks for)."""
        matched = [r for r in self.rows() if query.matches(r)]
        column = query.sort.lstrip("-")
        if column in _SORTABLE and column != "file":
            matched.sort(key=lambda r: _sort_key(r, column), reverse=query.sort.startswith("-"))
        elif query.sort == "-file":
            matched.reverse()
        start = max(0, query.offset)
        return len(matched), matched[start : start + max(1, min(query.limit, 1000))]

    def facets(self) -> dict[str, Any]:
        """The values each filter can take, with how many rows have each."""
        rows = self.rows()
        counts: dict[str, Counter[str]] = {
            k: Counter() for k in ("endpoint", "model", "format", "cassette")
        }
        for r in rows:
            counts["endpoint"][r.endpoint] += 1
            counts["model"][r.model] += 1
            counts["format"][r.format] += 1
            counts["cassette"][r.cassette] += 1
        out: dict[str, Any] = {
            k: [{"value": v, "count": n} for v, n in sorted(c.items()) if v]
            for k, c in counts.items()
        }
        out["total"] = len(rows)
        out["files"] = len(self._files)
        out["unreadable"] = sum(1 for r in rows if r.error.startswith("unreadable"))
        out["skipped"] = list(self.skipped)
        return out


def _sort_key(row: Row, column: str) -> tuple[int, Any]:
    value = getattr(row, column)
    if value is None:
        return (1, 0)
    if isinstance(value, bool):
        return (0, int(value))
    return (0, value)
