"""When a fault applies: filters, counters and seeded draws, and what one request gets.

Each spec counts the calls that pass its filters (``on=``, ``model=``); ``first=N``
applies to the first N of them, ``every=N`` to every Nth, ``p=`` to each with that
probability, drawn from a generator seeded with ``seed=`` (0 when not given), so a
run makes the same choices every time. Counters belong to one engine (one
cassette): a server keeps them per cassette until ``POST /_llmreel/reset``.

The specs of a request's ``X-Llmreel-Fault`` header are considered first, then the
configured ones. The first spec that applies and answers (http, reset, timeout)
answers; otherwise the shaping of every spec that applies is merged, later values
winning. A header's counters are kept per header text, so ``first=2`` in a header
counts that header's calls.
"""

from __future__ import annotations

import fnmatch
import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from llmreel.engine.faults.spec import Fault, FaultsLike, Jitter, parse_faults
from llmreel.exceptions import FaultSpecError
from llmreel.model.interaction import Request

__all__ = ["FAULT_HEADER", "AppliedFault", "FaultPicker", "FaultSchedule"]

# The request header that asks for a fault on one call (lower case, as the Request keeps it).
FAULT_HEADER = "x-llmreel-fault"
_HEADER_SCHEDULES_KEPT = 256

AnswerKind = Literal["http", "reset", "timeout", "invalid"]


@dataclass(frozen=True, slots=True)
class AppliedFault:
    """What one request gets: an answer instead of the real response, or shaping of it.

    ``text`` is what the journal shows (the specs that applied, joined by ';');
    ``kind`` is None when the fault only shapes the real answer. ``invalid`` is a
    header spec that did not parse: the client gets a 400 saying why.
    """

    text: str
    kind: AnswerKind | None = None
    status: int | None = None
    retry_after: str | None = None
    should_retry: bool | None = None
    hold: float | None = None  # timeout: the longest it waits for the client to give up
    delay: float = 0.0  # an answer's ttft: how long before it comes
    message: str | None = None  # invalid: the parse error
    cut: int | None = None
    malformed: int | None = None
    stall: tuple[int, float] | None = None
    ttft: float | None = None
    tps: float | None = None
    jitter: Jitter | None = None
    seed: str = "0"  # the jitter generator's seed for this call

    @property
    def answers(self) -> bool:
        return self.kind is not None

    @property
    def shapes(self) -> bool:
        return self.kind is None

    def rng(self) -> random.Random:
        return random.Random(self.seed)


def _matches(pattern: str | None, value: str) -> bool:
    if pattern is None:
        return True
    if any(c in pattern for c in "*?["):
        return fnmatch.fnmatchcase(value, pattern)
    return value == pattern


class _State:
    __slots__ = ("calls", "fault", "rng")

    def __init__(self, fault: Fault) -> None:
        self.fault = fault
        self.calls = 0
        self.rng = random.Random(fault.seed if fault.seed is not None else 0)


class FaultSchedule:
    """Some specs and their counters; :meth:`applying` says which apply to a request."""

    def __init__(self, faults: Sequence[Fault]) -> None:
        self._states = [_State(f) for f in faults]
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        return bool(self._states)

    @property
    def faults(self) -> tuple[Fault, ...]:
        return tuple(s.fault for s in self._states)

    def applying(self, request: Request) -> list[tuple[Fault, int]]:
        """The specs that apply to this call, each with its call number (counters advance)."""
        out: list[tuple[Fault, int]] = []
        with self._lock:
            for state in self._states:
                f = state.fault
                if not (_matches(f.on, request.path) and _matches(f.model, request.model)):
                    continue
                state.calls += 1
                n = state.calls
                # Drawn for every matching call, so the choices depend only on the call count.
                draw = state.rng.random() if f.p is not None else 0.0
                if f.first is not None and n > f.first:
                    continue
                if f.every is not None and n % f.every:
                    continue
                if f.p is not None and not draw < f.p:
                    continue
                out.append((f, n))
        return out


def _answer(fault: Fault, n: int) -> AppliedFault:
    kind: AnswerKind = "http" if fault.http is not None else "reset" if fault.reset else "timeout"
    return AppliedFault(
        text=fault.text,
        kind=kind,
        status=fault.http,
        retry_after=fault.retry_after,
        should_retry=fault.should_retry,
        hold=fault.timeout,
        delay=fault.ttft or 0.0,
        seed=f"{fault.seed or 0}:{n}",
    )


_SHAPING_FIELDS = ("cut", "malformed", "stall", "ttft", "tps", "jitter")


def _shaping(applying: list[tuple[Fault, int]]) -> AppliedFault:
    merged: dict[str, Any] = {}
    for fault, n in applying:  # later specs win, field by field
        for name in _SHAPING_FIELDS:
            value = getattr(fault, name)
            if value is not None:
                merged[name] = value
        if fault.jitter is not None:
            merged["seed"] = f"{fault.seed or 0}:{n}"
    return AppliedFault(text=";".join(f.text for f, _ in applying), **merged)


class FaultPicker:
    """An engine's faults: the configured specs, and those its requests ask for by header."""

    def __init__(self, faults: FaultsLike = None) -> None:
        self.configured = FaultSchedule(parse_faults(faults))
        self._by_header: dict[str, FaultSchedule] = {}
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        return bool(self.configured)

    @property
    def specs(self) -> tuple[str, ...]:
        return tuple(f.text for f in self.configured.faults)

    def _for_header(self, text: str) -> FaultSchedule:
        with self._lock:
            schedule = self._by_header.get(text)
            if schedule is None:
                schedule = FaultSchedule(parse_faults(text))
                if len(self._by_header) >= _HEADER_SCHEDULES_KEPT:
                    self._by_header.clear()  # a client inventing specs must not grow memory
                self._by_header[text] = schedule
            return schedule

    def pick(self, request: Request, header: str | None = None) -> AppliedFault | None:
        """The fault this request gets, if any (``header``: its X-Llmreel-Fault value)."""
        if header is None:
            header = request.headers.get(FAULT_HEADER)
        applying: list[tuple[Fault, int]] = []
        if header is not None and header.strip():
            try:
                schedule = self._for_header(header.strip())
            except FaultSpecError as exc:
                return AppliedFault(
                    text=header.strip(),
                    kind="invalid",
                    status=400,
                    message=f"llmreel: the {FAULT_HEADER} header is not a fault spec: {exc}",
                )
            applying.extend(schedule.applying(request))
        if self.configured:
            applying.extend(self.configured.applying(request))
        if not applying:
            return None
        for fault, n in applying:
            if fault.answers:
                return _answer(fault, n)
        return _shaping(applying)
