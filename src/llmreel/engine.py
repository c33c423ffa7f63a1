"""The engine: mode + store + matcher. It decides, for each request, replay or forward-and-tee.

Adapters (httpx/httpx2 transports, the ASGI proxy, the pytest plugin) build a
:class:`~llmreel.interaction.Request`, ask :meth:`Engine.decide`, and then
either render the recorded :class:`~llmreel.interaction.Response` or forward
the request upstream while feeding every chunk to a :class:`Recorder`.
"""

from __future__ import annotations

import datetime as _dt
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from llmreel.exceptions import ConfigError, ReplayMissError, SecretLeakError, SequenceExhaustedError
from llmreel.interaction import Interaction, Request, Response
from llmreel.matching import Matcher, body_diff, similarity
from llmreel.modes import Mode
from llmreel.redaction import SecretScanner, redact_headers, redact_query, redact_url
from llmreel.store import Cassette, Entry
from llmreel.store.cassette import StaleEntryError
from llmreel.streams import StreamParser, make_parser, stream_kind_for

__all__ = ["Decision", "Engine", "Recorder", "Stats", "parse_pace"]

log = logging.getLogger("llmreel")

Exhausted = Literal["error", "repeat"]


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

    def as_dict(self) -> dict[str, int]:
        return {
            "hits": self.hits,
            "misses": self.misses,
            "recorded": self.recorded,
            "errors": self.errors,
            "passed_through": self.passed_through,
        }


@dataclass(slots=True)
class Decision:
    """What to do with one request."""

    action: Literal["replay", "record", "live"]
    interaction: Interaction | None = None
    recorder: Recorder | None = None
    pace: float | None = None


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
        self._counters: Counter[str] = Counter()
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
            # must get position N (or record it), not the Nth file that exists so far.
            return next((e for e in seq if e.pos == n), None), len(seq)
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

    def decide(self, request: Request) -> Decision:
        if self.mode is Mode.LIVE:
            with self._lock:
                self.stats.passed_through += 1
            return Decision("live")
        key = self.matcher.key(request)
        n = self._next_position(key)
        if self.mode is Mode.RECORD:
            return self._record(request, key, n, overwrite=True)
        entry, count = self._entry_at(key, n, request)
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
        try:
            inter = self.cassette.load(entry)
        except StaleEntryError:
            # The file changed under us; the cassette re-read the directory: ask again.
            with self._lock:
                self._counters[key] -= 1
            return self.decide(request)
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
            raise SecretLeakError(found.where, found.kind, str(self.cassette.root))
        return Decision("record", recorder=Recorder(self, request, key, n, overwrite=overwrite))

    # ------------------------------------------------------------------ misses

    def explain_miss(self, request: Request, key: str, n: int, count: int) -> ReplayMissError:
        cassette = self.cassette
        where = f"{request.method} {request.path}"
        model = request.model
        hint = self.record_hint or (
            "LLMREEL_MODE=record-if-missing (or use_cassette(..., mode='record-if-missing'), "
            "or `llmreel serve --mode record-if-missing --upstream URL`)"
        )
        if count:
            return SequenceExhaustedError(
                f"replay miss: {where} (model {model or '-'}) was sent {n + 1} times, but "
                f"cassette {cassette.root} holds only {count} recording(s) of it.\n"
                f"Either record the extra call(s) with {hint}, or replay the last recording "
                f"again with on_exhausted='repeat'.",
                key=key,
                cassette=str(cassette.root),
            )
        lines = [
            f"replay miss: no recording in cassette {cassette.root} matches {where}"
            f" (model {model or '-'}, key {key[:12]}).",
        ]
        if not cassette.root.exists():
            lines.append(f"The cassette directory {cassette.root} does not exist yet.")
        candidates = self._closest(request)
        if candidates:
            lines.append(
                "Closest recordings (same endpoint" + (", same model" if model else "") + "):"
            )
            for score, entry, _ in candidates:
                lines.append(f"  {entry.name}  (similarity {score:.1%})")
            best = candidates[0][2]
            lines.append(f"Body diff against {candidates[0][1].name}:")
            recorded_body = self.matcher.normalize_body(best.request.body)
            lines.append(body_diff(recorded_body, self.matcher.normalize_body(request.body)))
        else:
            same = len(cassette)
            lines.append(
                f"No recording with the same endpoint ({same} recording(s) in the cassette)."
            )
        if cassette.errors:
            names = ", ".join(sorted(cassette.errors)[:5])
            lines.append(
                f"Note: {len(cassette.errors)} file(s) could not be read and were skipped: {names}"
            )
        if self.matcher.specs:
            lines.append("Normalizers applied: " + ", ".join(self.matcher.specs))
        lines.append(f"To record it: {hint}.")
        return ReplayMissError("\n".join(lines), key=key, cassette=str(cassette.root))

    def _closest(self, request: Request) -> list[tuple[float, Entry, Interaction]]:
        model = request.model
        pool = [
            e
            for e in self.cassette.entries()
            if e.path == request.path and e.method == request.method.upper()
        ]
        same_model = [e for e in pool if model and e.model == model]
        pool = (same_model or pool)[:200]
        scored: list[tuple[float, Entry, Interaction]] = []
        for entry in pool:
            try:
                inter = self.cassette.load(entry)
            except Exception:
                continue
            scored.append((similarity(inter.request.body, request.body), entry, inter))
        scored.sort(key=lambda s: -s[0])
        return scored[:3]

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
            test_id=self.test_id,
        )
        self._scan_secrets(inter)
        return inter

    def stored_request(self, request: Request) -> Request:
        """The request as it will be written: credential headers, query values, rules applied."""
        return Request(
            method=request.method.upper(),
            url=redact_url(request.url, self.matcher.ignore_query),
            path=request.path,
            query=redact_query(request.query, self.matcher.ignore_query),
            headers=redact_headers(request.headers.items()),
            body=self._redacted_body(request.body),
            raw=request.raw,
        )

    def _redacted_body(self, body: Any) -> Any:
        for n in self.matcher.normalizers:
            if n.spec.startswith("redact:"):
                body = n(body)
        return body

    def _scan_secrets(self, inter: Interaction) -> None:
        found = self.scanner.scan_interaction(inter)
        if found is not None:
            raise SecretLeakError(found.where, found.kind, str(self.cassette.root))

    def commit(self, inter: Interaction, position: int, *, overwrite: bool) -> Entry:
        entry = self.cassette.write(inter, position, overwrite=overwrite)
        with self._lock:
            self.stats.recorded += 1
            self.stats.written.add(entry.name)
            self.stats.used.add(entry.name)
        return entry


class Recorder:
    """Tees one upstream response: fed chunk by chunk, written when it ends.

    The adapter calls :meth:`start` with the status and headers, :meth:`feed`
    with every chunk as it passes to the client, and :meth:`finish` exactly once
    (``complete=False`` with a reason when the client left or the upstream
    failed; the recording then keeps what arrived and says it is incomplete).
    """

    def __init__(
        self, engine: Engine, request: Request, key: str, position: int, *, overwrite: bool
    ) -> None:
        self.engine = engine
        self.request = request
        self.key = key
        self.position = position
        self.overwrite = overwrite
        self.started = time.perf_counter()
        self.status = 0
        self.headers: dict[str, str] = {}
        self._parser: StreamParser | None = None
        self._chunks: list[bytes] = []
        self._done = False
        self.entry: Entry | None = None
        self.error: BaseException | None = None

    def start(self, status: int, headers: Iterable[tuple[str, str]]) -> None:
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        kind = stream_kind_for(self.headers.get("content-type", ""))
        if kind is not None:
            self._parser = make_parser(kind, self.started)

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        if self._parser is not None:
            self._parser.feed(chunk)
        else:
            self._chunks.append(chunk)

    def response(self, *, complete: bool, error: str | None) -> Response:
        headers = dict(self.headers)
        if self._parser is not None:
            self._parser.close()
            return Response(
                status=self.status,
                headers=headers,
                stream=self._parser.kind,
                events=self._parser.events,
                complete=complete,
                error=error,
            )
        data = b"".join(self._chunks)
        ct = headers.get("content-type", "")
        body: Any = None
        text: str | None = None
        content: bytes | None = None
        if data and ("json" in ct or data[:1] in (b"{", b"[")):
            try:
                body = orjson.loads(data)
            except orjson.JSONDecodeError:
                body = None
        if body is None and data:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                content = data
        return Response(
            status=self.status,
            headers=headers,
            body=body,
            text=text,
            content=content,
            complete=complete,
            error=error,
        )

    def finish(self, *, complete: bool = True, error: str | None = None) -> Entry | None:
        """Write the recording (once). Errors are kept on ``self.error`` and re-raised."""
        if self._done:
            return self.entry
        self._done = True
        response = self.response(complete=complete, error=error)
        try:
            inter = self.engine.build_interaction(self.request, self.key, response)
            self.entry = self.engine.commit(inter, self.position, overwrite=self.overwrite)
        except Exception as exc:
            self.error = exc
            with self.engine._lock:
                self.engine.stats.errors += 1
            raise
        return self.entry

    def abandon(self, reason: str) -> None:
        """The upstream could not be reached at all: nothing to write."""
        self._done = True
        log.info(
            "llmreel: not recorded (%s): %s %s", reason, self.request.method, self.request.path
        )
