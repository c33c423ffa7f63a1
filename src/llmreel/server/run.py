"""Running the app with uvicorn: in the foreground (the CLI) or on a background thread.

Settings that matter for a faithful proxy:

- ``http="h11"``: the pure-Python protocol writes each ``http.response.body``
  message straight to the socket (chunked encoding; asyncio sets TCP_NODELAY),
  so nothing is buffered between the upstream and the client.
- no access log (the app writes its own one line per request) and no
  ``server`` header (the upstream's own one is passed through).
- a shutdown first tells in-flight streams (they may run on for the grace
  period, then are cut and recorded as incomplete); uvicorn's own graceful
  timeout is only a backstop after that.

The listening socket is bound before uvicorn starts, so a port that is taken is
reported clearly, and tests can ask for port 0 without a race.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import math
import socket
import threading
import time
from collections.abc import Iterator

import uvicorn

from llmreel.exceptions import ConfigError
from llmreel.server.app import LlmreelApp, create_app
from llmreel.server.config import DEFAULT_HOST, DEFAULT_PORT, ServerConfig

__all__ = ["ServerThread", "bind_socket", "make_server", "serve", "serve_in_thread"]

# uvicorn logs this when the app ends a response early on purpose (the upstream failed
# mid-stream, or the shutdown grace ran out): the connection is dropped as a real proxy
# would, and the app has already logged why.
_DELIBERATE = "ASGI callable returned without completing response."


class _DropDeliberateCuts(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != _DELIBERATE


_filter = _DropDeliberateCuts()


def bind_socket(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> socket.socket:
    """A listening-ready socket on host:port, or a ConfigError saying the port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on accepted sockets whose proto
    # says TCP, and accepted sockets inherit proto 0 from a socket made without it. Without
    # TCP_NODELAY every streamed response ends in a Nagle/delayed-ACK stall (~40 ms).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"port {port} on {host} is already in use (another llmreel serve, Ollama, or "
                f"another server?). Stop it, or pick another port with --port."
            ) from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise ConfigError(
                f"cannot listen on {host}: no such address on this machine; use --host "
                f"127.0.0.1 (default) or an address of this machine."
            ) from None
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}.") from None
    sock.set_inheritable(True)
    return sock


class _Server(uvicorn.Server):
    """uvicorn's server, telling the app when a shutdown begins."""

    def __init__(self, config: uvicorn.Config, app: LlmreelApp) -> None:
        super().__init__(config)
        self.llmreel_app = app

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.llmreel_app.begin_shutdown()
        await super().shutdown(sockets)


def make_server(app: LlmreelApp, *, log_level: str = "warning") -> uvicorn.Server:
    logging.getLogger("uvicorn.error").addFilter(_filter)
    config = uvicorn.Config(
        app,
        http="h11",
        loop="asyncio",
        lifespan="on",
        ws="none",
        access_log=False,
        server_header=False,
        log_config=None,
        log_level=log_level,
        timeout_keep_alive=5,
        # A backstop only: the app itself ends streams after its grace period.
        timeout_graceful_shutdown=math.ceil(app.config.shutdown_grace) + 5,
    )
    return _Server(config, app)


def serve(
    config: ServerConfig,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    sock: socket.socket | None = None,
    log_level: str = "warning",
) -> None:
    """Serve in the foreground until SIGINT/SIGTERM (uvicorn handles the signals)."""
    app = create_app(config)
    sock = sock or bind_socket(host, port)
    server = make_server(app, log_level=log_level)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


class ServerThread:
    """The server on a background thread (demo, tests, the pytest plugin).

    ``with ServerThread(config) as srv: ... srv.base_url ...``; port 0 picks a free one.
    """

    def __init__(
        self,
        config: ServerConfig,
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
        log_level: str = "warning",
    ) -> None:
        self.config = config
        self.app = create_app(config)
        self._sock = bind_socket(host, port)
        self.host = host
        self.port: int = self._sock.getsockname()[1]
        self.base_url = f"http://{host}:{self.port}"
        self._server = make_server(self.app, log_level=log_level)
        self._errors: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._run, name=f"llmreel-serve-{self.port}", daemon=True
        )

    def _run(self) -> None:
        try:
            self._server.run(sockets=[self._sock])
        except BaseException as exc:  # reported by start()
            self._errors.append(exc)

    def start(self, timeout: float = 10.0) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if self._errors or not self._thread.is_alive():
                raise RuntimeError(f"llmreel serve failed to start: {self._errors!r}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"llmreel serve did not start within {timeout}s")
            time.sleep(0.005)
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Stop as SIGTERM would: in-flight streams get the grace period, then end."""
        if not self._thread.is_alive():
            self._sock.close()
            return
        self._server.should_exit = True
        wait = timeout if timeout is not None else self.config.shutdown_grace + 10
        self._thread.join(wait)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(5)
        self._sock.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def serve_in_thread(config: ServerConfig, **kwargs: object) -> Iterator[ServerThread]:
    """``with serve_in_thread(config) as srv:`` -- a running server and its ``base_url``."""
    with ServerThread(config, **kwargs) as srv:  # type: ignore[arg-type]
        yield srv
