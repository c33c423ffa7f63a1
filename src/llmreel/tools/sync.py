"""Moving cassettes between a local directory (a git checkout) and an object store.

``push`` uploads the files that differ, ``pull`` downloads them; with
``delete`` the other side also loses what this side does not hold. Files are
compared by content (the object's ETag is the MD5 of a single-part upload,
which is how llmreel writes; otherwise size and bytes). Only recording files
move (``.json``, ``.txt``, ``.yaml``, ``.yml``), never hidden files or the
derived ``.llmreel/`` folders. Each upload is one PUT, each download lands
through a temporary file: an interrupted sync leaves no partial file anywhere.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from llmreel.store.files import write_atomically
from llmreel.store.index import INDEX_DIR
from llmreel.store.remote.cache import cache_root
from llmreel.store.remote.location import RemoteLocation
from llmreel.store.remote.objects import ObjectInfo, ObjectStore

__all__ = ["SyncResult", "local_view", "pull", "push"]

SUFFIXES = (".json", ".txt", ".yaml", ".yml")
_MD5 = re.compile(r"^[0-9a-f]{32}$")
_WORKERS = 8


@dataclass
class SyncResult:
    copied: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0
    dry_run: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "copied": self.copied,
            "deleted": self.deleted,
            "unchanged": self.unchanged,
            "dry_run": self.dry_run,
        }


def _wanted(rel: str) -> bool:
    parts = rel.split("/")
    return rel.endswith(SUFFIXES) and not any(p.startswith(".") or p == INDEX_DIR for p in parts)


def _local_files(root: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            path = Path(folder) / name
            rel = path.relative_to(root).as_posix()
            if _wanted(rel) and path.is_file() and not path.is_symlink():
                found[rel] = path
    return found


def _same(data: bytes, info: ObjectInfo) -> bool:
    etag = info.etag.strip('"').lower()
    if _MD5.match(etag):
        return hashlib.md5(data, usedforsecurity=False).hexdigest() == etag
    return False  # another ETag scheme (multipart upload): copy to be sure


def push(
    local: Path,
    url: str,
    *,
    delete: bool = False,
    dry_run: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> SyncResult:
    """Upload the files of ``local`` that the store lacks or holds otherwise."""
    location = RemoteLocation.parse(url)
    store = ObjectStore(location)
    remote = {n: i for n, i in store.list(location.prefix, recursive=True).items() if _wanted(n)}
    files = _local_files(local)
    result = SyncResult(dry_run=dry_run)

    def one(rel: str) -> str | None:
        data = files[rel].read_bytes()
        info = remote.get(rel)
        if info is not None and _same(data, info):
            return None
        if not dry_run:
            store.put(location.key(rel), data)
        return rel

    _run(one, sorted(files), result, on_progress)
    if delete:
        result.deleted = sorted(set(remote) - set(files))
        if not dry_run:
            for rel in result.deleted:
                store.delete(location.key(rel))
    return result


def pull(
    url: str,
    local: Path,
    *,
    delete: bool = False,
    dry_run: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> SyncResult:
    """Download the store's files that ``local`` lacks or holds otherwise."""
    location = RemoteLocation.parse(url)
    store = ObjectStore(location)
    remote = {n: i for n, i in store.list(location.prefix, recursive=True).items() if _wanted(n)}
    files = _local_files(local) if local.is_dir() else {}
    result = SyncResult(dry_run=dry_run)

    def one(rel: str) -> str | None:
        here = files.get(rel)
        if here is not None and _same(here.read_bytes(), remote[rel]):
            return None
        if not dry_run:
            got = store.get(location.key(rel))
            if got is None:  # deleted meanwhile
                return None
            target = local / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(target.parent, target.name, got[0], overwrite=True)
        return rel

    _run(one, sorted(remote), result, on_progress)
    if delete:
        result.deleted = sorted(set(files) - set(remote))
        if not dry_run:
            for rel in result.deleted:
                files[rel].unlink(missing_ok=True)
    return result


def _run(
    one: Callable[[str], str | None],
    names: list[str],
    result: SyncResult,
    on_progress: Callable[[int], None] | None,
) -> None:
    with ThreadPoolExecutor(_WORKERS) as pool:
        for done in pool.map(one, names):
            if done is None:
                result.unchanged += 1
            else:
                result.copied.append(done)
            if on_progress is not None:
                on_progress(1)


def local_view(url: str, on_progress: Callable[[int], None] | None = None) -> Path:
    """A local, up-to-date copy of everything under ``url`` (for the read-only commands)."""
    location = RemoteLocation.parse(url)
    target = cache_root() / "views" / location.scheme / location.bucket
    if location.prefix:
        target = target.joinpath(*location.prefix.split("/"))
    pull(url, target, delete=True, on_progress=on_progress)
    return target
