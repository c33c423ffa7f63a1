"""How old a recording may be before replaying it proves too little: ``max_age`` and ``on_stale``.

A recording older than ``max_age`` is *stale*. What happens when one is
replayed is ``on_stale``:

- ``warn`` (default): it is replayed, and the run says which ones were stale
  (a log line, a :class:`~llmreel.exceptions.StaleRecordingWarning` when the
  ``use_cassette`` block or the test ends);
- ``fail``: it is not replayed; the request fails like a miss, saying how old
  the recording is and how to re-record it;
- ``record``: it is recorded again in place (same file, same position) when
  the mode may record (``record-if-missing``; ``record`` re-records everything
  anyway). ``replay`` never touches the network, so there it warns instead.

Durations are written ``90d``, ``12h``, ``2w``, ``30m``, ``45s`` or combined
(``1w2d``); the age of a recording is :func:`~llmreel.formats.age.recorded_time`.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from dataclasses import dataclass
from typing import Literal

from llmreel.exceptions import ConfigError, StaleRecordingError
from llmreel.formats.age import RecordedTime, recorded_time
from llmreel.model.interaction import Interaction, Request

__all__ = [
    "ENV_MAX_AGE",
    "ENV_ON_STALE",
    "ON_STALE",
    "Freshness",
    "OnStale",
    "Staleness",
    "describe_age",
    "format_duration",
    "parse_duration",
    "parse_on_stale",
    "stale_error",
]

ENV_MAX_AGE = "LLMREEL_MAX_AGE"
ENV_ON_STALE = "LLMREEL_ON_STALE"
OnStale = Literal["warn", "fail", "record"]
ON_STALE: tuple[OnStale, ...] = ("warn", "fail", "record")

_UNITS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hr": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
    "w": 604800,
    "week": 604800,
}
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*")
_EXAMPLES = "e.g. 90d (days), 12h (hours), 2w (weeks), 30m (minutes), 45s, or 1w2d"


def parse_duration(value: str | _dt.timedelta, *, source: str = "duration") -> _dt.timedelta:
    """``90d``, ``12h``, ``2w``, ``1w2d``... (or a timedelta) as a timedelta; errors name
    ``source`` and say what is accepted."""
    if isinstance(value, _dt.timedelta):
        if value < _dt.timedelta(0):
            raise ConfigError(f"{source}: {value} is negative; give a duration, {_EXAMPLES}.")
        return value
    if not isinstance(value, str):
        raise ConfigError(
            f"{source}: {value!r} is not a duration; give a string with a unit ({_EXAMPLES}) "
            f"or a datetime.timedelta."
        )
    text = value.strip().lower()
    if not text:
        raise ConfigError(f"{source}: empty duration; {_EXAMPLES}.")
    if re.fullmatch(r"[+-]?\d+(\.\d+)?", text):
        raise ConfigError(f"{source}: {value!r} needs a unit, {_EXAMPLES}.")
    if text.startswith("-"):
        raise ConfigError(f"{source}: {value!r} is negative; {_EXAMPLES}.")
    seconds = 0.0
    pos = 0
    while pos < len(text):
        m = _PART.match(text, pos)
        if m is None:
            raise ConfigError(f"{source}: {value!r} is not a duration; {_EXAMPLES}.")
        unit = m.group(2)
        factor = _UNITS.get(unit) or _UNITS.get(unit.removesuffix("s"))
        if factor is None:
            hint = " (months and years vary in length: use days)" if unit[0] in "my" else ""
            raise ConfigError(
                f"{source}: unknown unit {unit!r} in {value!r}{hint}; use s, m, h, d or w, "
                f"{_EXAMPLES}."
            )
        seconds += float(m.group(1)) * factor
        pos = m.end()
    return _dt.timedelta(seconds=seconds)


def format_duration(delta: _dt.timedelta) -> str:
    """A duration the way :func:`parse_duration` reads it back (``90d``, ``12h``, ``2d3h``)."""
    total = int(delta.total_seconds())
    if total == 0:
        return "0s"
    for unit, size in (("w", 604800), ("d", 86400)):
        if total % size == 0:
            return f"{total // size}{unit}"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        n, total = divmod(total, size)
        if n:
            parts.append(f"{n}{unit}")
    return "".join(parts)


def describe_age(delta: _dt.timedelta) -> str:
    """An age as a person says it: ``123 days``, ``5 hours``, ``12 minutes``."""
    seconds = max(0, int(delta.total_seconds()))
    for name, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {name}{'s' if n != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


@dataclass(frozen=True, slots=True)
class Staleness:
    """A recording found older than ``max_age``."""

    file: str
    recorded: RecordedTime
    age: _dt.timedelta
    max_age: _dt.timedelta

    def describe(self) -> str:
        when = self.recorded.when.isoformat(timespec="seconds")
        how = {
            "recorded_at": "recorded",
            "created": "answered (its 'created' time)",
            "mtime": "last modified",
        }[self.recorded.source]
        return (
            f"{self.file} was {how} {when}, {describe_age(self.age)} ago: older than "
            f"max_age {format_duration(self.max_age)}"
        )


@dataclass(frozen=True, slots=True)
class Freshness:
    """The ``max_age`` / ``on_stale`` policy of an engine."""

    max_age: _dt.timedelta
    on_stale: OnStale = "warn"

    @classmethod
    def build(
        cls,
        max_age: str | _dt.timedelta | None,
        on_stale: str | None = None,
        *,
        source: str = "max_age",
    ) -> Freshness | None:
        """The policy from user input (None: no max_age); ``$LLMREEL_MAX_AGE`` and
        ``$LLMREEL_ON_STALE`` fill what is not given."""
        if max_age is None:
            env = os.environ.get(ENV_MAX_AGE, "").strip()
            if not env:
                return None
            max_age, source = env, f"${ENV_MAX_AGE}"
        if on_stale is None:
            on_stale = os.environ.get(ENV_ON_STALE, "").strip() or "warn"
        return cls(parse_duration(max_age, source=source), parse_on_stale(on_stale))

    def check(self, inter: Interaction, now: _dt.datetime | None = None) -> Staleness | None:
        """The recording's staleness, or None when it is fresh (or says nothing of its age)."""
        recorded = recorded_time(inter)
        if recorded is None:
            return None
        age = recorded.age(now)
        if age <= self.max_age:
            return None
        name = os.path.basename(inter.path) if inter.path else "a recording"
        return Staleness(name, recorded, age, self.max_age)

    def action(self, inter: Interaction, mode: str) -> tuple[OnStale, str]:
        """What an engine in ``mode`` does with a stale ``inter``, and, when ``record`` had
        to fall back to ``warn``, why (to append to the warning)."""
        if self.on_stale != "record":
            return self.on_stale, ""
        if inter.source != "llmreel":
            why = f"{inter.source} recordings are read-only for llmreel"
        elif mode != "record-if-missing":
            why = f"mode {mode} never records"
        else:
            return "record", ""
        return "warn", f" (on_stale=record: not re-recorded, {why})"


def parse_on_stale(value: str, *, source: str = "on_stale") -> OnStale:
    text = str(value).strip().lower()
    for choice in ON_STALE:
        if text == choice:
            return choice
    raise ConfigError(
        f"{source}: {value!r} is not one of warn (replay and say so), fail (refuse to "
        f"replay it) or record (re-record it where the mode may record)."
    )


def stale_error(
    stale: Staleness, request: Request, key: str, location: str, hint: str | None
) -> StaleRecordingError:
    """The error of ``on_stale='fail'``: which recording, how old, how to re-record it."""
    how = hint or (
        f"`llmreel rerecord {location} --upstream URL --stale {format_duration(stale.max_age)}`"
        f", or mode record-if-missing with on_stale='record'"
    )
    return StaleRecordingError(
        f"stale recording: {request.method} {request.path} (model {request.model or '-'}) "
        f"matches {stale.describe()}, and on_stale is 'fail', so it was not replayed "
        f"(cassette {location}).\n"
        f"Re-record it with {how}; or allow older recordings with a larger max_age.",
        key=key,
        cassette=str(location),
    )
