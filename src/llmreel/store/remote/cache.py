"""The local read-through cache of remote cassettes: content-addressed files, checked by ETag.

Layout under the cache root (``$LLMREEL_CACHE_DIR``, else
``$XDG_CACHE_HOME/llmreel``, else ``~/.cache/llmreel``)::

    objects/<sha256[:2]>/<sha256>           each file's bytes, once, by content
    cassettes/<scheme>/<bucket>/<prefix>/   a mirror per cassette: the files fetched so
                                            far, under their store names (hard links
                                            into objects/), read like a local cassette
      .llmreel/remote.json                  name -> ETag, sha256 and size of each, and
                                            the store's last listing with its time

A mirror file is used only while the store's listing shows the same ETag for
its name; a changed or removed object drops the mirror file, and the next
lookup fetches it again. Nothing here is ever a source of truth: deleting the
cache costs one fetch per recording used next.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from llmreel.store.files import write_atomically
from llmreel.store.index import INDEX_DIR
from llmreel.store.remote.location import RemoteLocation

__all__ = ["CachedFile", "Mirror", "cache_root"]

ENV_CACHE = "LLMREEL_CACHE_DIR"
_STATE = "remote.json"


def cache_root() -> Path:
    explicit = os.environ.get(ENV_CACHE)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "llmreel"


@dataclass(frozen=True, slots=True)
class CachedFile:
    etag: str
    sha256: str
    size: int


class Mirror:
    """The cached copy of one remote cassette: its directory and what each file was."""

    def __init__(self, location: RemoteLocation, root: Path | None = None) -> None:
        base = root or cache_root()
        self.objects = base / "objects"
        self.dir = base / "cassettes" / location.scheme / location.bucket
        if location.prefix:
            self.dir = self.dir.joinpath(*location.prefix.split("/"))
        self._state_path = self.dir / INDEX_DIR / _STATE
        self._lock = threading.Lock()
        self.files: dict[str, CachedFile] = {}
        # The store's last listing (name -> (size, ETag)) and when it was taken (epoch s).
        self.listing: dict[str, tuple[int, str]] | None = None
        self.listed_at = 0.0
        self._load_state()

    def _load_state(self) -> None:
        try:
            doc = orjson.loads(self._state_path.read_bytes())
            files = {
                str(name): CachedFile(str(v["etag"]), str(v["sha256"]), int(v["size"]))
                for name, v in doc.get("files", {}).items()
            }
            listing = doc.get("listing")
            if isinstance(listing, dict):
                self.listing = {str(n): (int(s), str(e)) for n, (s, e) in listing.items()}
                self.listed_at = float(doc.get("listed_at", 0.0))
        except (OSError, orjson.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError):
            return
        # A mirror file removed by hand is simply fetched again.
        self.files = {n: f for n, f in files.items() if (self.dir / n).is_file()}

    def remember_listing(self, listing: dict[str, tuple[int, str]]) -> None:
        """Keep the store's listing, so the next open within the listing's lifetime (in this
        process or another) needs no listing call."""
        with self._lock:
            self.listing = dict(listing)
            self.listed_at = time.time()
            self._save_state()

    def listed(self, name: str, size: int, etag: str) -> None:
        """A file this machine wrote is in the store now (the listing's age is unchanged)."""
        with self._lock:
            if self.listing is not None:
                self.listing[name] = (size, etag)
                self._save_state()

    def _save_state(self) -> None:
        doc: dict[str, object] = {
            "files": {
                n: {"etag": f.etag, "sha256": f.sha256, "size": f.size}
                for n, f in sorted(self.files.items())
            },
            "listed_at": self.listed_at,
        }
        if self.listing is not None:
            doc["listing"] = {n: [s, e] for n, (s, e) in sorted(self.listing.items())}
        folder = self._state_path.parent
        folder.mkdir(parents=True, exist_ok=True)
        gitignore = folder / ".gitignore"
        if not gitignore.exists():
            with contextlib.suppress(OSError):
                gitignore.write_text("*\n")
        write_atomically(folder, _STATE, orjson.dumps(doc), overwrite=True)

    def fresh(self, name: str, etag: str) -> bool:
        """Whether the mirror holds ``name`` as the store has it now."""
        known = self.files.get(name)
        return known is not None and (not etag or known.etag == etag)

    def put(self, name: str, data: bytes, etag: str) -> None:
        """Keep ``data`` as file ``name`` (content-addressed, linked into the mirror)."""
        digest = hashlib.sha256(data).hexdigest()
        blob_dir = self.objects / digest[:2]
        blob = blob_dir / digest
        if not blob.is_file():
            blob_dir.mkdir(parents=True, exist_ok=True)
            write_atomically(blob_dir, digest, data, overwrite=True)
        self.dir.mkdir(parents=True, exist_ok=True)
        target = self.dir / name
        tmp = self.dir / f".{name}.{digest[:8]}.{os.getpid()}.link.partial"
        try:
            os.link(blob, tmp)
            os.replace(tmp, target)
        except OSError:  # no hard links here (another file system): a copy will do
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            write_atomically(self.dir, name, data, overwrite=True)
        with self._lock:
            self.files[name] = CachedFile(etag, digest, len(data))
            self._save_state()

    def drop(self, names: list[str]) -> None:
        """Forget files the store no longer holds as cached (removed or replaced there)."""
        if not names:
            return
        with self._lock:
            for name in names:
                self.files.pop(name, None)
                with contextlib.suppress(OSError):
                    os.unlink(self.dir / name)
            self._save_state()
