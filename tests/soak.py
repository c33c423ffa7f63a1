"""Bounds for the soak runs (`make soak`): each stops by itself, after a count or a time.

A soak test repeats a round (a kill trial, a batch of Hypothesis examples, a round of
processes) until it has done ``rounds`` of them or ``seconds`` have passed, whichever
comes first, so `make soak` ends in minutes on 2 loaded cores instead of running into
pytest's timeout. The time only decides how much more than ``least`` rounds is done: the
first ``least`` rounds always run, so a soak on a slow machine still does enough to mean
something (and is still bounded, by that count).
"""

from __future__ import annotations

import time
from collections.abc import Iterator


class Rounds:
    """``for i in Rounds(500, seconds=150, least=50): ...``; ``.done`` counts the rounds."""

    def __init__(self, rounds: int, *, seconds: float, least: int) -> None:
        self.rounds, self.seconds, self.least = rounds, seconds, least
        self.done = 0

    def __iter__(self) -> Iterator[int]:
        deadline = time.monotonic() + self.seconds
        while self.done < self.rounds and (self.done < self.least or time.monotonic() < deadline):
            yield self.done
            self.done += 1
