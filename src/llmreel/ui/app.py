"""The inspector as an ASGI app: the page, its scripts, and the JSON it asks for.

Served by ``llmreel ui DIR`` at ``/`` and by ``llmreel serve`` under
``/_llmreel/ui/``; every URL the page uses is relative, so both work alike.
Routes (all ``GET``):

- ``/``: the page; ``/static/NAME``: its scripts and styles (package data, a fixed list)
- ``/api/info``: the directory, the version, whether live traffic is available
- ``/api/recordings?q=&model=&endpoint=&format=&cassette=&test=&streamed=&errors=``
  ``&since=&until=&sort=&offset=&limit=``: one page of the list
- ``/api/facets``: the values each filter can take
- ``/api/recording?id=ID``: one recording (conversation, timeline, request, response, file)
- ``/api/raw?id=ID``: the recording's file as text
- ``/api/usage?...``: tokens by model and endpoint (same filters as the list)
"""

from __future__ import annotations

import functools
import importlib.resources
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import anyio.to_thread
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from llmreel._version import __version__
from llmreel.exceptions import OutsideDirError
from llmreel.ui.detail import detail
from llmreel.ui.guard import Guard
from llmreel.ui.index import Query, RecordingIndex
from llmreel.ui.paths import read_inside
from llmreel.ui.usage import usage_table

__all__ = ["UiApp", "create_ui_app"]

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}


def static_files() -> dict[str, bytes]:
    """The page's assets, read once from the package (nothing else can be asked for)."""
    folder = importlib.resources.files("llmreel.ui") / "static"
    out: dict[str, bytes] = {}
    for entry in folder.iterdir():
        name = entry.name
        if entry.is_file() and any(name.endswith(s) for s in _TYPES):
            out[name] = entry.read_bytes()
    return out


def _json(value: Any, status: int = 200) -> Response:
    return Response(
        orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS),
        status_code=status,
        media_type="application/json",
    )


def _error(text: str, status: int) -> Response:
    return _json({"error": text}, status)


def _flag(value: str | None) -> bool | None:
    if value in (None, "", "any"):
        return None
    return value.lower() in ("1", "true", "yes")


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        return default


def query_of(params: Any) -> Query:
    """A :class:`Query` from URL parameters (unknown or malformed ones are ignored)."""
    return Query(
        q=params.get("q", "")[:500],
        endpoint=params.get("endpoint", ""),
        model=params.get("model", ""),
        format=params.get("format", ""),
        cassette=params.get("cassette", ""),
        test=params.get("test", ""),
        streamed=_flag(params.get("streamed")),
        errors=_flag(params.get("errors")),
        since=params.get("since", "")[:32],
        until=params.get("until", "")[:32],
        sort=params.get("sort", "file"),
        offset=_int(params.get("offset"), 0),
        limit=_int(params.get("limit"), 100),
    )


class UiApp:
    """The inspector over ``root``; ``live`` says whether a journal sits beside it."""

    def __init__(
        self,
        root: Path,
        *,
        live: bool = False,
        allowed_hosts: Iterable[str] = (),
        index: RecordingIndex | None = None,
        show_dir: bool = True,
    ) -> None:
        self.root = root
        self.live = live
        # On serve, the server's own paths are shown only to its admin (see SECURITY.md):
        # the pages then name files relative to --dir.
        self.shown_dir = str(root) if show_dir else "--dir"
        self.index = index or RecordingIndex(root)
        self.static = static_files()
        routes = [
            Route("/", self._page),
            Route("/static/{name}", self._asset),
            Route("/api/info", self._info),
            Route("/api/recordings", self._recordings),
            Route("/api/facets", self._facets),
            Route("/api/recording", self._recording),
            Route("/api/raw", self._raw),
            Route("/api/usage", self._usage),
            Route("/{rest:path}", self._unknown),
        ]
        self.app = Guard(Starlette(routes=routes), allowed_hosts)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)

    async def _run(self, fn: Callable[[], Any]) -> Any:
        return await anyio.to_thread.run_sync(fn)

    async def _page(self, request: Request) -> Response:
        return Response(self.static["index.html"], media_type=_TYPES[".html"])

    async def _asset(self, request: Request) -> Response:
        name = request.path_params["name"]
        data = self.static.get(name)
        if data is None:
            return _error(f"no such asset {name!r}", 404)
        return Response(data, media_type=_TYPES[Path(name).suffix])

    async def _info(self, request: Request) -> Response:
        return _json(
            {"version": __version__, "dir": self.shown_dir, "live": self.live, "read_only": True}
        )

    async def _recordings(self, request: Request) -> Response:
        query = query_of(request.query_params)

        def run() -> dict[str, Any]:
            started = time.perf_counter()
            total, page = self.index.query(query)
            return {
                "total": total,
                "offset": query.offset,
                "limit": query.limit,
                "rows": [r.public() for r in page],
                "took_ms": round((time.perf_counter() - started) * 1000, 1),
            }

        return _json(await self._run(run))

    async def _facets(self, request: Request) -> Response:
        return _json(await self._run(self.index.facets))

    async def _usage(self, request: Request) -> Response:
        query = query_of(request.query_params)

        def run() -> dict[str, Any]:
            return usage_table(r for r in self.index.rows() if query.matches(r))

        return _json(await self._run(run))

    async def _recording(self, request: Request) -> Response:
        row_id = request.query_params.get("id", "")
        row = await self._run(functools.partial(self.index.get, row_id))
        if row is None:
            return _error(f"no recording {row_id!r} under {self.root}", 404)
        try:
            doc = await self._run(functools.partial(detail, self.root, row))
            doc["dir"] = self.shown_dir
            doc["path"] = str(self.root / row.file) if self.shown_dir != "--dir" else row.file
            return _json(doc)
        except OutsideDirError as exc:
            return _error(str(exc), 403)
        except OSError as exc:
            return _error(f"{row.file} cannot be read: {exc.strerror or exc}", 404)

    async def _raw(self, request: Request) -> Response:
        row_id = request.query_params.get("id", "")
        row = await self._run(functools.partial(self.index.get, row_id))
        if row is None:
            return _error(f"no recording {row_id!r} under {self.root}", 404)
        try:
            data, _ = await self._run(functools.partial(read_inside, self.root, row.file))
        except OutsideDirError as exc:
            return _error(str(exc), 403)
        except OSError as exc:
            return _error(f"{row.file} cannot be read: {exc.strerror or exc}", 404)
        return Response(data, media_type="text/plain; charset=utf-8")

    async def _unknown(self, request: Request) -> Response:
        return _error(f"no inspector page {request.url.path}", 404)


def create_ui_app(
    root: Path, *, live: bool = False, allowed_hosts: Iterable[str] = (), show_dir: bool = True
) -> UiApp:
    """The inspector over ``root``.

    ``live``: the journal endpoints sit at ``../journal`` (mounted on serve);
    ``show_dir=False`` names files relative to ``root`` only.
    """
    return UiApp(root, live=live, allowed_hosts=allowed_hosts, show_dir=show_dir)
