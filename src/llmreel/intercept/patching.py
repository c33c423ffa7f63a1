"""Process-wide interception of every httpx, httpx2, aiohttp and requests client.

``Client._transport_for_url`` (and the async twin) is patched on the classes,
so clients created before the cassette was entered, in any thread or task,
are covered; the client's own transport becomes the inner transport that
record and live modes forward to. Patches are installed when the first
cassette becomes active and removed when the last one ends. The innermost
active cassette handles a request.

aiohttp and requests are patched too when they are installed (see
:mod:`~llmreel.intercept.aiohttp_adapter` and
:mod:`~llmreel.intercept.requests_adapter`); they are imported only then, so a
user without them pays nothing.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import Callable
from types import ModuleType
from typing import Any

import httpx
import httpx2

from llmreel.intercept.httpx_transports import TRANSPORTS
from llmreel.intercept.stack import ActiveCassette, active, lock, pop, push

__all__ = ["ActiveCassette", "activate", "active", "deactivate"]

log = logging.getLogger("llmreel")

# (adapter module, the library it needs): installed only when the library is importable.
_OPTIONAL_ADAPTERS = (
    ("llmreel.intercept.aiohttp_adapter", "aiohttp"),
    ("llmreel.intercept.requests_adapter", "requests"),
)
_adapters: list[ModuleType] = []
_originals: dict[tuple[type, str], Callable[..., Any]] = {}


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
    for module_name, library in _OPTIONAL_ADAPTERS:
        try:
            if importlib.util.find_spec(library) is None:
                continue
            adapter = importlib.import_module(module_name)
        except Exception as exc:  # a broken optional library must not break httpx users
            log.warning("llmreel: %s requests are not intercepted: %s", library, exc)
            continue
        adapter.install()
        _adapters.append(adapter)


def _uninstall() -> None:
    for (cls, attr), original in _originals.items():
        setattr(cls, attr, original)
    _originals.clear()
    while _adapters:
        _adapters.pop().uninstall()


def activate(entry: ActiveCassette) -> None:
    with lock:
        if push(entry):
            _install()


def deactivate(entry: ActiveCassette) -> None:
    with lock:
        if pop(entry):
            _uninstall()
