"""Server mode: a test's requests to a running ``llmreel serve`` carry its cassette's name.

With ``--llmreel-server`` the plugin adds ``X-Llmreel-Cassette`` (and the test
id, and the test's fault specs as ``X-Llmreel-Fault``) to every httpx/httpx2
request sent to that server, and exports
``LLMREEL_SERVER`` / ``LLMREEL_CASSETTE`` for subprocesses in any language.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import httpx2

from llmreel.pytest_plugin.options import (
    CASSETTE_HEADER,
    ENV_CASSETTE,
    ENV_SERVER,
    FAULT_HEADER,
    TEST_HEADER,
)

__all__ = ["HeaderTagger", "ServerCassette"]


@dataclass(frozen=True)
class ServerCassette:
    """What a test (or a subprocess it starts) needs to use a running ``llmreel serve``.

    ``base_url`` is the server's URL; send ``headers`` with every request (the
    plugin already adds them to in-process httpx/httpx2 clients talking to it);
    ``env`` holds ``LLMREEL_SERVER`` and ``LLMREEL_CASSETTE`` for a child process.
    """

    base_url: str
    cassette: str
    test_id: str
    faults: str = ""  # the test's fault specs, sent as X-Llmreel-Fault

    @property
    def headers(self) -> dict[str, str]:
        headers = {CASSETTE_HEADER: self.cassette, TEST_HEADER: self.test_id}
        if self.faults:
            headers[FAULT_HEADER] = self.faults
        return headers

    @property
    def env(self) -> dict[str, str]:
        return {ENV_SERVER: self.base_url, ENV_CASSETTE: self.cassette}

    def url(self, path: str = "") -> str:
        return self.base_url + ("/" + path.lstrip("/") if path else "")


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


class HeaderTagger:
    """Adds the cassette headers to every httpx/httpx2 request sent to the server."""

    def __init__(self, server: str, headers: dict[str, str]) -> None:
        parts = urlsplit(server)
        self.host = (parts.hostname or "").lower()
        self.port = parts.port or _default_port(parts.scheme)
        self.headers = headers
        self._saved: list[tuple[type, Any]] = []

    def _wants(self, request: Any) -> bool:
        url = request.url
        port = url.port or _default_port(url.scheme)
        return bool(url.host.lower() == self.host and port == self.port)

    def install(self) -> None:
        tagger = self
        for mod in (httpx, httpx2):
            for cls, is_async in ((mod.Client, False), (mod.AsyncClient, True)):
                original = cls.__dict__["send"]
                self._saved.append((cls, original))
                cls.send = _tagging_send(original, tagger, is_async)

    def tag(self, request: Any) -> None:
        if self._wants(request):
            for k, v in self.headers.items():
                request.headers[k] = v

    def uninstall(self) -> None:
        for cls, original in reversed(self._saved):
            cls.send = original
        self._saved = []


def _tagging_send(original: Any, tagger: HeaderTagger, is_async: bool) -> Any:
    if is_async:

        async def asend(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            tagger.tag(request)
            return await original(self, request, *args, **kwargs)

        return asend

    def send(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        tagger.tag(request)
        return original(self, request, *args, **kwargs)

    return send
