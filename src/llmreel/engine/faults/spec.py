"""The fault spec: one short string saying what goes wrong and when, the same everywhere.

``use_cassette(faults=...)``, ``open_engine(faults=...)``, the pytest marker and
``--llmreel-fault``, ``llmreel serve --fault`` and the ``X-Llmreel-Fault`` request
header all take it and parse it here, so a spec means the same in every place.
A bad spec is a :class:`~llmreel.exceptions.FaultSpecError` naming the bad part
and showing :data:`GRAMMAR`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from llmreel.exceptions import FaultSpecError

__all__ = [
    "DEFAULT_TIMEOUT",
    "GRAMMAR",
    "MAX_DELAY",
    "Fault",
    "FaultsLike",
    "Jitter",
    "parse_fault",
    "parse_faults",
]

# How long a `timeout` fault holds a request when the client sets no limit of its own:
# long enough to outlast any sane client timeout in a test, short enough never to hang CI.
DEFAULT_TIMEOUT = 30.0
# No single wait a spec asks for may be longer: a header from any client must not be able
# to hold a server connection (or a test) for hours.
MAX_DELAY = 600.0

GRAMMAR = """\
A fault spec is PART[,PART...]; join several specs with ';' (or give several).
What goes wrong (one answer, or any shaping):
  answer   http=STATUS [retry-after=SECONDS] [should-retry=true|false]
           reset                   connection closed before any response
           timeout[=MAX_SECONDS]   no response until the client gives up (default max 30)
  shaping  cut=N                   the stream breaks after event N (no terminator)
           malformed=N             event N is broken data
           stall=N:SECONDS         a pause before event N
           ttft=SECONDS            the first event (or the whole body) after SECONDS
           tps=RATE                then RATE events per second
           jitter=lognormal:MEDIAN[:SIGMA] | jitter=uniform:MIN:MAX   extra delay per event
           (every wait in seconds, at most 600)
When it applies (default: every matching call):
           first=N | every=N | p=PROBABILITY   [seed=INT for p and jitter]
           on=PATH   model=NAME   (exact, or a glob with *)
Examples: 'http=429,retry-after=1,first=2'  'http=529;cut=10,on=/v1/chat/completions'"""

FaultsLike = str | Iterable[str] | None

_ANSWERS = ("http", "reset", "timeout")
_SHAPING = ("cut", "malformed", "stall", "ttft", "tps", "jitter")
_HTTP_OPTIONS = ("retry-after", "should-retry")
_WHEN = ("first", "every", "p", "seed", "on", "model")
_KNOWN = (*_ANSWERS, *_HTTP_OPTIONS, *_SHAPING, *_WHEN)
_FLAGS = ("reset", "timeout")  # parts that may stand without '=VALUE'


class _Bad(Exception):
    """One part is wrong; the caller adds the whole spec and the grammar."""


@dataclass(frozen=True, slots=True)
class Jitter:
    """Extra delay drawn for each event: log-normal (median, sigma) or uniform (low, high)."""

    kind: Literal["lognormal", "uniform"]
    a: float
    b: float


@dataclass(frozen=True, slots=True)
class Fault:
    """One parsed spec: what goes wrong (an answer, or shaping) and when it applies."""

    text: str
    http: int | None = None
    retry_after: str | None = None
    should_retry: bool | None = None
    reset: bool = False
    timeout: float | None = None
    cut: int | None = None
    malformed: int | None = None
    stall: tuple[int, float] | None = None
    ttft: float | None = None
    tps: float | None = None
    jitter: Jitter | None = None
    first: int | None = None
    every: int | None = None
    p: float | None = None
    seed: int | None = None
    on: str | None = None
    model: str | None = None
    parts: tuple[str, ...] = field(default=(), compare=False)

    @property
    def answers(self) -> bool:
        """It answers instead of the recording or the upstream (http, reset, timeout)."""
        return self.http is not None or self.reset or self.timeout is not None

    @property
    def shapes(self) -> bool:
        """It changes how a real answer reaches the client (cut, timing, broken data)."""
        return any(
            v is not None for v in (self.cut, self.malformed, self.stall, self.tps, self.jitter)
        ) or (self.ttft is not None and not self.answers)


def _float(name: str, value: str, *, positive: bool = False, seconds: bool = False) -> float:
    try:
        number = float(value)
    except ValueError:
        raise _Bad(f"{name}={value!r} is not a number") from None
    if not math.isfinite(number) or number < 0 or (positive and number == 0):
        need = "a positive number" if positive else "a number >= 0"
        raise _Bad(f"{name}={value!r} must be {need}")
    if seconds and number > MAX_DELAY:
        raise _Bad(f"{name}={value!r}: at most {MAX_DELAY:g} seconds")
    return number


def _int(name: str, value: str, *, minimum: int = 1) -> int:
    text = value.strip()
    if not (text.isdigit() or (text.startswith("-") and text[1:].isdigit())):
        raise _Bad(f"{name}={value!r} is not a whole number")
    number = int(text)
    if number < minimum:
        raise _Bad(f"{name}={value!r} must be at least {minimum}")
    return number


def _jitter(value: str) -> Jitter:
    kind, _, rest = value.partition(":")
    numbers = rest.split(":") if rest else []
    if kind == "lognormal" and len(numbers) in (1, 2):
        median = _float("jitter median", numbers[0], seconds=True)
        sigma = _float("jitter sigma", numbers[1]) if len(numbers) == 2 else 0.25
        return Jitter("lognormal", median, sigma)
    if kind == "uniform" and len(numbers) == 2:
        low = _float("jitter min", numbers[0], seconds=True)
        high = _float("jitter max", numbers[1], seconds=True)
        if high < low:
            raise _Bad(f"jitter={value!r}: MIN must not exceed MAX")
        return Jitter("uniform", low, high)
    raise _Bad(f"jitter={value!r}: use lognormal:MEDIAN[:SIGMA] or uniform:MIN:MAX (seconds)")


def _stall(value: str) -> tuple[int, float]:
    event, sep, seconds = value.partition(":")
    if not sep:
        raise _Bad(f"stall={value!r}: use stall=N:SECONDS (a pause of SECONDS before event N)")
    return _int("stall event", event), _float("stall seconds", seconds, seconds=True)


def _bool(name: str, value: str) -> bool:
    low = value.strip().lower()
    if low in ("true", "1", "yes"):
        return True
    if low in ("false", "0", "no"):
        return False
    raise _Bad(f"{name}={value!r}: use true or false")


def _fields(parts: list[tuple[str, str | None]]) -> dict[str, object]:
    out: dict[str, object] = {}
    for name, value in parts:
        if value is None:  # a flag: reset, or timeout with its default bound
            if name == "reset":
                out["reset"] = True
            else:
                out["timeout"] = DEFAULT_TIMEOUT
            continue
        if name == "http":
            status = _int("http", value, minimum=0)
            if not 400 <= status <= 599:
                raise _Bad(f"http={value!r}: a fault answers with an error status (400-599)")
            out["http"] = status
        elif name == "retry-after":
            _float("retry-after", value)
            out["retry_after"] = value.strip()
        elif name == "should-retry":
            out["should_retry"] = _bool(name, value)
        elif name == "timeout":
            out["timeout"] = _float("timeout", value, positive=True, seconds=True)
        elif name in ("cut", "malformed", "first", "every"):
            out[name] = _int(name, value)
        elif name == "stall":
            out["stall"] = _stall(value)
        elif name == "ttft":
            out["ttft"] = _float(name, value, seconds=True)
        elif name == "tps":
            out["tps"] = _float(name, value, positive=True)
        elif name == "jitter":
            out["jitter"] = _jitter(value.strip())
        elif name == "p":
            p = _float("p", value)
            if p > 1:
                raise _Bad(f"p={value!r} is a probability: between 0 and 1")
            out["p"] = p
        elif name == "seed":
            out["seed"] = _int("seed", value, minimum=-(2**63))
        elif name in ("on", "model"):
            if not value.strip():
                raise _Bad(f"{name}= needs a value")
            out[name] = value.strip()
    return out


def _split(text: str) -> list[tuple[str, str | None]]:
    parts: list[tuple[str, str | None]] = []
    seen: set[str] = set()
    for raw in text.split(","):
        piece = raw.strip()
        if not piece:
            raise _Bad("an empty part (two commas in a row, or a trailing comma)")
        name, sep, value = piece.partition("=")
        name = name.strip().lower()
        if name not in _KNOWN:
            raise _Bad(f"unknown part {piece!r}")
        if name in seen:
            raise _Bad(f"{name} is given twice")
        seen.add(name)
        if not sep and name not in _FLAGS:
            raise _Bad(f"{name} needs a value ({name}=...)")
        if sep and name == "reset":
            raise _Bad(f"{piece!r}: reset takes no value")
        parts.append((name, value if sep else None))
    return parts


def _check(fault: Fault, names: set[str]) -> None:
    answers = [n for n in _ANSWERS if n in names]
    if len(answers) > 1:
        raise _Bad(f"{' and '.join(answers)} are two answers; give each its own spec (';')")
    shaping = [n for n in _SHAPING if n in names and not (n == "ttft" and answers)]
    if answers and shaping:
        raise _Bad(
            f"{answers[0]} answers instead of the real response, so {', '.join(shaping)} has "
            f"nothing to shape; give it its own spec (';')"
        )
    if "timeout" in names and "ttft" in names:
        raise _Bad("timeout never answers, so ttft has nothing to delay")
    if not answers and not shaping:
        raise _Bad("it says when, but not what goes wrong (http=, reset, timeout, cut=, ...)")
    options = [n for n in _HTTP_OPTIONS if n in names]
    if options and fault.http is None:
        raise _Bad(f"{options[0]} only goes with http=STATUS")
    if "seed" in names and fault.p is None and fault.jitter is None:
        raise _Bad("seed= seeds p= and jitter=; this spec has neither")
    if fault.first is not None and fault.every is not None:
        raise _Bad("first= and every= together are ambiguous; give one")


def parse_fault(text: str) -> Fault:
    """One spec (no ';'), e.g. ``http=429,retry-after=1,first=2``."""
    source = text.strip()
    try:
        if not source:
            raise _Bad("it is empty")
        parts = _split(source)
        fields = _fields(parts)
        canonical = ",".join(n if v is None else f"{n}={v.strip()}" for n, v in parts)
        fault = Fault(text=canonical, parts=tuple(n for n, _ in parts), **fields)  # type: ignore[arg-type]
        _check(fault, {n for n, _ in parts})
    except _Bad as exc:
        raise FaultSpecError(f"fault spec {source!r}: {exc}.\n{GRAMMAR}") from None
    return fault


def parse_faults(value: FaultsLike) -> tuple[Fault, ...]:
    """Every spec in ``value``: a string (specs joined by ';'), or a list of them."""
    if value is None:
        return ()
    texts = [value] if isinstance(value, str) else list(value)
    faults: list[Fault] = []
    for text in texts:
        if not isinstance(text, str):
            raise FaultSpecError(
                f"faults={value!r}: give a spec string (or a list of them), e.g. "
                f"'http=429,retry-after=1,first=2'.\n{GRAMMAR}"
            )
        for piece in text.split(";"):
            if piece.strip():
                faults.append(parse_fault(piece))
    return tuple(faults)
