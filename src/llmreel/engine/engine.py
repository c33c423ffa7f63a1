"""The engine: mode + store + matcher. It decides, for each request, replay or forward-and-tee.

Adapters (httpx/httpx2 transports, the ASGI proxy, the pytest plugin) build a
:class:`~llmreel.model.interaction.Request`, ask :meth:`Engine.decide`, and then
either render the recorded :class:`~llmreel.model.interaction.Response` or forward
the request upstream while feeding every chunk to a :class:`Recorder`.
"""

from __future__ import annotations

import datetime as _dt
import logging
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePath
from typing import Literal, Protocol

from llmreel.engine.faults.schedule import AppliedFault, FaultPicker
from llmreel.engine.faults.spec import FaultsLike
from llmreel.engine.freshness import Freshness, Staleness, stale_error
from llmreel.engine.journal import Journal, PendingEntry
from llmreel.engine.misses import explain_miss
from llmreel.engine.modes import Mode
from llmreel.engine.pacing import parse_pace
from llmreel.engine.recorder import Recorder
from llmreel.engine.stats import Stats
from llmreel.exceptions import (
    ConfigError,
    ReplayMissError,
    SecretLeakError,
    StaleRecordingError,
)
from llmreel.matching import Matcher
from llmreel.model.interaction import Interaction, Request, Response
from llmreel.redaction import SecretScanner, redact_headers
from llmreel.redaction.stored import stored_request
from llmreel.store import Cassette, Entry
from llmreel.store.cassette import StaleEntryError

__all__ = ["Decider", "Decision", "Deferred", "Engine", "Exhausted"]

Exhausted = Literal["error", "repeat"]

log = logging.getLogger("llmreel")


class _WouldBlock(Exception):
    """decide_nowait: deciding needs file or network I/O (nothing was changed)."""


@dataclass(slots=True)
class Decision:
    """What to do with one request.

    ``entry`` is the request's journal entry: the adapter finishes it when the answer
    has gone out (a recorder finishes its own when it writes). ``fault`` is the fault
    this request gets: with ``action="fault"`` it answers instead of the cassette and
    the upstream (see :mod:`llmreel.engine.faults`); otherwise it shapes the answer.
    """

    action: Literal["replay", "record", "live", "fault"]
    interaction: Interaction | None = None
    recorder: Recorder | None = None
    pace: float | None = None
    entry: PendingEntry | None = None
    fault: AppliedFault | None = None


@dataclass(slots=True)
class Deferred:
    """A decision :meth:`Engine.decide_nowait` could not take from memory: finish it with
    :meth:`Engine.decide_deferred` in a worker thread (its fault is already picked)."""

    request: Request
    entry: PendingEntry
    fault: AppliedFault | None


class Decider(Protocol):
    """What the in-process adapters ask about each request: an :class:`Engine`, or the engine
    of another kind of store (the pytest plugin's vcrpy cassettes)."""

    journal: Journal

    def decide(
        self, request: Request, entry: PendingEntry | None = None, *, fault: str | None = None
    ) -> Decision: ...

    def decide_nowait(
        self, request: Request, entry: PendingEntry, *, fault: str | None = None
    ) -> Decision | Deferred: ...

    def decide_deferred(self, deferred: Deferred) -> Decision: ...


class Engine:
    """Matches requests against one cassette according to a mode."""

    def __init__(
        self,
        cassette: Cassette,
        mode: Mode | str = Mode.REPLAY,
        *,
        on_exhausted: Exhausted = "error",
        pace: str | float | None = None,
        allow_secrets: Iterable[str] = (),
        test_id: str | None = None,
        record_hint: str | None = None,
        journal: Journal | None = None,
        faults: FaultsLike = None,
        freshness: Freshness | None = None,
    ) -> None:
        self.cassette = cassette
        self.mode = Mode.parse(mode)
        if on_exhausted not in ("error", "repeat"):
            raise ConfigError(
                f"on_exhausted {on_exhausted!r}: use 'error' (default) or 'repeat' (replay the "
                f"last recording again)."
            )
        self.on_exhausted: Exhausted = on_exhausted
        self.pace = parse_pace(pace)
        self.scanner = SecretScanner(allow_secrets)
        self.test_id = test_id
        self.record_hint = record_hint
        self.stats = Stats()
        self.journal = journal if journal is not None else Journal(str(cassette.root))
        self.faults = FaultPicker(faults)
        self.freshness = freshness
        self.stale_hint: str | None = None  # how to re-record a stale one (pytest: its command)
        self._stale_seen: set[str] = set()
        self._counters: Counter[str] = Counter()
        # Positions this engine wrote, per key: while recording what is missing, an answer
        # already given to one call of this run is never replayed to another one.
        self._mine: dict[str, set[int]] = {}
        self._lock = threading.Lock()

    @property
    def matcher(self) -> Matcher:
        return self.cassette.matcher

    # ------------------------------------------------------------------ deciding

    def _next_position(self, key: str) -> int:
        with self._lock:
            n = self._counters[key]
            self._counters[key] = n + 1
            return n

    def _entry_at(self, key: str, n: int, request: Request) -> tuple[Entry | None, int]:
        seq = self.cassette.sequence(key)
        if not seq:
            seq = self.cassette.any_body_sequence(self.matcher.path_key(request))
        if self.test_id is not None and len(seq) > 1:
            # llama-stack keeps one file per (request, test): the test id picks among them.
            mine = [e for e in seq if e.test_id == self.test_id]
            if mine:
                seq = mine
        if self.mode is Mode.RECORD_IF_MISSING and len({e.pos for e in seq}) == len(seq):
            # While recording, concurrent writers fill positions out of order: the Nth call
            # must get position N (or record it), not the Nth file that exists so far. A
            # position this engine claimed for an earlier call (another writer held that
            # call's own) is that call's answer, not this one's: record afresh.
            claimed = self._mine.get(key, set())
            entry = next((e for e in seq if e.pos == n and e.pos not in claimed), None)
            return entry, len(seq)
        # Replaying, the files' order is the sequence: a gap left by a recorder that was
        # killed before it wrote is skipped. llama-stack files have no positions at all.
        return (seq[n] if n < len(seq) else None), len(seq)

    def _last_entry(self, key: str, request: Request) -> Entry | None:
        seq = self.cassette.sequence(key) or self.cassette.any_body_sequence(
            self.matcher.path_key(request)
        )
        if self.test_id is not None:
            seq = [e for e in seq if e.test_id == self.test_id] or seq
        return seq[-1] if seq else None

    def decide(
        self, request: Request, entry: PendingEntry | None = None, *, fault: str | None = None
    ) -> Decision:
        """Replay, record or pass through; a miss raises :class:`ReplayMissError`.

        Every call has a journal entry (``entry``, or one opened here): a miss or an error
        is finished here, any other decision carries its entry for the adapter (or the
        recorder) to finish. ``fault`` is the request's ``X-Llmreel-Fault`` value when the
        adapter took it off the request (else it is read from ``request.headers``); a fault
        that answers is decided before the cassette is asked (no position is used).
        """
        if entry is None:
            entry = self.journal.begin(request)
        applied = self._fault(request, entry, fault)
        if applied is not None and applied.answers:
            return Decision("fault", entry=entry, fault=applied)
        decision = self._decided(request, entry, applied, wait=True)
        assert decision is not None
        return decision

    def decide_nowait(
        self, request: Request, entry: PendingEntry, *, fault: str | None = None
    ) -> Decision | Deferred:
        """:meth:`decide` when the answer is in memory, else a :class:`Deferred`.

        For async adapters: a fault, a hit whose recording is loaded, a record or live
        decision are decided here without touching a file; anything else (a lookup that
        must re-read the directory, a recording not loaded yet, explaining a miss, a
        remote store) comes back deferred, having changed nothing but picking the fault,
        and the adapter finishes it with :meth:`decide_deferred` in a worker thread.
        """
        applied = self._fault(request, entry, fault)
        if applied is not None and applied.answers:
            return Decision("fault", entry=entry, fault=applied)
        if self.cassette.in_memory_lookups:
            decision = self._decided(request, entry, applied, wait=False)
            if decision is not None:
                return decision
        return Deferred(request, entry, applied)

    def decide_deferred(self, deferred: Deferred) -> Decision:
        """Finish a :meth:`decide_nowait` that needed I/O (call it off the event loop)."""
        decision = self._decided(deferred.request, deferred.entry, deferred.fault, wait=True)
        assert decision is not None
        return decision

    def _fault(
        self, request: Request, entry: PendingEntry, fault: str | None
    ) -> AppliedFault | None:
        applied = self.faults.pick(request, fault)
        if applied is not None:
            entry.fault = applied.text
        return applied

    def _decided(
        self, request: Request, entry: PendingEntry, applied: AppliedFault | None, *, wait: bool
    ) -> Decision | None:
        try:
            decision = self._decide(request, entry, wait=wait)
        except _WouldBlock:
            return None
        except ReplayMissError as exc:
            entry.key = exc.key or entry.key
            entry.finish("miss", 404, note=str(exc), miss=str(exc))
            raise
        except Exception as exc:
            status = 400 if isinstance(exc, SecretLeakError) else 500
            entry.finish("error", status, note=f"{type(exc).__name__}: {exc}")
            raise
        decision.entry = entry
        decision.fault = applied
        if decision.recorder is not None:
            decision.recorder.journal_entry = entry
        inter = decision.interaction
        if inter is not None and inter.path:
            entry.file = PurePath(inter.path).name
        return decision

    def _give_back(self, key: str) -> None:
        """Nothing was consumed at this position: the next ask for ``key`` gets it again."""
        with self._lock:
            self._counters[key] -= 1

    def _decide(self, request: Request, journal_entry: PendingEntry, *, wait: bool) -> Decision:
        if self.mode is Mode.LIVE:
            with self._lock:
                self.stats.passed_through += 1
            return Decision("live")
        key = self.matcher.key(request)
        journal_entry.key = key
        n = self._next_position(key)
        if self.mode is Mode.RECORD:
            return self._record(request, key, n, overwrite=True)
        entry, count = self._entry_at(key, n, request)
        if entry is None and not wait:
            self._give_back(key)
            raise _WouldBlock
        if entry is None:
            # Someone (another process, thread, or a hand edit) may have written since.
            self.cassette.refresh()
            entry, count = self._entry_at(key, n, request)
        if entry is None and self.mode is Mode.RECORD_IF_MISSING:
            return self._record(request, key, n, overwrite=False)
        if entry is None and count and self.on_exhausted == "repeat" and n >= count:
            entry = self._last_entry(key, request)
        if entry is None:
            with self._lock:
                self.stats.misses += 1
                # Nothing was consumed: a retry of the same call asks for the same position.
                self._counters[key] -= 1
            error = self.explain_miss(request, key, n, count)
            with self._lock:
                self.stats.missed.append(str(error).splitlines()[0])
            raise error
        cached = None if wait else self.cassette.cached(entry)
        if cached is not None:
            inter = cached
        elif not wait:
            self._give_back(key)
            raise _WouldBlock
        else:
            try:
                inter = self.cassette.load(entry)
            except StaleEntryError:
                # The file changed under us; the cassette re-read the directory: ask again.
                self._give_back(key)
                return self._decide(request, journal_entry, wait=True)
        if self.freshness is not None:
            stale = self.freshness.check(inter)
            if stale is not None and not wait:
                self._give_back(key)  # warning, failing or re-recording: not on a loop
                raise _WouldBlock
            if stale is not None and self._stale(stale, inter, request, key):
                # Same position, overwritten: the file keeps its name and place in the sequence.
                return self._record(request, key, entry.pos, overwrite=True)
        with self._lock:
            self.stats.hits += 1
            self.stats.used.add(entry.name)
            if inter.response.transport_failure:
                # The client will retry a failed connection as the live one did: each retry
                # must meet the same failure, not the next recording.
                self._counters[key] -= 1
        return Decision("replay", interaction=inter, pace=self.pace)

    def _record(self, request: Request, key: str, n: int, *, overwrite: bool) -> Decision:
        # A request that could never be written is refused before it costs an upstream call.
        found = self.scanner.scan_request(self.stored_request(request))
        if found is not None:
            with self._lock:
                self._counters[key] -= 1
                self.stats.errors += 1
            raise SecretLeakError(found.where, found.kind, self.cassette.location)
        return Decision("record", recorder=Recorder(self, request, key, n, overwrite=overwrite))

    # ------------------------------------------------------------------ freshness

    def _stale(self, stale: Staleness, inter: Interaction, request: Request, key: str) -> bool:
        """Act on a stale recording: True to re-record it; raises for ``on_stale='fail'``."""
        assert self.freshness is not None
        action, why = self.freshness.action(inter, self.mode.value)
        if action == "fail":
            with self._lock:
                self.stats.misses += 1
                self._counters[key] -= 1  # nothing was consumed, as for a miss
            error = self.stale_error(stale, request, key)
            with self._lock:
                self.stats.missed.append(str(error).splitlines()[0])
            raise error
        if action == "record":
            return True
        with self._lock:
            if stale.file in self._stale_seen:
                return False
            self._stale_seen.add(stale.file)
            self.stats.stale.append(stale.describe() + why)
        log.warning("llmreel: stale recording replayed: %s%s", stale.describe(), why)
        return False

    def stale_error(self, stale: Staleness, request: Request, key: str) -> StaleRecordingError:
        return stale_error(stale, request, key, self.cassette.location, self.stale_hint)

    # ------------------------------------------------------------------ misses

    def explain_miss(self, request: Request, key: str, n: int, count: int) -> ReplayMissError:
        return explain_miss(self.cassette, request, key, n, count, self.record_hint)

    # ------------------------------------------------------------------ writing

    def build_interaction(self, request: Request, key: str, response: Response) -> Interaction:
        """The interaction as it will be written: credentials removed, secrets refused."""
        stored = self.stored_request(request)
        resp = Response(
            status=response.status,
            headers=redact_headers(response.headers.items()),
            body=response.body,
            text=response.text,
            content=response.content,
            stream=response.stream,
            events=response.events,
            complete=response.complete,
            error=response.error,
        )
        inter = Interaction(
            request=stored,
            response=resp,
            key=key,
            recorded_at=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            normalizers=self.matcher.specs,
            rules=self.matcher.rule_ids,
            test_id=self.test_id,
        )
        self._scan_secrets(inter)
        return inter

    def stored_request(self, request: Request) -> Request:
        """The request as it will be written: credential headers, query values, rules applied."""
        return stored_request(request, self.matcher)

    def _scan_secrets(self, inter: Interaction) -> None:
        found = self.scanner.scan_interaction(inter)
        if found is not None:
            raise SecretLeakError(found.where, found.kind, self.cassette.location)

    def count_error(self) -> None:
        with self._lock:
            self.stats.errors += 1

    def commit(self, inter: Interaction, position: int, *, overwrite: bool) -> Entry:
        entry = self.cassette.write(inter, position, overwrite=overwrite)
        with self._lock:
            if entry.pos != position:
                self._mine.setdefault(entry.key, set()).add(entry.pos)
            self.stats.recorded += 1
            self.stats.written.add(entry.name)
            self.stats.used.add(entry.name)
        return entry
