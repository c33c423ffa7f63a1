"""``requests`` sessions through the engine: replay, record (tee) and live.

``requests.adapters.HTTPAdapter.send`` is patched on the class, so every
session (and the module-level ``requests.post``) is covered, including ones
created before the cassette was entered. The request it is handed is the final
``PreparedRequest`` (URL with params, headers, encoded body).

- Replay returns a ``requests.Response`` built by the adapter's own
  ``build_response`` around :class:`ReplayRaw`, a ``urllib3.HTTPResponse`` that
  serves the recorded events one by one, so ``iter_lines()`` and
  ``iter_content()`` on a ``stream=True`` response see them chunk by chunk
  (paced at the recorded timing when asked), and ``.json()``/``.text`` work.
- Record forwards through the original ``send`` and tees the body: the real
  ``urllib3.HTTPResponse``'s ``stream``/``read`` are wrapped on that one
  instance, so every chunk reaches the recorder as the client reads it.
"""

from __future__ import annotations

import http
import time
from collections.abc import Callable, Generator, Iterator
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import requests
import requests.adapters
import urllib3

from llmreel.engine import Decision, Playback, Recorder
from llmreel.engine.faults.buffered import wants_whole
from llmreel.exceptions import ReplayMissError
from llmreel.intercept import requests_faults, stack
from llmreel.intercept.forwarding import FORWARDING, forwarding
from llmreel.model.wire import request_from_parts
from llmreel.providers.error_shapes import error_response_parts

__all__ = ["ReplayRaw", "install", "installed", "uninstall"]

_original_send: Callable[..., Any] | None = None


def installed() -> bool:
    return _original_send is not None


def install() -> None:
    """Patch ``HTTPAdapter.send`` so active cassettes see every requests call."""
    global _original_send
    if _original_send is not None:
        return
    original = requests.adapters.HTTPAdapter.send
    _original_send = original

    def send(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        current = stack.active()
        if current is None or FORWARDING.get():
            return original(self, request, *args, **kwargs)
        host = urlsplit(request.url).hostname or ""
        if not current.owns(host):
            return original(self, request, *args, **kwargs)
        return _handle(current, original, self, request, args, kwargs)

    send.__wrapped__ = original  # type: ignore[attr-defined]
    requests.adapters.HTTPAdapter.send = send  # type: ignore[method-assign]


def uninstall() -> None:
    global _original_send
    if _original_send is not None:
        requests.adapters.HTTPAdapter.send = _original_send  # type: ignore[method-assign]
        _original_send = None


def _body_bytes(request: Any) -> bytes:
    body = request.body
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    # A file or a generator can be read only once: read it here and send the bytes on.
    data = body.read() if hasattr(body, "read") else b"".join(body)
    if isinstance(data, str):
        data = data.encode("utf-8")
    request.body = data
    return bytes(data)


def _handle(
    current: stack.ActiveCassette,
    original: Callable[..., Any],
    adapter: Any,
    request: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    parts = urlsplit(request.url)
    req = request_from_parts(
        request.method or "GET",
        request.url,
        unquote(parts.path),
        parse_qsl(parts.query, keep_blank_values=True),
        request.headers.items(),
        _body_bytes(request),
    )
    try:
        decision = current.engine.decide(req)
    except ReplayMissError as exc:
        if current.on_miss == "raise":
            raise
        status, headers, body = error_response_parts(
            req.path, 404, f"llmreel {exc}", "llmreel_replay_miss"
        )
        raw = ReplayRaw(status, headers, [body], request=request)
        return adapter.build_response(request, raw)
    if decision.action == "replay":
        return _replay(adapter, request, decision, kwargs.get("timeout"))
    if decision.action == "fault":

        def respond(status: int, headers: list[tuple[str, str]], body: bytes) -> Any:
            return adapter.build_response(
                request, ReplayRaw(status, headers, [body], request=request)
            )

        return requests_faults.answer(request, decision, req.path, kwargs.get("timeout"), respond)
    requests_faults.strip_fault_header(request)
    if decision.action == "live":
        with forwarding():
            response = original(adapter, request, *args, **kwargs)
        if wants_whole(decision):
            played = requests_faults.read_forwarded(decision, req, response)
            return _replay(adapter, request, played, kwargs.get("timeout"))
        if decision.entry is not None:
            decision.entry.finish("live", response.status_code)
        return response
    recorder = decision.recorder
    assert recorder is not None
    # The recording must hold decoded bytes; identity keeps the tee simple.
    request.headers["Accept-Encoding"] = "identity"
    try:
        with forwarding():
            response = original(adapter, request, *args, **kwargs)
    except Exception:
        recorder.abandon("upstream unreachable")
        raise
    if wants_whole(decision):
        played = requests_faults.read_forwarded(decision, req, response)
        return _replay(adapter, request, played, kwargs.get("timeout"))
    recorder.start(response.status_code, response.headers.items())
    _RawTee(response.raw, recorder)
    return response


def _replay(adapter: Any, request: Any, decision: Decision, timeout: Any) -> Any:
    play = Playback(decision)
    play.read_timeout = requests_faults.read_timeout(timeout)
    recorded = play.response
    if recorded.transport_failure is not None:
        play.end(recorded.error)
        message = f"llmreel replay of a recorded failure: {recorded.error}"
        if recorded.transport_failure == "timeout":
            raise requests.Timeout(message, request=request)
        raise requests.ConnectionError(message, request=request)
    raw = ReplayRaw(recorded.status, recorded.replay_headers(), play, request=request)
    return adapter.build_response(request, raw)


# --------------------------------------------------------------------------- replay


def _played(play: Playback) -> Iterator[bytes]:
    note: str | None = "the client closed the response before it ended"
    try:
        for at, data in play.steps():
            delay = play.wait(at)
            if delay > 0:
                limit = play.overdue(delay)
                if limit is not None:
                    time.sleep(limit)
                    raise requests_faults.timeout_error(play.timeout_error)
                time.sleep(delay)
            play.sent()
            yield data
        note = None
        if play.broken:  # a cut fault: the body stops short, as urllib3 reports it
            raise requests_faults.cut_error(play.broken)
    finally:
        play.end(note)


class ReplayRaw(urllib3.HTTPResponse):
    """A urllib3 response that serves recorded chunks one at a time, as a socket would."""

    def __init__(
        self,
        status: int,
        headers: list[tuple[str, str]],
        body: list[bytes] | Playback,
        *,
        request: Any,
    ) -> None:
        try:
            reason = http.HTTPStatus(status).phrase
        except ValueError:
            reason = ""
        super().__init__(
            body="",
            headers=urllib3.HTTPHeaderDict(headers),
            status=status,
            reason=reason,
            preload_content=False,
            decode_content=False,
            request_method=request.method,
            request_url=request.url,
        )
        self._chunks: Iterator[bytes] = _played(body) if isinstance(body, Playback) else iter(body)
        self._pending = b""
        self._exhausted = False

    def _next(self) -> bytes | None:
        if self._pending:
            out, self._pending = self._pending, b""
            return out
        if self._exhausted:
            return None
        for chunk in self._chunks:
            if chunk:
                return chunk
        self._exhausted = True
        return None

    def stream(
        self, amt: int | None = 2**16, decode_content: bool | None = None
    ) -> Generator[bytes]:
        while (chunk := self._next()) is not None:
            if amt and len(chunk) > amt:
                chunk, self._pending = chunk[:amt], chunk[amt:]
            yield chunk

    def read_chunked(
        self, amt: int | None = None, decode_content: bool | None = None
    ) -> Generator[bytes]:
        yield from self.stream(amt, decode_content)

    def read(
        self,
        amt: int | None = None,
        decode_content: bool | None = None,
        cache_content: bool = False,
    ) -> bytes:
        # Like a socket read: up to ``amt`` bytes, blocking until that many or the end.
        parts: list[bytes] = []
        size = 0
        while amt is None or size < amt:
            chunk = self._next()
            if chunk is None:
                break
            if amt is not None and size + len(chunk) > amt:
                chunk, self._pending = chunk[: amt - size], chunk[amt - size :]
            parts.append(chunk)
            size += len(chunk)
        return b"".join(parts)

    @property
    def closed(self) -> bool:
        return self._exhausted and not self._pending

    def close(self) -> None:
        self._exhausted = True
        self._pending = b""
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()

    def release_conn(self) -> None:
        return None


# --------------------------------------------------------------------------- record


class _RawTee:
    """Wraps ``stream``/``read``/``close`` of one real urllib3 response to feed a recorder."""

    def __init__(self, raw: Any, recorder: Recorder) -> None:
        self.raw = raw
        self.recorder = recorder
        self.depth = 0  # > 0 while inside our stream(): its own read() calls are not fed twice
        self.done = False
        self._stream = raw.stream
        self._read = raw.read
        self._close = raw.close
        raw.stream = self.stream
        raw.read = self.read
        raw.close = self.close

    def finish(self, complete: bool, error: str | None = None) -> None:
        if not self.done:
            self.done = True
            self.recorder.finish(complete=complete, error=error)

    def stream(
        self, amt: int | None = 2**16, decode_content: bool | None = None
    ) -> Iterator[bytes]:
        self.depth += 1
        try:
            for chunk in self._stream(amt, decode_content=decode_content):
                self.recorder.feed(chunk)
                yield chunk
        except GeneratorExit:
            self.finish(False, "the client closed the response before it ended")
            raise
        except Exception as exc:
            self.finish(False, f"upstream failed mid-response: {type(exc).__name__}: {exc}")
            raise
        finally:
            self.depth -= 1
        self.finish(True)

    def read(self, amt: int | None = None, *args: Any, **kwargs: Any) -> bytes:
        if self.depth:
            data: bytes = self._read(amt, *args, **kwargs)
            return data
        try:
            data = self._read(amt, *args, **kwargs)
        except Exception as exc:
            self.finish(False, f"upstream failed mid-response: {type(exc).__name__}: {exc}")
            raise
        self.recorder.feed(data)
        if amt is None or not data:
            self.finish(True)
        return data

    def close(self) -> None:
        try:
            self._close()
        finally:
            self.finish(False, "the client closed the response before it ended")
