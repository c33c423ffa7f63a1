"""aiohttp client sessions through the engine: replay, record (tee) and live.

Interception uses aiohttp's own client middleware hook (aiohttp >= 3.12):
``ClientSession._request`` is wrapped so that, while a cassette is active, one
more middleware runs innermost in every session's chain, after the user's own
middlewares and once per redirect hop. It sees the fully built
``ClientRequest`` (final URL, headers, serialized body) and either

- replays: builds a real :class:`aiohttp.ClientResponse` whose ``content`` is
  a :class:`aiohttp.StreamReader` fed event by event (at once, or paced at the
  recorded timing by a task), so ``async for line in resp.content``,
  ``resp.content.iter_any()``, ``.read()``, ``.text()`` and ``.json()`` all work;
- records: forwards through the rest of the chain (the real connection), then
  swaps ``resp.content`` for a reader fed by a pump task that passes on every
  chunk the moment it arrives and tees it to the :class:`~llmreel.engine.Recorder`;
- or passes the call through (live mode, passthrough hosts, websockets, and
  calls an outer adapter is already forwarding: LiteLLM sends its async httpx
  traffic through an aiohttp-backed transport).
"""

from __future__ import annotations

import asyncio
import http
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from types import SimpleNamespace
from typing import Any

import aiohttp
from aiohttp.base_protocol import BaseProtocol
from multidict import CIMultiDict, CIMultiDictProxy

from llmreel.engine import Decision, Playback, Recorder
from llmreel.engine.faults.buffered import wants_whole
from llmreel.exceptions import LlmreelError, ReplayMissError
from llmreel.intercept import aiohttp_faults, stack
from llmreel.intercept.forwarding import FORWARDING, forwarding
from llmreel.intercept.offload import decide_off_loop, off_loop
from llmreel.model.wire import request_from_parts
from llmreel.providers.error_shapes import error_response_parts

__all__ = ["install", "installed", "uninstall"]

log = logging.getLogger("llmreel")

Handler = Callable[[Any], Awaitable[Any]]

_READ_LIMIT = 2**16
_original_request: Callable[..., Any] | None = None
# Pump and pacing tasks must stay referenced until they end (asyncio keeps weak refs only).
_tasks: set[asyncio.Task[None]] = set()


def _supported() -> bool:
    try:
        import aiohttp.client_middlewares  # noqa: F401
    except ImportError:
        return False
    return True


def installed() -> bool:
    return _original_request is not None


def install() -> None:
    """Patch ``ClientSession._request`` so active cassettes see every aiohttp request."""
    global _original_request
    if _original_request is not None:
        return
    if not _supported():
        log.warning(
            "llmreel: aiohttp %s has no client middlewares (needs >= 3.12); aiohttp requests "
            "are not intercepted. Upgrade aiohttp, or block stray calls with "
            "llmreel.intercept.guard.block_network().",
            aiohttp.__version__,
        )
        return
    original = aiohttp.ClientSession._request
    _original_request = original

    def _request(self: Any, method: str, str_or_url: Any, **kwargs: Any) -> Any:
        if stack.active() is not None and not FORWARDING.get():
            chosen: Sequence[Any] | None = kwargs.get("middlewares")
            base = self._middlewares if chosen is None else chosen
            # Innermost: the user's middlewares (auth, retries) run as they would live.
            kwargs["middlewares"] = (*base, _middleware)
        return original(self, method, str_or_url, **kwargs)

    _request.__wrapped__ = original  # type: ignore[attr-defined]
    aiohttp.ClientSession._request = _request  # type: ignore[method-assign]


def uninstall() -> None:
    global _original_request
    if _original_request is not None:
        aiohttp.ClientSession._request = _original_request  # type: ignore[method-assign]
        _original_request = None


# --------------------------------------------------------------------------- the middleware


async def _body_bytes(req: Any) -> bytes:
    body = req.body
    if body == b"" or body is None:
        return b""
    if isinstance(body, aiohttp.payload.BytesPayload):  # bytes, str, json=, form data
        data: bytes = await body.as_bytes()
        return data
    raise LlmreelError(
        f"llmreel cannot key the aiohttp request {req.method} {req.url}: its body is a "
        f"{type(body).__name__} (a stream or file), which can only be sent once. Pass the body "
        f"as bytes, str or json=..., or add the host to passthrough_hosts to let it through."
    )


async def _middleware(req: Any, handler: Handler) -> Any:
    current = stack.active()
    url = req.url
    if (
        current is None
        or FORWARDING.get()
        or not current.owns(url.host or "")
        or "upgrade" in {k.lower() for k in req.headers}
    ):
        return await handler(req)
    content = await _body_bytes(req)
    request = request_from_parts(
        req.method, str(url), url.path, url.query.items(), req.headers.items(), content
    )
    try:
        decision = await decide_off_loop(current.engine, request)
    except ReplayMissError as exc:
        if current.on_miss == "raise":
            raise
        status, headers, body = error_response_parts(
            request.path, 404, f"llmreel {exc}", "llmreel_replay_miss"
        )
        return _response(req, status, headers, [body], None)
    if decision.action == "replay":
        return _replay(req, decision)
    if decision.action == "fault":
        return await aiohttp_faults.answer(req, decision, request.path, _response)
    aiohttp_faults.strip_fault_header(req)
    if decision.action == "live":
        with forwarding():
            resp = await handler(req)
        if wants_whole(decision):
            return _replay(req, await aiohttp_faults.read_forwarded(decision, request, resp))
        if decision.entry is not None:
            decision.entry.finish("live", resp.status)
        return resp
    recorder = decision.recorder
    assert recorder is not None
    # The recording must hold decoded bytes; identity keeps the tee simple.
    req.headers["Accept-Encoding"] = "identity"
    try:
        with forwarding():
            resp = await handler(req)
    except Exception:
        recorder.abandon("upstream unreachable")
        raise
    if wants_whole(decision):
        return _replay(req, await aiohttp_faults.read_forwarded(decision, request, resp))
    recorder.start(resp.status, resp.headers.items())
    _tee(resp, recorder)
    return resp


# --------------------------------------------------------------------------- replay


class _InProcess(BaseProtocol):
    """The protocol of a reader llmreel feeds itself: no transport (pausing is a no-op),
    but "connected" so that readers wait for data instead of failing."""

    __slots__ = ()

    @property
    def connected(self) -> bool:
        return True


def _new_reader(loop: asyncio.AbstractEventLoop) -> aiohttp.StreamReader:
    return aiohttp.StreamReader(_InProcess(loop), _READ_LIMIT, loop=loop)


def _response(
    req: Any,
    status: int,
    headers: Iterable[tuple[str, str]],
    chunks: Sequence[bytes],
    play: Playback | None,
) -> Any:
    """A real ClientResponse, as ``resp.start()`` would have left it, fed from ``chunks``."""
    loop = asyncio.get_running_loop()
    kwargs: dict[str, Any] = dict(
        writer=None,
        continue100=None,
        timer=None,
        request_info=req.request_info,
        traces=[],
        loop=loop,
        session=getattr(req, "_session", None),
    )
    response_class: Any = getattr(req, "response_class", aiohttp.ClientResponse)
    try:
        # The request was "sent" already: aiohttp only reads output_size from this writer.
        resp = response_class(
            req.method, req.url, stream_writer=SimpleNamespace(output_size=0), **kwargs
        )
    except TypeError:  # aiohttp < 3.13 has no stream_writer argument
        resp = response_class(req.method, req.url, **kwargs)
    header_list = list(headers)
    resp.version = aiohttp.HttpVersion11
    resp.status = status
    try:
        resp.reason = http.HTTPStatus(status).phrase
    except ValueError:
        resp.reason = ""
    resp._headers = CIMultiDictProxy(CIMultiDict(header_list))
    resp._raw_headers = tuple((k.encode(), v.encode()) for k, v in header_list)
    cookies = tuple(v for k, v in header_list if k.lower() == "set-cookie")
    if cookies:
        resp._raw_cookie_headers = cookies
    reader = _new_reader(loop)
    resp.content = reader
    resp._closed = False
    reader.on_eof(resp._response_eof)
    if play is not None:
        _feed_events(resp, reader, play)
    else:
        for chunk in chunks:
            reader.feed_data(chunk)
        reader.feed_eof()
    return resp


def _replay(req: Any, decision: Decision) -> Any:
    play = Playback(decision)
    play.read_timeout = aiohttp_faults.sock_read(req)
    recorded = play.response
    if recorded.transport_failure is not None:
        play.end(recorded.error)
        message = f"llmreel replay of a recorded failure: {recorded.error}"
        if recorded.transport_failure == "timeout":
            raise aiohttp.ServerTimeoutError(message)
        raise aiohttp.ClientConnectionError(message)
    headers = recorded.replay_headers()
    if recorded.stream is None and play.shaper is None:
        body = recorded.body_bytes()
        play.end()
        return _response(req, recorded.status, headers, [body] if body else [], None)
    return _response(req, recorded.status, headers, [], play)


def _feed_events(resp: Any, reader: aiohttp.StreamReader, play: Playback) -> None:
    if play.fast:
        for _, data in play.steps():
            reader.feed_data(data)
            play.sent()
        reader.feed_eof()
        play.end()
        return

    async def feed() -> None:
        note: str | None = "the client closed the response before it ended"
        try:
            for at, data in play.steps():
                delay = play.wait(at)
                if delay > 0:
                    limit = play.overdue(delay)
                    if limit is not None:
                        await asyncio.sleep(limit)
                        reader.set_exception(aiohttp_faults.timeout_error(play.timeout_error))
                        return
                    await asyncio.sleep(delay)
                reader.feed_data(data)
                play.sent()
            note = None
            if play.broken:  # a cut fault: the body stops short, as aiohttp reports it
                await aiohttp_faults.drained(reader)
                reader.set_exception(aiohttp_faults.cut_error(play.broken))
            else:
                reader.feed_eof()
        finally:
            play.end(note)

    task = _spawn(feed())
    _cancel_on_close(resp, task)


# --------------------------------------------------------------------------- record


def _spawn(coro: Any) -> asyncio.Task[None]:
    task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
    return task


def _cancel_on_close(resp: Any, task: asyncio.Task[None]) -> None:
    """A response closed or released early stops the task that feeds it."""
    close, release = resp.close, resp.release

    def close_() -> None:
        task.cancel()
        close()

    def release_() -> Any:
        task.cancel()
        return release()

    resp.close = close_
    resp.release = release_


def _tee(resp: Any, recorder: Recorder) -> None:
    upstream = resp.content
    out = _new_reader(asyncio.get_running_loop())
    resp.content = out

    async def pump() -> None:
        complete = False
        error: str | None = None
        failure: BaseException | None = None
        try:
            async for chunk in upstream.iter_any():
                recorder.feed(chunk)
                out.feed_data(chunk)
            complete = True
        except asyncio.CancelledError:
            error = "the client closed the response before it ended"
        except Exception as exc:
            error = f"upstream failed mid-response: {type(exc).__name__}: {exc}"
            failure = exc
        try:
            # Writing the recording is file I/O: never on the event loop.
            await off_loop(recorder.finish, complete=complete, error=error)
        except Exception as exc:
            # E.g. a secret in the response: the client learns of it instead of seeing EOF.
            failure = failure or exc
        if failure is not None:
            out.set_exception(failure)
        elif complete:
            out.feed_eof()

    task = _spawn(pump())
    _cancel_on_close(resp, task)
