"""Run an ASGI app with uvicorn in a background thread, bound to a free 127.0.0.1 port.

Used by the fake upstreams (and later by tests that run llmreel's own proxy in-process).
``run_app`` binds the listening socket *before* starting uvicorn and hands it over, so there is
no window in which another process could grab the port (the race that ``free_port`` alone has).

Streaming: uvicorn writes every ``http.response.body`` message to the socket as it comes (HTTP/1.1
chunked encoding, no buffering); we add no compression middleware, which would buffer.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn

LOOPBACK = "127.0.0.1"

# The faulty upstream drops connections mid-response on purpose by returning from the ASGI
# callable early; uvicorn logs that as an error each time. Silence exactly that message.
_DELIBERATE_CUT_MESSAGES = frozenset({"ASGI callable returned without completing response."})


class _DropDeliberateCuts(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() not in _DELIBERATE_CUT_MESSAGES


_cut_filter = _DropDeliberateCuts()


def free_port(host: str = LOOPBACK) -> int:
    """Return a TCP port that was free a moment ago (for servers that must bind it themselves)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _bound_socket(host: str, port: int) -> socket.socket:
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted connections of a
    # socket whose proto says TCP; without it every streamed response stalls ~40 ms (Nagle).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


@contextlib.contextmanager
def run_app(
    app: Any,
    *,
    host: str = LOOPBACK,
    port: int = 0,
    startup_timeout: float = 10.0,
    graceful_timeout: int = 1,
) -> Iterator[str]:
    """Serve ``app`` until the ``with`` block ends; yield its base URL (``http://127.0.0.1:PORT``).

    ``graceful_timeout`` bounds how long shutdown waits for responses still in flight (e.g. a
    stalled stream whose client is still connected) before uvicorn cancels them.
    """
    logging.getLogger("uvicorn.error").addFilter(_cut_filter)
    sock = _bound_socket(host, port)
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="auto",
        ws="none",  # no websockets import (and none of its deprecation warnings)
        timeout_graceful_shutdown=graceful_timeout,
        timeout_keep_alive=5,
    )
    # uvicorn only installs signal handlers in the main thread, so pytest keeps its own.
    server = uvicorn.Server(config)
    errors: list[BaseException] = []

    def target() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # surfaced to the caller below
            errors.append(exc)

    thread = threading.Thread(target=target, name=f"uvicorn-{bound_port}", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + startup_timeout
        while not server.started:
            if errors or not thread.is_alive():
                raise RuntimeError(f"uvicorn failed to start on port {bound_port}: {errors!r}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"uvicorn did not start within {startup_timeout}s")
            time.sleep(0.01)
        yield f"http://{host}:{bound_port}"
    finally:
        server.should_exit = True
        thread.join(timeout=graceful_timeout + 5)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout=5)
        sock.close()
