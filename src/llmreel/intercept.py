"""Process-wide interception of every httpx and httpx2 client while a cassette is active.

``Client._transport_for_url`` (and the async twin) is patched on the classes,
so clients created before the cassette was entered, in any thread or task,
are covered; the client's own transport becomes the inner transport that
record and live modes forward to. Patches are installed when the first
cassette becomes active and removed when the last one ends. The innermost
active cassette handles a request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import httpx2

from llmreel.engine import Engine
from llmreel.transport import TRANSPORTS, OnMiss

__all__ = ["ActiveCassette", "activate", "active", "deactivate"]


@dataclass(eq=False)
class ActiveCassette:
    engine: Engine
    on_miss: OnMiss = "respond"
    passthrough_hosts: frozenset[str] = field(default_factory=frozenset)

    def owns(self, host: str) -> bool:
        return host not in self.passthrough_hosts


_lock = threading.RLock()
_stack: list[ActiveCassette] = []
_originals: dict[tuple[type, str], Callable[..., Any]] = {}


def active() -> ActiveCassette | None:
    stack = _stack
    return stack[-1] if stack else None


def _patch(cls: type, transports: tuple[type, type], is_async: bool) -> None:
    original = cls.__dict__["_transport_for_url"]
    _originals[(cls, "_transport_for_url")] = original
    wrapper_cls = transports[1] if is_async else transports[0]

    def _transport_for_url(self: Any, url: Any) -> Any:
        inner = original(self, url)
        current = active()
        if current is None or not current.owns(url.host):
            return inner
        return wrapper_cls(current.engine, inner, on_miss=current.on_miss)

    _transport_for_url.__wrapped__ = original  # type: ignore[attr-defined]
    cls._transport_for_url = _transport_for_url  # type: ignore[attr-defined]


def _install() -> None:
    for name, mod in (("httpx", httpx), ("httpx2", httpx2)):
        _patch(mod.Client, TRANSPORTS[name], is_async=False)
        _patch(mod.AsyncClient, TRANSPORTS[name], is_async=True)


def _uninstall() -> None:
    for (cls, attr), original in _originals.items():
        setattr(cls, attr, original)
    _originals.clear()


def activate(entry: ActiveCassette) -> None:
    with _lock:
        if not _stack:
            _install()
        _stack.append(entry)


def deactivate(entry: ActiveCassette) -> None:
    with _lock:
        if entry in _stack:
            _stack.remove(entry)
        if not _stack:
            _uninstall()
