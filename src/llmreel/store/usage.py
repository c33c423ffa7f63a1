"""Which recordings the last run used: written by the pytest plugin and the server, read by prune.

One small JSON file per cassette directory, ``<cassette>/.llmreel/last-run.json``::

    {"version": 1, "run_id": "…", "complete": true, "written_at": "…",
     "used": ["chat-completions-3f2a…-0.json", …], "files": [… every file present …]}

Names are relative to the cassette directory, with ``/``. ``files`` is the set
of recordings that existed when the run ended: ``llmreel prune`` deletes only
``files - used``, so a recording added after the run is never deleted.
Writers sharing a ``run_id`` (pytest-xdist workers, several server connections)
merge their ``used`` sets under a file lock instead of overwriting each other.
A run that did not cover the whole suite (``-k``, ``--lf``, a crash) should say
``complete=False``; prune then refuses to act on it unless forced.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from llmreel.store.index import INDEX_DIR

__all__ = ["USAGE_FILE", "Usage", "find_usage", "read_usage", "write_usage"]

USAGE_FILE = "last-run.json"
_VERSION = 1


@dataclass(slots=True)
class Usage:
    """What one run used in one cassette directory."""

    root: Path
    used: set[str] = field(default_factory=set)
    files: set[str] = field(default_factory=set)
    run_id: str = ""
    complete: bool = True
    written_at: str = ""

    @property
    def unused(self) -> set[str]:
        return self.files - self.used


def _usage_path(cassette_root: str | os.PathLike[str]) -> Path:
    return Path(cassette_root) / INDEX_DIR / USAGE_FILE


def _rel(root: Path, name: str) -> str:
    p = Path(name)
    if p.is_absolute():
        with contextlib.suppress(ValueError):
            return p.relative_to(root).as_posix()
    return p.as_posix()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: last writer wins
        yield
        return
    with open(path.with_suffix(".lock"), "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def write_usage(
    cassette_root: str | os.PathLike[str],
    used: Iterable[str],
    all_files: Iterable[str],
    *,
    run_id: str | None = None,
    complete: bool = True,
) -> Path:
    """Record which files of ``cassette_root`` a run used; returns the usage file's path.

    ``used`` and ``all_files`` are names relative to the cassette (absolute paths
    under it are accepted). With the ``run_id`` of an earlier write, the sets are
    merged (several workers of one run); a new run id replaces the record.
    """
    root = Path(cassette_root)
    path = _usage_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    ignore = path.parent / ".gitignore"
    if not ignore.exists():
        with contextlib.suppress(OSError):
            ignore.write_text("# llmreel's derived files: never commit them\n*\n")
    used_set = {_rel(root, n) for n in used}
    files_set = {_rel(root, n) for n in all_files} | used_set
    rid = run_id or uuid.uuid4().hex
    with _locked(path):
        old = read_usage(root)
        if old is not None and run_id and old.run_id == run_id:
            used_set |= old.used
            files_set |= old.files
            complete = complete and old.complete
        doc: dict[str, Any] = {
            "version": _VERSION,
            "run_id": rid,
            "complete": complete,
            "written_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "used": sorted(used_set),
            "files": sorted(files_set),
        }
        tmp = path.with_name(f".{USAGE_FILE}.{uuid.uuid4().hex[:8]}.partial")
        tmp.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
        os.replace(tmp, path)
    return path


def read_usage(cassette_root: str | os.PathLike[str]) -> Usage | None:
    """The last run's usage of ``cassette_root``; None when there is none or it is unreadable."""
    root = Path(cassette_root)
    try:
        doc = orjson.loads(_usage_path(root).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    if not isinstance(doc, dict) or doc.get("version") != _VERSION:
        return None
    used, files = doc.get("used"), doc.get("files")
    if not isinstance(used, list) or not isinstance(files, list):
        return None
    return Usage(
        root=root,
        used={str(n) for n in used},
        files={str(n) for n in files},
        run_id=str(doc.get("run_id", "")),
        complete=doc.get("complete") is not False,
        written_at=str(doc.get("written_at", "")),
    )


def find_usage(top: str | os.PathLike[str]) -> list[Usage]:
    """Every usage record in ``top`` and the directories below it."""
    out: list[Usage] = []
    for dirpath, dirnames, _ in os.walk(top):
        if INDEX_DIR in dirnames:
            usage = read_usage(dirpath)
            if usage is not None:
                out.append(usage)
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
    out.sort(key=lambda u: str(u.root))
    return out
