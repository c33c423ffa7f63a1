"""What an engine has done so far: hits, misses, recordings, and the files it used."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Stats"]


@dataclass
class Stats:
    hits: int = 0
    misses: int = 0
    recorded: int = 0
    errors: int = 0
    passed_through: int = 0
    used: set[str] = field(default_factory=set)  # files replayed
    written: set[str] = field(default_factory=set)  # files written
    missed: list[str] = field(default_factory=list)  # one line per miss
    stale: list[str] = field(default_factory=list)  # stale recordings replayed (on_stale=warn)

    def as_dict(self) -> dict[str, int]:
        return {
            "hits": self.hits,
            "misses": self.misses,
            "recorded": self.recorded,
            "errors": self.errors,
            "passed_through": self.passed_through,
        }
