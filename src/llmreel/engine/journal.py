"""The journal: what happened to each request (recording matched, fault applied, outcome, timings).

One journal per engine. :meth:`Journal.begin` opens a :class:`PendingEntry` when a
request arrives; whoever answers it finishes the entry once (the first finish
wins, later ones are ignored), and only then does it join the journal, with the
next sequence number, so ``since=SEQ`` reads never miss an entry. Entries keep
the same field names in process (``cassette.journal``) and on the server
(``GET /_llmreel/journal``).

Thread-safe: requests finish on any thread (transports, the server's worker
threads). A bounded number of entries is kept (the oldest are dropped first);
the counters (requests, faults) count every entry ever added.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from llmreel.model.interaction import Request

__all__ = ["DEFAULT_KEPT", "Journal", "JournalEntry", "JournalLog", "PendingEntry"]

DEFAULT_KEPT = 10_000

Listener = Callable[["JournalEntry"], None]


def _now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One request, finished.

    ``outcome`` is one of ``hit``, ``recorded``, ``miss``, ``live``, ``fault`` (an
    injected fault answered instead of the recording or the upstream), ``error``,
    ``synthesized``, ``client-left``, ``record-failed``. ``fault`` is the spec text
    of a fault applied to this request (also when it only shaped the stream, in which
    case ``outcome`` still says where the answer came from); ``miss`` is a miss's full
    explanation (closest recordings and body diff).
    """

    seq: int
    time: str  # ISO 8601, UTC, when the request arrived
    cassette: str
    method: str
    path: str
    model: str | None
    outcome: str
    status: int
    duration_ms: float
    fault: str | None = None
    file: str | None = None
    key: str | None = None
    note: str | None = None
    miss: str | None = None
    events: int | None = None  # stream events sent to the client
    first_event_ms: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class PendingEntry:
    """A request being answered; the adapter (or the recorder) fills it in and finishes it."""

    def __init__(self, journal: Journal, method: str, path: str, model: str | None) -> None:
        self.journal = journal
        self.method = method
        self.path = path
        self.model = model or None
        self.time = _now_iso()
        self.started = time.perf_counter()
        self.key: str | None = None
        self.fault: str | None = None
        self.file: str | None = None
        self.first_event_ms: float | None = None
        self.done = False

    def first_event(self) -> None:
        """Call when the first stream event goes to the client."""
        if self.first_event_ms is None:
            self.first_event_ms = round((time.perf_counter() - self.started) * 1000, 1)

    def finish(
        self,
        outcome: str,
        status: int,
        *,
        file: str | None = None,
        note: str | None = None,
        miss: str | None = None,
        events: int | None = None,
        duration_ms: float | None = None,
    ) -> JournalEntry | None:
        """Add the entry to the journal (once; a second call returns None)."""
        return self.journal._finish(
            self,
            outcome=outcome,
            status=status,
            file=file or self.file,
            note=note.splitlines()[0][:300] if note else None,
            miss=miss,
            events=events,
            duration_ms=duration_ms,
        )


class JournalLog:
    """Entries in sequence order, numbered as they are added: one journal's, or a server's.

    Several journals may add to one log (the server keeps one per process, across its
    cassettes): numbering and appending happen under one lock, so the order of ``seq``
    is the order of the log and a reader asking ``since=SEQ`` never misses an entry.
    Listeners are called after each addition, outside the lock, from the adding thread.
    """

    def __init__(self, keep: int = DEFAULT_KEPT) -> None:
        self._entries: deque[JournalEntry] = deque(maxlen=keep)
        self._next = itertools.count(1)
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self.total = 0
        self.faults = 0  # entries with a fault applied, ever

    def add(self, make: Callable[[int], JournalEntry]) -> JournalEntry:
        with self._lock:
            entry = make(next(self._next))
            self._entries.append(entry)
            self.total += 1
            if entry.fault is not None:
                self.faults += 1
            listeners = list(self._listeners)
        for listener in listeners:
            listener(entry)
        return entry

    def subscribe(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def entries(self, since: int = 0, cassette: str | None = None) -> list[JournalEntry]:
        """A snapshot: the entries kept with ``seq > since`` (of one cassette if given)."""
        with self._lock:
            return [
                e
                for e in self._entries
                if e.seq > since and (cassette is None or e.cassette == cassette)
            ]

    @property
    def last_seq(self) -> int:
        with self._lock:
            return self._entries[-1].seq if self._entries else 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


class Journal:
    """The finished requests of one engine, in the order they finished.

    ``shared`` is a log that also receives every entry (the server's, across its
    cassettes); the sequence numbers are then the shared log's.
    """

    def __init__(
        self, cassette: str, *, shared: JournalLog | None = None, keep: int = DEFAULT_KEPT
    ) -> None:
        self.cassette = cassette
        self._shared = shared
        self._own = JournalLog(keep)
        self._pending: set[PendingEntry] = set()
        self._lock = threading.Lock()

    @property
    def total(self) -> int:
        return self._own.total

    @property
    def faults(self) -> int:
        return self._own.faults

    def begin(self, request: Request) -> PendingEntry:
        return self.begin_raw(request.method, request.path, request.model)

    def begin_raw(self, method: str, path: str, model: str | None = None) -> PendingEntry:
        """An entry for a request (also one that never reaches the engine: server refusals)."""
        pending = PendingEntry(self, method, path, model)
        with self._lock:
            self._pending.add(pending)
        return pending

    def _finish(self, p: PendingEntry, **fields: Any) -> JournalEntry | None:
        duration = fields.pop("duration_ms")
        if duration is None:
            duration = round((time.perf_counter() - p.started) * 1000, 1)
        with self._lock:
            if p.done:
                return None
            p.done = True
            self._pending.discard(p)

        def make(seq: int) -> JournalEntry:
            return JournalEntry(
                seq=seq,
                time=p.time,
                cassette=self.cassette,
                method=p.method,
                path=p.path,
                model=p.model,
                duration_ms=duration,
                fault=p.fault,
                key=p.key,
                first_event_ms=p.first_event_ms,
                **fields,
            )

        if self._shared is None:
            return self._own.add(make)
        entry = self._shared.add(make)
        self._own.add(lambda _seq: entry)
        return entry

    def finish_pending(self, note: str = "the response was never read to its end") -> None:
        """Finish entries still open (a stream nobody consumed) when the cassette ends."""
        with self._lock:
            pending = list(self._pending)
        for p in pending:
            p.finish("client-left", 0, note=note)

    def entries(self, since: int = 0) -> list[JournalEntry]:
        """A snapshot of the entries kept, those with ``seq > since`` only if given."""
        return self._own.entries(since)

    def __iter__(self) -> Iterator[JournalEntry]:
        return iter(self.entries())

    def __len__(self) -> int:
        return len(self._own)

    def __getitem__(self, index: int) -> JournalEntry:
        return self.entries()[index]

    def __repr__(self) -> str:
        return f"<journal {self.cassette}: {self.total} request(s), {self.faults} fault(s)>"
