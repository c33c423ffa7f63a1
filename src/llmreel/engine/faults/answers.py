"""A fault that answers instead of the real response: what each adapter sends, raises or waits.

The engine decides ``Decision("fault")`` for ``http=``, ``reset``, ``timeout`` and
for a request whose ``X-Llmreel-Fault`` header does not parse; the request never
reaches the cassette or the upstream (no sequence position is used, nothing is
recorded). :func:`answer_for` says what to do; each adapter does it with its own
HTTP library:

- ``respond``: after ``delay`` seconds, an HTTP answer (the provider's own error
  shape, or a 400 naming a bad header spec);
- ``reset``: after ``delay``, the library's own error for a connection reset
  before any response (the server closes the socket with a TCP reset);
- ``timeout``: nothing until the client's read timeout (at most ``hold``
  seconds), then the library's own read-timeout error (the server holds the
  request until the client leaves, then closes the connection).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from llmreel.engine.faults.schedule import AppliedFault
from llmreel.engine.journal import PendingEntry
from llmreel.providers.error_shapes import error_response_parts
from llmreel.providers.fault_errors import fault_error_parts

__all__ = ["RESPONSE_HEADER", "FaultAnswer", "answer_for"]

# Sent with an injected HTTP answer: which fault made it (never sent by a real provider).
RESPONSE_HEADER = "x-llmreel-fault"

RESET_MESSAGE = "[Errno 104] Connection reset by peer"


@dataclass(frozen=True, slots=True)
class FaultAnswer:
    """What an adapter does instead of answering from the recording or the upstream."""

    fault: AppliedFault
    kind: Literal["respond", "reset", "timeout"]
    delay: float = 0.0
    status: int = 0
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    hold: float = 0.0

    def hold_for(self, client_timeout: float | None) -> float:
        """How long a ``timeout`` waits: the client's own limit, never more than ``hold``."""
        if client_timeout is None or client_timeout <= 0:
            return self.hold
        return min(self.hold, client_timeout)

    @property
    def error(self) -> str:
        """The text of the error an adapter raises for a reset or a timeout."""
        what = RESET_MESSAGE if self.kind == "reset" else "timed out"
        return f"{what} (llmreel fault {self.fault.text})"

    def finish(self, entry: PendingEntry | None, note: str | None = None) -> None:
        """Journal the answer (the first finish of an entry wins)."""
        if entry is None:
            return
        if self.fault.kind == "invalid":
            entry.finish("error", self.status, note=self.fault.message)
            return
        default = {
            "respond": f"injected HTTP {self.status}",
            "reset": "injected connection reset before any response",
            "timeout": "injected: no response until the client gave up",
        }[self.kind]
        entry.finish("fault", self.status, note=note or default)


def answer_for(fault: AppliedFault, path: str) -> FaultAnswer:
    """What to do for ``fault`` on a request to ``path`` (the path picks the error shape)."""
    if fault.kind == "invalid":
        status, headers, body = error_response_parts(
            path, 400, fault.message or "invalid fault spec", "llmreel_invalid_fault_spec"
        )
        return FaultAnswer(fault, "respond", status=status, headers=tuple(headers), body=body)
    if fault.kind == "reset":
        return FaultAnswer(fault, "reset", delay=fault.delay)
    if fault.kind == "timeout":
        return FaultAnswer(fault, "timeout", hold=fault.hold or 0.0)
    assert fault.status is not None
    status, headers, body = fault_error_parts(
        path, fault.status, retry_after=fault.retry_after, should_retry=fault.should_retry
    )
    headers.append((RESPONSE_HEADER, fault.text))
    return FaultAnswer(
        fault, "respond", delay=fault.delay, status=status, headers=tuple(headers), body=body
    )
