"""What the plugin keeps per test: the engine that remembers misses, and what each test did.

:class:`TestUsage` is JSON-able so pytest-xdist workers can send it to the
controller, which merges them into one summary and one usage record per cassette.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from llmreel.engine import Engine, Journal, Stats
from llmreel.engine.freshness import Staleness
from llmreel.exceptions import ReplayMissError, StaleRecordingError
from llmreel.intercept.guard import NetworkGuard
from llmreel.model.interaction import Interaction

__all__ = ["Running", "TestEngine", "TestUsage", "Tracked"]


class TestEngine(Engine):
    """An engine that keeps every miss's full explanation (Stats keeps only first lines)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.miss_messages: list[str] = []
        self.writer_test_id: str | None = None

    def build_interaction(self, request: Any, key: str, response: Any) -> Interaction:
        inter = super().build_interaction(request, key, response)
        inter.test_id = self.writer_test_id or inter.test_id
        return inter

    def explain_miss(self, request: Any, key: str, n: int, count: int) -> ReplayMissError:
        error = super().explain_miss(request, key, n, count)
        with self._lock:
            self.miss_messages.append(str(error))
        return error

    def stale_error(self, stale: Staleness, request: Any, key: str) -> StaleRecordingError:
        error = super().stale_error(stale, request, key)
        with self._lock:
            self.miss_messages.append(str(error))
        return error


class Tracked(Protocol):
    """What the plugin reads from a test's engine: its counts, its misses' explanations and
    its journal (a :class:`TestEngine`, or the engine of a vcrpy cassette)."""

    stats: Stats
    miss_messages: list[str]
    journal: Journal


@dataclass
class TestUsage:
    """What one test did with its cassette; JSON-able so xdist workers can send it."""

    nodeid: str
    cassette: str
    scope: str
    owned: bool
    mode: str
    server: bool = False
    hits: int = 0
    recorded: int = 0
    misses: int = 0
    missed: list[str] = field(default_factory=list)  # full explanations
    escapes: list[str] = field(default_factory=list)  # host:port the guard refused
    used: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    outcome: str = "passed"
    faults: int = 0  # requests that had a fault applied (in-process; the server journals its own)


@dataclass
class Running:
    """A test whose cassette is active right now."""

    usage: TestUsage
    engine: Tracked | None
    guard: NetworkGuard | None
    hint: str
    reported_misses: int = 0
    reported_escapes: int = 0
    base_hits: int = 0
    base_recorded: int = 0
    base_misses: int = 0
    base_messages: int = 0
    base_faults: int = 0
