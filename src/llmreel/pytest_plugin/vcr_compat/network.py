"""pytest-recording's network blocking, on llmreel's guard: host patterns and private addresses.

``--allowed-hosts`` (and ``allowed_hosts`` in ``vcr_config`` or the
``block_network`` marker) are regular expressions matched at the start of a
host name or address, as pytest-recording matches them; a name they allow also
allows the addresses it resolves to. Loopback is always reachable (local test
servers and llama.cpp live there).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable
from typing import Any

from llmreel.intercept.guard import DEFAULT_ALLOW, NetworkGuard

__all__ = ["PatternGuard"]


class PatternGuard(NetworkGuard):
    """A :class:`NetworkGuard` that also lets through hosts matching ``patterns``."""

    def __init__(
        self,
        allow: Iterable[str] = DEFAULT_ALLOW,
        describe: Callable[[str], str] | None = None,
        *,
        patterns: Iterable[str] = (),
        private_ips: bool = False,
        advice: str | None = None,
    ) -> None:
        super().__init__(allow, describe, advice=advice)
        listed = [p for p in patterns if p]
        self._pattern = re.compile("(" + ")|(".join(listed) + ")") if listed else None
        self._private = private_ips
        self._resolved: set[str] = set()
        self._lookup: Any = socket.getaddrinfo

    def install(self) -> None:
        self._lookup = socket.getaddrinfo  # the real one, for names the patterns allow
        super().install()

    def allows(self, host: str) -> bool:
        if super().allows(host) or host in self._resolved:
            return True
        try:
            address = ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
        except ValueError:
            address = None
        if self._private and address is not None and address.is_private:
            return True
        if self._pattern is None or not self._pattern.match(host):
            return False
        if address is None:
            try:
                infos = self._lookup(host, None)
            except OSError:
                infos = []
            self._resolved.update(str(info[4][0]) for info in infos)
        return True
