"""The flag that stops a request forwarded by one in-process adapter from being caught again.

:data:`FORWARDING` is set while an adapter forwards a request upstream in
record or live mode. Some stacks are layered (LiteLLM's async httpx client
sends through an aiohttp session); without the flag the inner stack would
intercept the same call a second time and record it twice.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

__all__ = ["FORWARDING", "forwarding"]

FORWARDING: ContextVar[bool] = ContextVar("llmreel_forwarding", default=False)


@contextlib.contextmanager
def forwarding() -> Iterator[None]:
    """Mark the calls made inside the block as already handled by an outer adapter."""
    token = FORWARDING.set(True)
    try:
        yield
    finally:
        FORWARDING.reset(token)
