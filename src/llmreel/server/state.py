"""The server's cassettes: one engine per cassette name, and live counters for each.

A request picks its cassette with the ``X-Llmreel-Cassette`` header (a name
under ``--dir``); without it the ``--dir`` itself is the cassette. Engines are
made on first use and kept, so sequence positions (the n-th identical request
gets the n-th recording) hold across all connections to one server.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.to_thread

from llmreel.engine import Engine, Journal, JournalLog, Recorder
from llmreel.matching import Matcher
from llmreel.server.config import ServerConfig
from llmreel.store import child_location, open_cassette, validate_cassette_name

__all__ = ["ROOT_NAME", "CassetteState", "Registry"]

# How the --dir cassette itself is named in counters and logs (not a valid cassette name,
# so it cannot collide with one).
ROOT_NAME = "."
_MISSED_KEPT = 20


@dataclass
class CassetteState:
    """One cassette's engine and the server-side counters that the engine does not keep."""

    name: str
    engine: Engine
    requests: int = 0
    in_flight: int = 0
    # Failures the engine never sees: upstream down or cut, rejected requests, write errors
    # are counted by the engine itself.
    server_errors: int = 0
    synthesized: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def bump(self, counter: str, by: int = 1) -> None:
        with self._lock:
            setattr(self, counter, getattr(self, counter) + by)

    def counters(self) -> dict[str, Any]:
        stats = self.engine.stats
        with self.engine._lock:  # the engine updates its stats under this lock
            out: dict[str, Any] = stats.as_dict()
            missed = list(stats.missed[-_MISSED_KEPT:])
        with self._lock:
            out["errors"] += self.server_errors
            out["requests"] = self.requests
            out["in_flight"] = self.in_flight
            out["synthesized"] = self.synthesized
        out["faults"] = self.engine.journal.faults  # requests that had a fault applied
        out["path"] = self.engine.cassette.location
        out["missed"] = missed
        return out


class Registry:
    """Engines by cassette name, created on first use (file scanning runs off the event loop)."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self._states: dict[str, CassetteState] = {}
        self._lock = anyio.Lock()
        # Recorders whose response is still streaming: written as incomplete if the server
        # stops before they end.
        self.active: set[Recorder] = set()
        # Every cassette's journal adds to this one log (GET /_llmreel/journal reads it);
        # requests refused before a cassette was chosen go to `unrouted`.
        self.log = JournalLog()
        self.unrouted = Journal("-", shared=self.log)

    @staticmethod
    def resolve_name(header: str | None) -> str:
        """The cassette name a header value selects; raises InvalidCassetteNameError."""
        if header is None or not header.strip():
            return ROOT_NAME
        return validate_cassette_name(header)

    def _make(self, name: str) -> CassetteState:
        cfg = self.config
        root = cfg.dir if name == ROOT_NAME else child_location(cfg.dir, name)
        cassette = open_cassette(root, Matcher(cfg.normalizers, canonical_off=cfg.canonical_off))
        engine = Engine(
            cassette,
            cfg.mode,
            on_exhausted=cfg.on_exhausted,
            pace=cfg.pace,
            allow_secrets=cfg.allow_secrets,
            record_hint=(
                "`llmreel serve --mode record-if-missing --upstream URL` "
                "(or LLMREEL_MODE=record-if-missing in-process)"
            ),
            journal=Journal(name, shared=self.log),
            faults=cfg.faults,
            freshness=cfg.freshness,
        )
        return CassetteState(name, engine)

    async def get(self, name: str) -> CassetteState:
        state = self._states.get(name)
        if state is not None:
            return state
        async with self._lock:
            state = self._states.get(name)
            if state is None:
                state = await anyio.to_thread.run_sync(self._make, name)
                self._states[name] = state
            return state

    def states(self) -> list[CassetteState]:
        return [self._states[k] for k in sorted(self._states)]

    def get_existing(self, name: str) -> CassetteState | None:
        return self._states.get(name)

    def forget(self, name: str | None) -> list[str]:
        """Drop one cassette's engine (or all): positions and counters start over."""
        names = sorted(self._states) if name is None else [name] if name in self._states else []
        for n in names:
            # Not closed here: a request still in flight may be using it.
            self._states.pop(n)
        return names

    def close(self) -> None:
        for state in self._states.values():
            state.engine.cassette.close()
