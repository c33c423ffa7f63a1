"""What a cassette knows about its files without loading them: entries and their maps."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from llmreel.exceptions import RecordingFileError
from llmreel.store.index import IndexRow

__all__ = ["Entry", "Maps", "build_maps"]


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


Maps = tuple[
    dict[str, Entry], dict[str, list[Entry]], dict[str, list[Entry]], dict[str, RecordingFileError]
]


def build_maps(
    rows: Iterable[IndexRow], root: Path, old_errors: dict[str, RecordingFileError]
) -> Maps:
    """Entries by name, sequences by key and by path key, and unreadable files, from rows."""
    entries: dict[str, Entry] = {}
    errors: dict[str, RecordingFileError] = {}
    for row in rows:
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
            old = old_errors.get(name)
            errors[name] = (
                old if old is not None and str(old) == error else _stored_error(root / name, error)
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
    return entries, by_key, by_path_key, errors


def _stored_error(path: Path, error: str) -> RecordingFileError:
    exc = RecordingFileError.__new__(RecordingFileError)
    Exception.__init__(exc, error)
    exc.path = str(path)
    exc.reason = error
    return exc
