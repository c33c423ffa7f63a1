"""Replay pacing: as fast as possible, at the recorded timing, or at a factor of it."""

from __future__ import annotations

from llmreel.exceptions import ConfigError

__all__ = ["parse_pace"]


def parse_pace(pace: str | float | None) -> float | None:
    """``None``/'fast' -> as fast as possible; 'recorded' -> 1.0; a number -> that factor."""
    if pace is None:
        return None
    if isinstance(pace, int | float):
        factor = float(pace)
    else:
        text = pace.strip().lower()
        if text in ("", "fast", "none", "0"):
            return None
        if text in ("recorded", "real", "realtime"):
            return 1.0
        try:
            factor = float(text.rstrip("x"))
        except ValueError:
            raise ConfigError(
                f"pace {pace!r}: use 'fast', 'recorded', or a factor like 0.5 or 2."
            ) from None
    if factor < 0:
        raise ConfigError(f"pace {pace!r}: the factor must not be negative.")
    return factor or None
