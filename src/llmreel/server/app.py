"""The ASGI application of ``llmreel serve``: the proxy plus a small control surface.

Everything under ``/_llmreel/`` is llmreel's own and is served by a Starlette
app (which also runs the lifespan: the upstream client is opened at start-up,
and at shutdown recordings still open are written as incomplete). Everything
else goes to :class:`~llmreel.server.proxy.Proxy`.

Control endpoints (JSON):

- ``GET /_llmreel/health``: ``{"status": "ok", "mode", "dir", "upstream", ...}``
- ``GET /_llmreel/stats``: live counters per cassette (hits, misses, recorded,
  errors, requests, in_flight, ...) and their totals; ``?cassette=NAME`` for one.
- ``POST /_llmreel/reset``: forget the engines (sequence positions start again
  at the first recording, counters at zero), e.g. at the start of a test run
  against a long-running server; ``?cassette=NAME`` for one.
- ``GET /_llmreel/journal[?since=SEQ&cassette=NAME]``: what happened to each
  request; ``GET /_llmreel/journal/stream``: the same as Server-Sent Events, live
  (see :mod:`.journal_feed`).
- ``GET /_llmreel/ui/``: the web inspector (:mod:`llmreel.ui`) over ``--dir``,
  read-only and answering loopback host names only.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.metadata
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from llmreel.exceptions import InvalidCassetteNameError
from llmreel.matching import CanonicalRules
from llmreel.server.config import CASSETTE_HEADER, CONTROL_PREFIX, ServerConfig
from llmreel.server.journal_feed import JournalFeed
from llmreel.server.lifecycle import Lifecycle
from llmreel.server.proxy import Proxy
from llmreel.server.state import Registry
from llmreel.store import is_remote
from llmreel.ui import create_ui_app

__all__ = ["LlmreelApp", "create_app"]

log = logging.getLogger("llmreel.server")

_COUNTERS = (
    "hits",
    "misses",
    "recorded",
    "errors",
    "passed_through",
    "synthesized",
    "requests",
    "faults",
)


def _version() -> str:
    try:
        return importlib.metadata.version("llmreel")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


class LlmreelApp:
    """``llmreel serve`` as an ASGI app (usable with any ASGI server)."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.registry = Registry(config)
        self.lifecycle = Lifecycle()
        self.proxy = Proxy(config, self.registry, self.lifecycle)
        self.journal = JournalFeed(self.registry.log, self.lifecycle)
        # The inspector indexes files on this machine; a cassette in an object store has none
        # until they are pulled, so its pages answer with how to look at them instead.
        self.ui: ASGIApp = (
            self._no_ui
            if is_remote(config.dir)
            else create_ui_app(Path(config.dir), live=True, show_dir=False)
        )
        self.control = Starlette(
            routes=[
                Route(CONTROL_PREFIX, self._index),
                Route(f"{CONTROL_PREFIX}/", self._index),
                Route(f"{CONTROL_PREFIX}/health", self._health),
                Route(f"{CONTROL_PREFIX}/stats", self._stats),
                Route(f"{CONTROL_PREFIX}/reset", self._reset, methods=["POST"]),
                Route(f"{CONTROL_PREFIX}/journal", self.journal.page),
                Route(f"{CONTROL_PREFIX}/journal/stream", self.journal.stream),
                Route(f"{CONTROL_PREFIX}/ui", self._to_ui),
                Mount(f"{CONTROL_PREFIX}/ui", app=self.ui),
                Route(CONTROL_PREFIX + "/{rest:path}", self._unknown),
            ],
            lifespan=self._lifespan,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path != CONTROL_PREFIX and not path.startswith(CONTROL_PREFIX + "/"):
                await self.proxy(scope, receive, send)
                return
        await self.control(scope, receive, send)

    def begin_shutdown(self) -> None:
        """Tell in-flight streams that the server is stopping (they get the grace period)."""
        self.lifecycle.begin_shutdown()

    # ------------------------------------------------------------------ lifespan

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self.lifecycle.bind()
        if self.proxy.upstream is not None:
            _ = self.proxy.upstream.client
        cfg = self.config
        if not is_remote(cfg.dir) and not Path(cfg.dir).exists() and not cfg.mode.may_record:
            log.warning(
                "llmreel: the cassette directory %s does not exist; every request will miss "
                "until recordings are put there.",
                cfg.dir,
            )
        try:
            yield
        finally:
            self.lifecycle.begin_shutdown()
            with anyio.CancelScope(shield=True):
                await self._write_leftovers()
                if self.proxy.upstream is not None:
                    await self.proxy.upstream.aclose()
                self.registry.close()

    async def _write_leftovers(self) -> None:
        # Normally every stream has ended (and written its recording) before the lifespan
        # ends; this catches responses cut off by a forced exit, so nothing is left unwritten.
        for recorder in list(self.registry.active):
            try:
                await anyio.to_thread.run_sync(
                    functools.partial(
                        recorder.finish,
                        complete=False,
                        error="the server stopped before the response ended",
                    )
                )
            except Exception as exc:
                log.error("llmreel: could not write an interrupted recording: %s", exc)
            self.registry.active.discard(recorder)

    # ------------------------------------------------------------------ control surface

    async def _index(self, request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "llmreel": _version(),
                "endpoints": {
                    f"{CONTROL_PREFIX}/health": "is the server up, and how is it configured",
                    f"{CONTROL_PREFIX}/stats": "counters per cassette (?cassette=NAME for one)",
                    f"POST {CONTROL_PREFIX}/reset": "start sequences and counters over "
                    "(?cassette=NAME for one)",
                    f"{CONTROL_PREFIX}/journal": "what happened to each request "
                    "(?since=SEQ&cassette=NAME)",
                    f"{CONTROL_PREFIX}/journal/stream": "the journal as Server-Sent Events, live",
                    f"{CONTROL_PREFIX}/ui/": "the web inspector: recordings, usage, live traffic",
                },
                "cassette_header": CASSETTE_HEADER,
            }
        )

    async def _health(self, request: Request) -> JSONResponse:
        cfg = self.config
        return JSONResponse(
            {
                "status": "stopping" if self.lifecycle.stopping else "ok",
                "version": _version(),
                "mode": cfg.mode.value,
                "dir": str(cfg.dir),
                "upstream": cfg.upstream,
                "pace": cfg.pace,
                "normalizers": list(cfg.normalizers),
                "faults": list(cfg.faults),
                "canonical_rules": list(CanonicalRules(cfg.canonical_off).ids),
                "cassettes": len(self.registry.states()),
                "in_flight": sum(s.in_flight for s in self.registry.states()),
            }
        )

    async def _stats(self, request: Request) -> JSONResponse:
        wanted = request.query_params.get("cassette")
        if wanted is not None:
            try:
                name = Registry.resolve_name(wanted)
            except InvalidCassetteNameError as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            state = self.registry.get_existing(name)
            if state is None:
                # Not used yet: all counters are zero.
                zero: dict[str, Any] = dict.fromkeys((*_COUNTERS, "in_flight"), 0)
                return JSONResponse({"cassette": name, "seen": False, **zero, "missed": []})
            return JSONResponse({"cassette": name, "seen": True, **state.counters()})
        cassettes = {s.name: s.counters() for s in self.registry.states()}
        total = {c: sum(int(v[c]) for v in cassettes.values()) for c in _COUNTERS}
        total["in_flight"] = sum(int(v["in_flight"]) for v in cassettes.values())
        return JSONResponse(
            {"mode": self.config.mode.value, "cassettes": cassettes, "total": total}
        )

    async def _reset(self, request: Request) -> JSONResponse:
        wanted = request.query_params.get("cassette")
        try:
            name = None if wanted is None else Registry.resolve_name(wanted)
        except InvalidCassetteNameError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        forgotten = self.registry.forget(name)
        return JSONResponse({"reset": forgotten})

    async def _to_ui(self, request: Request) -> RedirectResponse:
        # The inspector's URLs are relative to its page, which must end in a slash.
        return RedirectResponse(f"{CONTROL_PREFIX}/ui/", status_code=308)

    async def _no_ui(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse(
            {
                "error": f"the inspector reads local folders and {self.config.dir} is in an "
                "object store; run `llmreel sync pull URL DIR`, then `llmreel ui DIR`."
            },
            status_code=404,
        )
        await response(scope, receive, send)

    async def _unknown(self, request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "error": f"no llmreel control endpoint {request.url.path}; try "
                f"{CONTROL_PREFIX}/health or {CONTROL_PREFIX}/stats."
            },
            status_code=404,
        )


def create_app(config: ServerConfig) -> LlmreelApp:
    """The ASGI app for ``config``."""
    return LlmreelApp(config)
