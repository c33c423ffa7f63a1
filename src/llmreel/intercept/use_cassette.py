"""``use_cassette``: record and replay every httpx/httpx2/aiohttp/requests request in a block.

Usable as a context manager (``with`` / ``async with``) and as a decorator of
sync and async functions. Mode and directory may come from the environment
(``LLMREEL_MODE``, ``LLMREEL_DIR``) so the same test code records locally and
replays in CI. ``block_network=True`` (replay mode only) also makes any
connection that goes around the interceptors fail, naming what escaped (see
:mod:`llmreel.intercept.guard`). ``max_age``/``on_stale`` say what to do with
recordings too old to prove much (see :mod:`llmreel.engine.freshness`).

A miss is answered with a 404 in the API's own shape, and the block then fails
when it ends (``on_miss="fail"``), even if the code caught the error: a test
that expects an HTTP error must not pass on a missing recording.
``on_miss="raise"`` raises :class:`~llmreel.ReplayMissError` at the call
instead (an SDK may wrap it as a connection error), ``on_miss="respond"`` only
answers the 404 and lets the block pass. ``async with`` opens and closes the
cassette in a worker thread, never on the event loop.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import inspect
import os
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar, get_args

from llmreel.engine import Engine, Exhausted, JournalEntry, Stats
from llmreel.engine.faults import FaultPicker, FaultsLike
from llmreel.engine.freshness import Freshness
from llmreel.engine.modes import ENV_DIR, Mode, resolve_mode
from llmreel.exceptions import ConfigError, ReplayMissError, StaleRecordingWarning
from llmreel.intercept.guard import DEFAULT_ALLOW
from llmreel.intercept.guard import block_network as _block_network
from llmreel.intercept.httpx_transports import OnMiss
from llmreel.intercept.offload import off_loop
from llmreel.intercept.patching import ActiveCassette, activate, deactivate
from llmreel.matching import Matcher, Normalizer
from llmreel.store import child_location, is_remote, open_cassette

__all__ = ["CassetteSession", "open_engine", "resolve_cassette_dir", "use_cassette"]

F = TypeVar("F", bound=Callable[..., Any])


def resolve_cassette_dir(path: str | os.PathLike[str]) -> Path | str:
    """A relative path is taken under ``$LLMREEL_DIR`` when that is set (which may be an
    object-store URL); an ``s3://`` (``gs://``, ``az://``) location is kept as it is."""
    if is_remote(path):
        return str(path)
    p = Path(path).expanduser()
    if not p.is_absolute():
        base = os.environ.get(ENV_DIR)
        if base and is_remote(base):
            return str(child_location(base, p.as_posix()))
        if base:
            p = Path(base).expanduser() / p
    return p


def open_engine(
    path: str | os.PathLike[str],
    *,
    mode: str | Mode | None = None,
    normalizers: Iterable[str | Normalizer | Callable[[Any], Any]] = (),
    ignore_query: Iterable[str] = (),
    canonical_off: str | Iterable[str] = (),
    on_exhausted: Exhausted = "error",
    pace: str | float | None = None,
    allow_secrets: Iterable[str] = (),
    test_id: str | None = None,
    record_hint: str | None = None,
    faults: FaultsLike = None,
    max_age: str | _dt.timedelta | None = None,
    on_stale: str | None = None,
) -> Engine:
    """An engine on the cassette at ``path``, for adapters and users who wire their own.

    ``faults`` injects failures and latency (see docs/testing-failure-paths.md), e.g.
    ``"http=429,retry-after=1,first=2"``. ``max_age`` (``"90d"``, ``"12h"``, a timedelta;
    else ``$LLMREEL_MAX_AGE``) makes older recordings stale, and ``on_stale`` (``warn``,
    ``fail``, ``record``; else ``$LLMREEL_ON_STALE``, else ``warn``) says what replaying
    one does (see :mod:`llmreel.engine.freshness`). ``canonical_off`` switches canonical
    rules off by name (``"all"``: bodies keyed as sent); see docs/matching.md.
    """
    freshness = Freshness.build(max_age, on_stale)
    matcher = Matcher(normalizers, ignore_query=ignore_query, canonical_off=canonical_off)
    cassette = open_cassette(resolve_cassette_dir(path), matcher)
    return Engine(
        cassette,
        resolve_mode(mode),
        on_exhausted=on_exhausted,
        pace=pace,
        allow_secrets=allow_secrets,
        test_id=test_id,
        record_hint=record_hint,
        faults=faults,
        freshness=freshness,
    )


class CassetteSession:
    """What a ``with use_cassette(...) as cassette`` block gets: the engine and its counts."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def mode(self) -> Mode:
        return self.engine.mode

    @property
    def path(self) -> Path:
        """The cassette's directory (for a remote cassette: its local cache copy)."""
        return self.engine.cassette.root

    @property
    def location(self) -> str:
        """The cassette as given: its directory, or its ``s3://...`` URL."""
        return self.engine.cassette.location

    @property
    def stats(self) -> Stats:
        return self.engine.stats

    @property
    def played(self) -> int:
        return self.engine.stats.hits

    @property
    def recorded(self) -> int:
        return self.engine.stats.recorded

    @property
    def misses(self) -> list[str]:
        return list(self.engine.stats.missed)

    @property
    def stale(self) -> list[str]:
        """The recordings replayed although older than ``max_age`` (one line each)."""
        return list(self.engine.stats.stale)

    @property
    def journal(self) -> list[JournalEntry]:
        """What happened to each request so far, in order (a snapshot; see ``.as_dict()``)."""
        return self.engine.journal.entries()

    @property
    def faults(self) -> int:
        """How many requests so far had a fault applied (answered or shaped)."""
        return self.engine.journal.faults

    def __repr__(self) -> str:
        s = self.engine.stats
        return (
            f"<cassette {self.path} mode={self.mode.value} played={s.hits} "
            f"recorded={s.recorded} misses={s.misses}>"
        )


class use_cassette:
    """Route every httpx and httpx2 request through a cassette while active.

    >>> with use_cassette("tests/cassettes/chat", mode="record-if-missing"):
    ...     client.chat.completions.create(...)
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        mode: str | Mode | None = None,
        normalizers: Iterable[str | Normalizer | Callable[[Any], Any]] = (),
        ignore_query: Iterable[str] = (),
        canonical_off: str | Iterable[str] = (),
        on_exhausted: Exhausted = "error",
        pace: str | float | None = None,
        allow_secrets: Iterable[str] = (),
        passthrough_hosts: Iterable[str] = (),
        on_miss: OnMiss = "fail",
        test_id: str | None = None,
        record_hint: str | None = None,
        block_network: bool | Iterable[str] = False,
        faults: FaultsLike = None,
        max_age: str | _dt.timedelta | None = None,
        on_stale: str | None = None,
    ) -> None:
        self._path = path
        self._kwargs: dict[str, Any] = dict(
            mode=mode,
            normalizers=tuple(normalizers),
            ignore_query=tuple(ignore_query),
            canonical_off=canonical_off if isinstance(canonical_off, str) else tuple(canonical_off),
            on_exhausted=on_exhausted,
            pace=pace,
            allow_secrets=tuple(allow_secrets),
            test_id=test_id,
            record_hint=record_hint,
            faults=faults if faults is None or isinstance(faults, str) else tuple(faults),
            max_age=max_age,
            on_stale=on_stale,
        )
        # Validate now, where the user wrote it, rather than at the first request.
        FaultPicker(self._kwargs["faults"])
        Matcher(self._kwargs["normalizers"], canonical_off=self._kwargs["canonical_off"])
        resolve_mode(mode)
        Freshness.build(max_age, on_stale)
        if on_miss not in get_args(OnMiss):
            raise ConfigError(
                f"on_miss {on_miss!r}: use 'fail' (default: answer the API's 404, then fail the "
                f"block at its end), 'raise' (raise at the call) or 'respond' (only answer 404)."
            )
        self._on_miss: OnMiss = on_miss
        self._passthrough = frozenset(passthrough_hosts)
        # True: loopback stays reachable; an iterable: exactly those hosts (plus passthrough).
        self._block: tuple[str, ...] | None = None
        if block_network is True:
            self._block = DEFAULT_ALLOW
        elif block_network is not False:
            self._block = tuple(block_network)
        self._active: list[tuple[ActiveCassette, contextlib.ExitStack]] = []

    def __enter__(self) -> CassetteSession:
        return self._enter(open_engine(self._path, **self._kwargs))

    def _enter(self, engine: Engine) -> CassetteSession:
        entry = ActiveCassette(engine, self._on_miss, self._passthrough)
        stack = contextlib.ExitStack()
        if self._block is not None and engine.mode is Mode.REPLAY:
            where = engine.cassette.location

            def describe(host_port: str) -> str:
                return (
                    f"llmreel blocked a network connection to {host_port} while replaying "
                    f"cassette {where}: the call went around llmreel's interceptors (httpx, "
                    f"httpx2, aiohttp and requests are intercepted; this was a raw socket or "
                    f"another HTTP library)."
                )

            stack.enter_context(
                _block_network((*self._block, *self._passthrough), describe=describe)
            )
        activate(entry)
        self._active.append((entry, stack))
        return CassetteSession(engine)

    def _leave(self) -> Engine:
        entry, stack = self._active.pop()
        deactivate(entry)
        stack.close()
        engine = entry.engine
        assert isinstance(engine, Engine)  # use_cassette only ever pushes its own engines
        engine.journal.finish_pending()
        return engine

    def _after(self, engine: Engine, exc: BaseException | None) -> None:
        # Said here, where the user's code runs, not inside an HTTP call it would break.
        for note in engine.stats.stale:
            warnings.warn(f"llmreel: stale recording replayed: {note}", StaleRecordingWarning, 3)
        self._check_misses(engine, exc)

    def _check_misses(self, engine: Engine, exc: BaseException | None) -> None:
        """With ``on_miss="fail"``: fail the block on any miss, even one the code caught."""
        count = engine.stats.misses
        if not count or self._on_miss != "fail":
            return
        error = _unanswered(engine, count)
        if exc is None:
            raise error
        if isinstance(exc, Exception) and not isinstance(exc, ReplayMissError):
            # The block failed anyway; the miss is likely why: say so on its way out.
            exc.add_note(str(error))

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        engine = self._leave()
        engine.cassette.close()
        self._after(engine, exc)

    async def __aenter__(self) -> CassetteSession:
        # Opening lists (and may index) the cassette directory: not on the event loop.
        engine = await off_loop(open_engine, self._path, **self._kwargs)
        return self._enter(engine)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        engine = self._leave()
        await off_loop(engine.cassette.close)
        self._after(engine, exc)

    def __call__(self, fn: F) -> F:
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                async with self:
                    return await fn(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self:
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


def _unanswered(engine: Engine, count: int) -> ReplayMissError:
    """The error that fails a block with misses: how many, and the first one in full."""
    first = next((e for e in engine.journal.entries() if e.outcome == "miss"), None)
    where = engine.cassette.location
    detail = first.miss if first is not None and first.miss else "\n".join(engine.stats.missed)
    return ReplayMissError(
        f"{count} request(s) in this use_cassette block got no recording from cassette "
        f"{where} (none matched, or the one that did was refused as stale); llmreel answered "
        f"each with a 404 in the API's shape (which the code may have caught). The block "
        f"fails so that a missing recording never passes for an HTTP error. Pass "
        f"on_miss='respond' to let such a block pass.\nThe first miss:\n{detail}",
        key=(first.key or "") if first is not None else "",
        cassette=str(where),
    )
