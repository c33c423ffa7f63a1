"""httpx and httpx2 transports (sync and async) that route requests through the engine.

``httpx`` (ollama, older SDKs) and ``httpx2`` (openai 3.x, anthropic >= 1.0)
are separate packages with their own classes, so the transport classes are
built once per package from the same code. Users who wire clients by hand
pass one of :class:`HttpxTransport`, :class:`AsyncHttpxTransport`,
:class:`Httpx2Transport`, :class:`AsyncHttpx2Transport`; ``use_cassette``
installs the same transports into every client through :mod:`llmreel.intercept.patching`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from types import ModuleType
from typing import Any, Literal

import anyio
import httpx
import httpx2

from llmreel.engine import Decider, Decision, Playback, Recorder
from llmreel.engine.faults.buffered import wants_whole
from llmreel.exceptions import ReplayMissError
from llmreel.intercept import httpx_faults
from llmreel.intercept.forwarding import forwarding
from llmreel.intercept.offload import decide_off_loop, off_loop
from llmreel.model.interaction import Request
from llmreel.model.wire import request_from_parts
from llmreel.providers.error_shapes import error_response_parts

__all__ = [
    "AsyncHttpx2Transport",
    "AsyncHttpxTransport",
    "Httpx2Transport",
    "HttpxTransport",
    "OnMiss",
    "request_from_httpx",
]

OnMiss = Literal["fail", "respond", "raise"]
"""What a miss does: answer the API's own 404 and fail the ``use_cassette`` block at its end
(``fail``, the default), only answer the 404 (``respond``), or raise at the call (``raise``)."""


def request_from_httpx(request: Any, content: bytes) -> Request:
    """The engine's view of an httpx/httpx2 request whose body has been read."""
    url = request.url
    return request_from_parts(
        request.method,
        str(url),
        url.path,
        url.params.multi_items(),
        request.headers.multi_items(),
        content,
    )


def _miss_parts(exc: ReplayMissError, path: str) -> tuple[int, list[tuple[str, str]], bytes]:
    return error_response_parts(path, 404, f"llmreel {exc}", "llmreel_replay_miss")


def _build(mod: ModuleType) -> tuple[type, type]:
    """The sync and async transport classes for one httpx-like package."""

    class ReplayStream(mod.SyncByteStream, mod.AsyncByteStream):  # type: ignore[misc,name-defined]
        def __init__(self, play: Playback) -> None:
            self._play = play

        def __iter__(self) -> Iterator[bytes]:
            play = self._play
            note: str | None = "the client closed the response before it ended"
            try:
                if play.fast:
                    # Fast replay: every event at once. The SSE/NDJSON framing between events
                    # is intact; only the read boundaries (which no client may rely on) are
                    # merged, which spares the SDK its per-chunk cost.
                    play.sent(len(play.response.events))
                    yield play.response.stream_bytes()
                else:
                    for at, data in play.steps():
                        delay = play.wait(at)
                        if delay > 0:
                            limit = play.overdue(delay)
                            if limit is not None:
                                time.sleep(limit)
                                raise mod.ReadTimeout(play.timeout_error)
                            time.sleep(delay)
                        play.sent()
                        yield data
                note = None
                if play.broken:  # a cut fault: a body that ended early, as httpx reports it
                    raise mod.RemoteProtocolError(play.broken)
            finally:
                play.end(note)

        async def __aiter__(self) -> AsyncIterator[bytes]:
            play = self._play
            note: str | None = "the client closed the response before it ended"
            try:
                if play.fast:
                    play.sent(len(play.response.events))
                    yield play.response.stream_bytes()
                else:
                    for at, data in play.steps():
                        delay = play.wait(at)
                        if delay > 0:
                            limit = play.overdue(delay)
                            if limit is not None:
                                await anyio.sleep(limit)
                                raise mod.ReadTimeout(play.timeout_error)
                            await anyio.sleep(delay)
                        play.sent()
                        yield data
                note = None
                if play.broken:
                    raise mod.RemoteProtocolError(play.broken)
            finally:
                play.end(note)

    class TeeStream(mod.SyncByteStream, mod.AsyncByteStream):  # type: ignore[misc,name-defined]
        """Passes every upstream chunk on at once and feeds a copy to the recorder."""

        def __init__(self, inner: Any, recorder: Recorder) -> None:
            self._inner = inner
            self._recorder = recorder
            self._complete = False
            self._error: str | None = None

        def __iter__(self) -> Iterator[bytes]:
            try:
                for chunk in self._inner:
                    self._recorder.feed(chunk)
                    yield chunk
                self._complete = True
            except Exception as exc:
                self._error = f"upstream failed mid-response: {type(exc).__name__}: {exc}"
                raise

        async def __aiter__(self) -> AsyncIterator[bytes]:
            try:
                async for chunk in self._inner:
                    self._recorder.feed(chunk)
                    yield chunk
                self._complete = True
            except Exception as exc:
                self._error = f"upstream failed mid-response: {type(exc).__name__}: {exc}"
                raise

        def _finish(self) -> None:
            error = self._error
            if not self._complete and error is None:
                error = "the client closed the response before it ended"
            self._recorder.finish(complete=self._complete, error=error)

        def close(self) -> None:
            try:
                self._inner.close()
            finally:
                self._finish()

        async def aclose(self) -> None:
            try:
                await self._inner.aclose()
            finally:
                await off_loop(self._finish)  # writes the recording: never on the loop

    def make_response(request: Any, decision: Decision) -> Any:
        inter = decision.interaction
        assert inter is not None
        resp = inter.response
        failure = resp.transport_failure
        play = Playback(decision)
        play.read_timeout = httpx_faults.read_timeout(request)
        if failure is not None:
            play.end(resp.error)
            cls = mod.ReadTimeout if failure == "timeout" else mod.ConnectError
            raise cls(f"llmreel replay of a recorded failure: {resp.error}", request=request)
        headers = resp.replay_headers()
        ext = {"http_version": b"HTTP/1.1", "llmreel": "replay"}
        if resp.stream is None and play.shaper is None:
            play.end()
            return mod.Response(
                resp.status,
                headers=headers,
                content=resp.body_bytes(),
                request=request,
                extensions=ext,
            )
        return mod.Response(
            resp.status,
            headers=headers,
            stream=ReplayStream(play),
            request=request,
            extensions=ext,
        )

    def miss_response(request: Any, exc: ReplayMissError, path: str) -> Any:
        status, headers, body = _miss_parts(exc, path)
        return mod.Response(
            status,
            headers=headers,
            content=body,
            request=request,
            extensions={"http_version": b"HTTP/1.1", "llmreel": "miss"},
        )

    def finish_live(decision: Decision, response: Any) -> None:
        if decision.entry is not None:
            decision.entry.finish("live", response.status_code)

    def tee_or_take(response: Any, recorder: Recorder) -> bool:
        """Tee the body as the client reads it; True when it was read already (fed whole).

        An inner transport may hand back a response whose body is already in memory (the
        ``MockTransport`` users write for fakes, a caching layer): the client will never
        iterate its stream, so the recorder takes the body at once.
        """
        try:
            body = response.content
        except mod.ResponseNotRead:
            response.stream = TeeStream(response.stream, recorder)
            return False
        recorder.feed(body)
        return True

    def prepare_forward(request: Any) -> None:
        # The recording must hold decoded bytes; asking for identity keeps the
        # tee simple and costs nothing on loopback model servers.
        request.headers["accept-encoding"] = "identity"

    class SyncTransport(mod.BaseTransport):  # type: ignore[misc,name-defined]
        def __init__(
            self, engine: Decider, inner: Any | None = None, *, on_miss: OnMiss = "respond"
        ) -> None:
            self.engine = engine
            self.inner = inner if inner is not None else mod.HTTPTransport()
            self.on_miss = on_miss

        def handle_request(self, request: Any) -> Any:
            content = request.read()
            req = request_from_httpx(request, content)
            try:
                decision = self.engine.decide(req)
            except ReplayMissError as exc:
                if self.on_miss == "raise":
                    raise
                return miss_response(request, exc, req.path)
            if decision.action == "replay":
                return make_response(request, decision)
            if decision.action == "fault":
                return httpx_faults.answer(mod, request, decision, req.path)
            httpx_faults.strip_fault_header(request)
            if decision.action == "live":
                with forwarding():
                    response = self.inner.handle_request(request)
                if wants_whole(decision):
                    return make_response(
                        request, httpx_faults.read_forwarded(decision, req, response)
                    )
                finish_live(decision, response)
                return response
            recorder = decision.recorder
            assert recorder is not None
            prepare_forward(request)
            try:
                with forwarding():
                    response = self.inner.handle_request(request)
            except Exception:
                recorder.abandon("upstream unreachable")
                raise
            if wants_whole(decision):
                return make_response(request, httpx_faults.read_forwarded(decision, req, response))
            recorder.start(response.status_code, response.headers.multi_items())
            if tee_or_take(response, recorder):
                recorder.finish(complete=True)
            return response

        def close(self) -> None:
            self.inner.close()

    class AsyncTransport(mod.AsyncBaseTransport):  # type: ignore[misc,name-defined]
        def __init__(
            self, engine: Decider, inner: Any | None = None, *, on_miss: OnMiss = "respond"
        ) -> None:
            self.engine = engine
            self.inner = inner if inner is not None else mod.AsyncHTTPTransport()
            self.on_miss = on_miss

        async def handle_async_request(self, request: Any) -> Any:
            content = await request.aread()
            req = request_from_httpx(request, content)
            try:
                decision = await decide_off_loop(self.engine, req)
            except ReplayMissError as exc:
                if self.on_miss == "raise":
                    raise
                return miss_response(request, exc, req.path)
            if decision.action == "replay":
                return make_response(request, decision)
            if decision.action == "fault":
                return await httpx_faults.aanswer(mod, request, decision, req.path)
            httpx_faults.strip_fault_header(request)
            if decision.action == "live":
                with forwarding():
                    response = await self.inner.handle_async_request(request)
                if wants_whole(decision):
                    return make_response(
                        request, await httpx_faults.aread_forwarded(decision, req, response)
                    )
                finish_live(decision, response)
                return response
            recorder = decision.recorder
            assert recorder is not None
            prepare_forward(request)
            try:
                with forwarding():
                    response = await self.inner.handle_async_request(request)
            except Exception:
                recorder.abandon("upstream unreachable")
                raise
            if wants_whole(decision):
                return make_response(
                    request, await httpx_faults.aread_forwarded(decision, req, response)
                )
            recorder.start(response.status_code, response.headers.multi_items())
            if tee_or_take(response, recorder):
                await off_loop(recorder.finish, complete=True)
            return response

        async def aclose(self) -> None:
            await self.inner.aclose()

    SyncTransport.__name__ = SyncTransport.__qualname__ = "Transport"
    AsyncTransport.__name__ = AsyncTransport.__qualname__ = "AsyncTransport"
    return SyncTransport, AsyncTransport


HttpxTransport, AsyncHttpxTransport = _build(httpx)
Httpx2Transport, AsyncHttpx2Transport = _build(httpx2)

TRANSPORTS: dict[str, tuple[type, type]] = {
    "httpx": (HttpxTransport, AsyncHttpxTransport),
    "httpx2": (Httpx2Transport, AsyncHttpx2Transport),
}
