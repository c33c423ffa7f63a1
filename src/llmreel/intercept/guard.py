"""A socket guard: connections that go around every interceptor fail loudly, naming the escape.

llmreel answers requests made through httpx, httpx2, aiohttp and requests. A
call made any other way (a raw socket, an HTTP library llmreel does not patch,
a C extension using Python sockets) would silently reach the network while a
test believes it is replaying. Inside :func:`block_network` such a call fails
with :class:`~llmreel.exceptions.NetworkBlockedError`, whose message names the
``host:port``, the code that made the call, and what to do about it.

What is checked: ``socket.socket.connect``/``connect_ex`` for IPv4/IPv6 sockets
and ``socket.getaddrinfo`` (so a blocked host name fails with our error rather
than a DNS error). Unix sockets are never blocked. The patches are
process-wide (SDKs connect from worker threads and event loops, and that is
still the test's traffic) and nest: each ``with`` restores what it replaced.

    >>> with block_network():            # loopback allowed
    ...     ...
    >>> with block_network(allow=()):    # nothing allowed, not even 127.0.0.1
    ...     ...

``use_cassette(..., block_network=True)`` uses this in replay mode; the pytest
plugin can use :class:`NetworkGuard` directly (``install``/``uninstall``,
``escapes``).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import sys
import sysconfig
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from llmreel.exceptions import NetworkBlockedError

__all__ = ["DEFAULT_ALLOW", "NetworkGuard", "block_network", "is_loopback"]

DEFAULT_ALLOW: tuple[str, ...] = ("127.0.0.1", "::1", "localhost")

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


def is_loopback(host: str) -> bool:
    """True for loopback names and addresses (127.0.0.0/8, ::1, localhost)."""
    h = host.strip("[]").lower()
    if h in _LOOPBACK_NAMES or h.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(h.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _stdlib_dirs() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    dirs = {paths.get("stdlib"), paths.get("platstdlib")}
    return tuple(os.path.normcase(d) + os.sep for d in dirs if d)


_STDLIB = _stdlib_dirs()
_HERE = os.path.normcase(os.path.abspath(__file__))


def _callers() -> str:
    """Where the escaping call came from: the first frame outside the stdlib and this module,
    and, when that is inside an installed library, the first frame of the caller's own code."""
    frame = sys._getframe(2)
    first: str | None = None
    own: str | None = None
    while frame is not None:
        name = os.path.normcase(frame.f_code.co_filename)
        if name != _HERE and not name.startswith(_STDLIB) and not name.startswith("<"):
            where = f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"
            if first is None:
                first = where
            if "site-packages" not in name and "dist-packages" not in name:
                own = where
                break
        frame = frame.f_back  # type: ignore[assignment]
    if first is None:
        return ""
    if own is None or own == first:
        return f" It was made at {first}."
    return f" It was made at {first}, called from {own}."


def _default_describe(where: str) -> str:
    return (
        f"llmreel blocked a network connection to {where}: the call went around llmreel's "
        f"interceptors (httpx, httpx2, aiohttp and requests are intercepted; this was a raw "
        f"socket or another HTTP library) while the network is blocked."
    )


_ADVICE = (
    " To fix: send the call through a supported client so the cassette can answer it, "
    "record it with LLMREEL_MODE=record-if-missing if it is an intercepted call that missed, "
    "or allow the host (block_network(allow=[...]) / passthrough_hosts=[...])."
)


class NetworkGuard:
    """Refuses socket connects and name lookups to hosts not in ``allow`` while installed.

    ``allow`` holds host names and addresses; ``"localhost"`` in it allows every
    loopback address. ``describe(host_port)`` writes the first part of the error
    message (callers add context such as the test or cassette), then comes where
    the call was made, then ``advice`` (what to do; by default the generic advice
    for :func:`block_network`). Every refused ``host:port`` is appended to
    :attr:`escapes`.
    """

    def __init__(
        self,
        allow: Iterable[str] = DEFAULT_ALLOW,
        describe: Callable[[str], str] | None = None,
        *,
        advice: str | None = None,
    ) -> None:
        self.allow = frozenset(h.strip("[]").lower() for h in allow)
        self.describe = describe or _default_describe
        self.advice = _ADVICE if advice is None else advice
        self.escapes: list[str] = []
        self._saved: list[tuple[Any, str, Any]] = []
        self._lock = threading.Lock()

    def allows(self, host: str) -> bool:
        h = host.strip("[]").lower()
        if h in self.allow:
            return True
        return "localhost" in self.allow and is_loopback(h)

    def check(self, host: Any, port: Any) -> None:
        """Raise :class:`NetworkBlockedError` unless ``host`` is allowed."""
        if host is None:
            return
        text = host.decode() if isinstance(host, bytes) else str(host)
        if self.allows(text):
            return
        where = f"{text}:{port}" if port not in (None, "") else text
        with self._lock:
            self.escapes.append(where)
        raise NetworkBlockedError(self.describe(where) + _callers() + self.advice)

    def install(self) -> None:
        guard = self
        real_connect = socket.socket.connect
        real_connect_ex = socket.socket.connect_ex
        real_getaddrinfo = socket.getaddrinfo

        def check_address(sock: socket.socket, address: Any) -> None:
            if sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
                guard.check(address[0], address[1])

        def connect(self: socket.socket, address: Any) -> None:
            check_address(self, address)
            return real_connect(self, address)

        def connect_ex(self: socket.socket, address: Any) -> int:
            check_address(self, address)
            return real_connect_ex(self, address)

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            guard.check(host, port)
            return real_getaddrinfo(host, port, *args, **kwargs)

        self._saved = [
            (socket.socket, "connect", real_connect),
            (socket.socket, "connect_ex", real_connect_ex),
            (socket, "getaddrinfo", real_getaddrinfo),
        ]
        socket.socket.connect = connect  # type: ignore[method-assign,assignment]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]
        socket.getaddrinfo = getaddrinfo

    def uninstall(self) -> None:
        for owner, attr, original in reversed(self._saved):
            setattr(owner, attr, original)
        self._saved = []


@contextlib.contextmanager
def block_network(
    allow: Iterable[str] = DEFAULT_ALLOW,
    *,
    describe: Callable[[str], str] | None = None,
) -> Iterator[NetworkGuard]:
    """Within the block, connections to hosts not in ``allow`` raise NetworkBlockedError."""
    guard = NetworkGuard(allow, describe)
    guard.install()
    try:
        yield guard
    finally:
        guard.uninstall()
