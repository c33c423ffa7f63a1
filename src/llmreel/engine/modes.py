"""Recording modes, validated where they enter (arguments, options, environment)."""

from __future__ import annotations

import enum
import os

from llmreel.exceptions import ConfigError

__all__ = ["ENV_DIR", "ENV_MODE", "Mode", "resolve_mode"]

ENV_MODE = "LLMREEL_MODE"
ENV_DIR = "LLMREEL_DIR"


class Mode(enum.StrEnum):
    """What the engine does with a request."""

    LIVE = "live"  # pass through, record nothing
    RECORD = "record"  # always call upstream, overwrite what was recorded
    REPLAY = "replay"  # never touch the network; a miss is an error
    RECORD_IF_MISSING = "record-if-missing"  # replay hits, record misses

    @classmethod
    def parse(cls, value: str | Mode, *, source: str = "mode") -> Mode:
        if isinstance(value, Mode):
            return value
        text = str(value).strip().lower().replace("_", "-")
        aliases = {
            "new-episodes": "record-if-missing",
            "once": "record-if-missing",
            "all": "record",
            "none": "replay",
            "off": "live",
        }
        text = aliases.get(text, text)
        try:
            return cls(text)
        except ValueError:
            choices = ", ".join(m.value for m in cls)
            raise ConfigError(
                f"{source}: unknown mode {value!r}; choose one of {choices}."
            ) from None

    @property
    def may_record(self) -> bool:
        return self in (Mode.RECORD, Mode.RECORD_IF_MISSING)

    @property
    def may_replay(self) -> bool:
        return self in (Mode.REPLAY, Mode.RECORD_IF_MISSING)


def resolve_mode(explicit: str | Mode | None, default: Mode = Mode.REPLAY) -> Mode:
    """The explicit mode if given, else ``$LLMREEL_MODE``, else ``default``."""
    if explicit is not None:
        return Mode.parse(explicit)
    env = os.environ.get(ENV_MODE)
    if env:
        return Mode.parse(env, source=f"${ENV_MODE}")
    return default
