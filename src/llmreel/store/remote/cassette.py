"""A cassette in an object store, replayed from a local read-through cache.

It is a :class:`~llmreel.store.Cassette` whose directory is the local mirror of
the store's prefix (see :mod:`.cache`), plus the store:

- the store is listed by prefix (paged) when the cassette opens, and again when
  a lookup misses and the listing is older than ``list_ttl`` seconds
  (``$LLMREEL_REMOTE_LIST_TTL``, default 10); a cassette opened again within that
  time (the next test, another process on the machine) reuses the cached listing
  until its first miss, so warm replays make no call to the store at all;
- a lookup fetches only the files that can answer it: llmreel names carry the
  first 12 hex digits of the key (``chat-completions-3fa2b1c9d0e1-0.json``), so
  only those are downloaded; files named otherwise (llama-stack's) are fetched
  all at once, the first time any lookup needs them;
- a write is one PUT of the finished file: a new sequence position is claimed
  with a conditional create (``If-None-Match: *``), so concurrent recorders on
  many machines get distinct positions and never overwrite each other; record
  mode overwrites its position;
- when the store cannot be reached, what the mirror holds keeps replaying (one
  warning says so); writes fail with :class:`~llmreel.exceptions.WriteFailedError`.

A remote cassette is its own prefix, not its subtree: ``s3://b/a`` never
answers from ``s3://b/a/b``'s files.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from llmreel.exceptions import ConfigError, StoreUnavailableError, WriteFailedError
from llmreel.matching import Matcher
from llmreel.store.cassette import Cassette, Entry
from llmreel.store.index import INDEX_DIR
from llmreel.store.remote.cache import Mirror
from llmreel.store.remote.location import RemoteLocation
from llmreel.store.remote.objects import ObjectInfo, ObjectStore

__all__ = ["ENV_LIST_TTL", "RemoteCassette"]

log = logging.getLogger("llmreel")

ENV_LIST_TTL = "LLMREEL_REMOTE_LIST_TTL"
_DEFAULT_TTL = 10.0
_NATIVE_NAME = re.compile(r"-([0-9a-f]{12})-\d+\.json$")
_SUFFIXES = (".json", ".txt")
_FETCHERS = 8


def _list_ttl(value: float | None) -> float:
    if value is not None:
        return value
    text = os.environ.get(ENV_LIST_TTL, "").strip()
    if not text:
        return _DEFAULT_TTL
    try:
        return max(0.0, float(text))
    except ValueError:
        raise ConfigError(
            f"${ENV_LIST_TTL}={text!r}: give the seconds a store listing is reused, e.g. 10."
        ) from None


class RemoteCassette(Cassette):
    """One prefix of an object store, looked up like a local cassette."""

    in_memory_lookups = False  # a lookup may list or fetch from the store

    def __init__(
        self,
        url: str | RemoteLocation,
        matcher: Matcher | None = None,
        *,
        cache_dir: str | os.PathLike[str] | None = None,
        list_ttl: float | None = None,
    ) -> None:
        self.remote = url if isinstance(url, RemoteLocation) else RemoteLocation.parse(url)
        self.objects = ObjectStore(self.remote)
        self.mirror = Mirror(self.remote, Path(cache_dir) if cache_dir is not None else None)
        self.list_ttl = _list_ttl(list_ttl)
        self._remote_lock = threading.RLock()
        self._listing_remote: dict[str, ObjectInfo] | None = None
        self._listed_at = 0.0
        self._offline = False
        self._by_key12: dict[str, list[str]] = {}
        self._others: list[str] = []
        # A listing taken by an earlier open (this process or another) within its lifetime
        # serves lookups that hit; the first miss lists the store again.
        self._inherited = False
        age = time.time() - self.mirror.listed_at
        if self.mirror.listing is not None and 0 <= age < self.list_ttl:
            self._index_listing({n: ObjectInfo(s, e) for n, (s, e) in self.mirror.listing.items()})
            self._listed_at = time.monotonic() - age
            self._inherited = True
        self._opening = True
        super().__init__(self.mirror.dir, matcher, recursive=False)
        self._opening = False
        self.location = self.remote.url
        self.name = self.remote.prefix.rsplit("/", 1)[-1] if self.remote.prefix else ""

    # ------------------------------------------------------------------ the store's listing

    def _sync_listing(self, *, force: bool = False) -> None:
        with self._remote_lock:
            now = time.monotonic()
            fresh = now - self._listed_at < self.list_ttl
            if self._listing_remote is not None and fresh and not force:
                return
            try:
                listing = self.objects.list(self.remote.prefix, recursive=False)
            except StoreUnavailableError as exc:
                if not self._offline:
                    log.warning(
                        "llmreel: %s Replaying %s from the local cache in %s until it is back.",
                        exc,
                        self.remote,
                        self.mirror.dir,
                    )
                self._offline = True
                self._listed_at = now
                if self._listing_remote is None:
                    self._index_listing(
                        {n: ObjectInfo(f.size, f.etag) for n, f in self.mirror.files.items()}
                    )
                return
            if self._offline:
                log.warning("llmreel: %s is reachable again.", self.remote)
            self._offline = False
            self._inherited = False
            self._listed_at = now
            listing = {
                n: info
                for n, info in listing.items()
                if n.endswith(_SUFFIXES) and not n.startswith((".", INDEX_DIR))
            }
            stale = [n for n in self.mirror.files if not self._same(n, listing.get(n))]
            self.mirror.drop(stale)
            self._index_listing(listing)
            self.mirror.remember_listing({n: (i.size, i.etag) for n, i in listing.items()})

    def _same(self, name: str, info: ObjectInfo | None) -> bool:
        return info is not None and self.mirror.fresh(name, info.etag)

    def _index_listing(self, listing: dict[str, ObjectInfo]) -> None:
        by_key12: dict[str, list[str]] = {}
        others: list[str] = []
        for name in listing:
            m = _NATIVE_NAME.search(name)
            if m:
                by_key12.setdefault(m.group(1), []).append(name)
            else:
                others.append(name)
        self._listing_remote = listing
        self._by_key12 = by_key12
        self._others = others

    # ------------------------------------------------------------------ fetching

    def _fetch(self, name: str) -> bool:
        try:
            got = self.objects.get(self.remote.key(name))
        except StoreUnavailableError as exc:
            if not self._offline:
                log.warning("llmreel: %s", exc)
            return False
        if got is None:
            return False
        data, etag = got
        self.mirror.put(name, data, etag)
        return True

    def _ensure(self, names: Iterable[str]) -> None:
        """Fetch those of ``names`` the mirror lacks, then let the cassette see them."""
        listing = self._listing_remote or {}
        missing = [n for n in names if not self._same(n, listing.get(n))]
        if not missing or self._offline:
            return
        if len(missing) == 1:
            fetched = self._fetch(missing[0])
        else:
            with ThreadPoolExecutor(min(_FETCHERS, len(missing))) as pool:
                fetched = any(list(pool.map(self._fetch, missing)))
        if fetched:
            Cassette.refresh(self)

    def _ensure_all(self) -> None:
        self._sync_listing()
        self._ensure(list(self._listing_remote or {}))

    # ------------------------------------------------------------------ lookups

    def refresh(self) -> None:
        # The engine refreshes on a miss: a listing this instance did not take itself may
        # be older than what was written since, so it is taken again.
        self._sync_listing(force=self._inherited and not self._opening)
        Cassette.refresh(self)

    def sequence(self, key: str) -> list[Entry]:
        self._sync_listing()
        self._ensure([*self._by_key12.get(key[:12], ()), *self._others])
        return super().sequence(key)

    def any_body_sequence(self, path_key: str) -> list[Entry]:
        self._ensure_all()
        return super().any_body_sequence(path_key)

    def entries(self) -> list[Entry]:
        self._ensure_all()
        return super().entries()

    def __len__(self) -> int:
        self._sync_listing()
        return len(self._listing_remote or {})

    def exists(self) -> bool:
        self._sync_listing()
        return bool(self._listing_remote)

    def names(self) -> list[str]:
        """The recording files the store holds (from the listing: nothing is fetched)."""
        self._sync_listing()
        return sorted(self._listing_remote or {})

    def remove(self, names: Iterable[str]) -> None:
        """Delete these recording files from the store (and the cache)."""
        for name in names:
            self._remove(name)
        Cassette.refresh(self)

    # ------------------------------------------------------------------ writing

    def _store(self, name: str, data: bytes, *, overwrite: bool) -> bool:
        key = self.remote.key(name)
        try:
            etag = self.objects.put(key, data) if overwrite else self.objects.create(key, data)
        except StoreUnavailableError as exc:
            raise WriteFailedError(
                f"could not write recording {self.remote}/{name}: {exc} Nothing was written "
                f"and the store's recordings are untouched."
            ) from None
        if etag is None:
            return False  # another recorder holds this position: try the next one
        self.mirror.put(name, data, etag)
        self.mirror.listed(name, len(data), etag)
        with self._remote_lock:
            if self._listing_remote is not None:
                self._listing_remote[name] = ObjectInfo(len(data), etag)
                m = _NATIVE_NAME.search(name)
                if m and name not in self._by_key12.setdefault(m.group(1), []):
                    self._by_key12[m.group(1)].append(name)
        return True

    def _remove(self, name: str) -> None:
        try:
            self.objects.delete(self.remote.key(name))
        except StoreUnavailableError as exc:
            log.warning("llmreel: %s", exc)
            return
        with self._remote_lock:
            if self._listing_remote is not None:
                self._listing_remote.pop(name, None)
        self.mirror.drop([name])
