"""Running ``llmreel ui``: uvicorn in the foreground, or on a background thread (tests, scripts).

The index is built before the port opens, so the first page is answered from it.
The listening socket is bound first, so a port that is taken is reported clearly
and port 0 gives a free one.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import uvicorn

from llmreel.exceptions import ConfigError
from llmreel.ui.app import UiApp, create_ui_app

__all__ = ["DEFAULT_UI_PORT", "UiThread", "bind", "is_loopback", "serve_ui"]

DEFAULT_UI_PORT = 8377


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A bound socket on host:port, or a ConfigError that says what to do."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"port {port} on {host} is already in use (another llmreel ui?); pick another "
                "one with --port."
            ) from None
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}.") from None
    sock.set_inheritable(True)
    return sock


def _server(app: UiApp, log_level: str) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        http="h11",
        loop="asyncio",
        lifespan="off",
        ws="none",
        access_log=False,
        server_header=False,
        log_config=None,
        log_level=log_level,
    )
    return uvicorn.Server(config)


def serve_ui(
    root: Path,
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_UI_PORT,
    progress: Callable[[int, int], None] | None = None,
    ready: Callable[[UiApp, str], None] | None = None,
) -> None:
    """Index ``root``, then serve the inspector until Ctrl-C."""
    sock = bind(host, port)
    allowed = () if is_loopback(host) else (host,)
    app = create_ui_app(root, allowed_hosts=allowed)
    app.index.refresh(progress)
    shown = f"[{host}]" if ":" in host else host
    if ready is not None:
        ready(app, f"http://{shown}:{sock.getsockname()[1]}/")
    try:
        _server(app, "warning").run(sockets=[sock])
    finally:
        sock.close()


class UiThread:
    """The inspector on a background thread: ``with UiThread(root) as ui: ui.url``."""

    def __init__(self, root: Path, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = create_ui_app(root)
        self._sock = bind(host, port)
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://{host}:{self.port}/"
        self._server = _server(self.app, "warning")
        self._thread = threading.Thread(target=self._run, name="llmreel-ui", daemon=True)

    def _run(self) -> None:
        self._server.run(sockets=[self._sock])

    def start(self, timeout: float = 10.0) -> UiThread:
        self.app.index.refresh()
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("llmreel ui did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._sock.close()

    def __enter__(self) -> UiThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
