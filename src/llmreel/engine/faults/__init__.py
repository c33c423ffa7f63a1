"""Faults and latency on demand: what goes wrong, when, and how adapters apply it.

- :mod:`.spec`: the spec grammar (``http=429,retry-after=1,first=2``), parsed once;
- :mod:`.schedule`: when a spec applies (filters, counters, seeded draws) and the
  :class:`AppliedFault` one request gets;
- :mod:`.answers`: a fault that answers instead of the real response (http, reset,
  timeout), as each adapter carries it out;
- :mod:`.shaping`: a fault that shapes the real answer (cut, malformed, stall, ttft,
  tps, jitter), applied by :class:`~llmreel.engine.playback.Playback`;
- :mod:`.buffered`: shaping a forwarded answer without changing what is recorded.
"""

from llmreel.engine.faults.answers import RESPONSE_HEADER, FaultAnswer, answer_for
from llmreel.engine.faults.schedule import FAULT_HEADER, AppliedFault, FaultPicker, FaultSchedule
from llmreel.engine.faults.spec import (
    DEFAULT_TIMEOUT,
    GRAMMAR,
    Fault,
    FaultsLike,
    Jitter,
    parse_fault,
    parse_faults,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "FAULT_HEADER",
    "GRAMMAR",
    "RESPONSE_HEADER",
    "AppliedFault",
    "Fault",
    "FaultAnswer",
    "FaultPicker",
    "FaultSchedule",
    "FaultsLike",
    "Jitter",
    "answer_for",
    "parse_fault",
    "parse_faults",
]
