"""The cassettes active in this process, innermost last: whoever intercepts asks :func:`active`.

:func:`llmreel.intercept.patching.activate` pushes an entry (and installs the
patches on the first one); every in-process adapter reads the innermost entry
at request time, so one active cassette covers every HTTP stack at once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from llmreel.engine import Decider
from llmreel.intercept.httpx_transports import OnMiss

__all__ = ["ActiveCassette", "active", "lock", "pop", "push"]


@dataclass(eq=False)
class ActiveCassette:
    engine: Decider
    on_miss: OnMiss = "respond"
    passthrough_hosts: frozenset[str] = field(default_factory=frozenset)

    def owns(self, host: str) -> bool:
        return host not in self.passthrough_hosts


lock = threading.RLock()
_stack: list[ActiveCassette] = []


def active() -> ActiveCassette | None:
    stack = _stack
    return stack[-1] if stack else None


def push(entry: ActiveCassette) -> bool:
    """Add ``entry``; True when it is the first one (the patches must be installed)."""
    first = not _stack
    _stack.append(entry)
    return first


def pop(entry: ActiveCassette) -> bool:
    """Remove ``entry``; True when none is left (the patches must be removed)."""
    if entry in _stack:
        _stack.remove(entry)
    return not _stack
