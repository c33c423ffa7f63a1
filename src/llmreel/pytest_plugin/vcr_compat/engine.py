"""The engine of a vcrpy cassette: every intercepted request replays, records, or misses.

It is what llmreel's transports and adapters ask (``decide``), like
:class:`~llmreel.engine.Engine`, so streams replay event by event through the
same code, the journal and counts are kept the same way, and the network guard
and the plugin's failure reports apply. What differs is the store (one
vcrpy cassette file) and matching: vcrpy's (``match_on``, first unplayed
interaction in recorded order), or with ``strict`` llmreel's key. A request the
suite's filters drop (``ignore_hosts``, a hook returning None) goes to the
network unrecorded, as under vcrpy.

Recording tees the upstream response (raw bytes, as vcrpy stores them) into the
cassette after the suite's ``before_record_response``; credential headers are
redacted and a key-shaped secret refuses the recording, as everywhere in llmreel.
"""

from __future__ import annotations

import http
import threading
from collections.abc import Iterable
from typing import Any

from llmreel.engine import Decision, Journal, PendingEntry, Recorder, Stats
from llmreel.engine.engine import Deferred
from llmreel.exceptions import ReplayMissError, SecretLeakError
from llmreel.formats.vcr import response_from_vcr
from llmreel.matching import Matcher
from llmreel.model.interaction import Interaction, Request, Response
from llmreel.pytest_plugin.vcr_compat.cassette import VcrCassette
from llmreel.pytest_plugin.vcr_compat.explain import strict_miss, vcr_miss
from llmreel.pytest_plugin.vcr_compat.request import VcrRequest, request_from_live
from llmreel.pytest_plugin.vcr_compat.strict import Shadow, StrictKeys, as_request
from llmreel.redaction import REDACTED, SecretScanner, redact_headers, redact_url
from llmreel.store import Entry

__all__ = ["VcrEngine", "VcrRecorder", "WouldMiss"]

WouldMiss = tuple[str, int, str]  # (request line, interaction played, difference)


def _redact(request: VcrRequest) -> VcrRequest:
    """Credential header values and query parameters, as llmreel never writes them."""
    safe = redact_headers(request.headers.items(), keep_volatile=True)
    for name in list(request.headers):
        if safe.get(name.lower()) == REDACTED:
            request.headers[name] = REDACTED
    request.uri = redact_url(request.uri)
    return request


class VcrRecorder(Recorder):
    """A recorder that keeps the raw body bytes, which is what a vcrpy cassette holds.

    It is its own sink (it has the bytes): the finished response goes to the engine
    through :meth:`build_interaction` and :meth:`commit`.
    """

    def __init__(self, engine: VcrEngine, request: Request, stored: VcrRequest) -> None:
        super().__init__(self, request, "", 0, overwrite=False)
        self.vcr_engine = engine
        self.stored = stored
        self.raw: list[bytes] = []

    def feed(self, chunk: bytes) -> None:
        if chunk:
            self.raw.append(chunk)
        super().feed(chunk)

    def build_interaction(self, request: Request, key: str, response: Response) -> Interaction:
        return self.vcr_engine.build(self)

    def commit(self, inter: Interaction, position: int, *, overwrite: bool) -> Entry:
        return self.vcr_engine.commit_recording(inter)

    def count_error(self) -> None:
        self.vcr_engine.count_error()


class VcrEngine:
    """Decides for one vcrpy cassette (see the module docstring)."""

    def __init__(
        self,
        cassette: VcrCassette,
        *,
        strict: bool = False,
        record_hint: str = "",
        allow_secrets: Iterable[str] = (),
        journal: Journal | None = None,
        matcher: Matcher | None = None,
    ) -> None:
        self.cassette = cassette
        self.strict = strict
        self.record_hint = record_hint
        # llmreel's own matching (strict, and the shadow check): canonical rules included.
        self.keys = StrictKeys(cassette, matcher if matcher is not None else Matcher())
        self.shadow = None if strict else Shadow(self.keys)
        self.would_miss: list[WouldMiss] = []
        self.stats = Stats()
        self.miss_messages: list[str] = []
        self.scanner = SecretScanner(allow_secrets)
        self.journal = journal if journal is not None else Journal(cassette.path)
        self._rendered: dict[int, Interaction] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ deciding

    def decide(
        self, request: Request, entry: PendingEntry | None = None, *, fault: str | None = None
    ) -> Decision:
        """Replay, record, pass through, or raise the miss. ``fault`` is ignored: llmreel's
        faults on demand are for its own cassettes (a vcrpy cassette has no place for them)."""
        if entry is None:
            entry = self.journal.begin(request)
        try:
            decision = self._decide(request)
        except ReplayMissError as exc:
            entry.key = exc.key or entry.key
            entry.finish("miss", 404, note=str(exc), miss=str(exc))
            raise
        except Exception as exc:
            status = 400 if isinstance(exc, SecretLeakError) else 500
            entry.finish("error", status, note=f"{type(exc).__name__}: {exc}")
            raise
        decision.entry = entry
        if decision.recorder is not None:
            decision.recorder.journal_entry = entry
        return decision

    def decide_nowait(
        self, request: Request, entry: PendingEntry, *, fault: str | None = None
    ) -> Decision | Deferred:
        """For async adapters: everything is in memory (the file was read when the test
        started and is written when it ends), so the event loop never waits here."""
        return self.decide(request, entry, fault=fault)

    def decide_deferred(self, deferred: Deferred) -> Decision:
        return self.decide(deferred.request, deferred.entry)

    def _decide(self, request: Request) -> Decision:
        cassette = self.cassette
        filtered = cassette.filter_request(request_from_live(request))
        if filtered is None:  # the suite's filters leave this request to the network
            with self._lock:
                self.stats.passed_through += 1
            return Decision("live")
        filtered = _redact(filtered)
        live = as_request(filtered)
        key = self.keys.matcher.key(live)
        with self._lock:
            index: int | None = None
            if cassette.can_play:
                match = self.keys.match(key) if self.strict else cassette.matches
                index = cassette.take(match, filtered)
            if index is not None:
                self.stats.hits += 1
                self.stats.used.add(f"{cassette.path}#{index}")
                if self.shadow is not None:
                    diff = self.shadow.check(live, key, index)
                    if diff is not None:
                        self.would_miss.append((f"{live.method} {filtered.uri}", index, diff))
                return Decision("replay", interaction=self._interaction(index))
            if cassette.write_protected:
                self.stats.misses += 1
                if self.strict:
                    error = strict_miss(cassette, self.keys, live, key, self.record_hint)
                else:
                    error = vcr_miss(cassette, filtered, self.record_hint)
                self.miss_messages.append(str(error))
                self.stats.missed.append(str(error).splitlines()[0])
                raise error
        found = self.scanner.scan_request(live)
        if found is not None:
            with self._lock:
                self.stats.errors += 1
            raise SecretLeakError(found.where, found.kind, cassette.path)
        return Decision("record", recorder=VcrRecorder(self, request, filtered))

    def _interaction(self, index: int) -> Interaction:
        inter = self._rendered.get(index)
        if inter is None:
            stored, response = self.cassette.data[index]
            where = f"interactions[{index}].response"
            inter = Interaction(
                request=as_request(stored),
                response=response_from_vcr(response, self.cassette.path, where),
                source="vcrpy",
                path=f"{self.cassette.path}#{index}",
            )
            self._rendered[index] = inter
        return inter

    # ------------------------------------------------------------------ recording

    def build(self, recorder: VcrRecorder) -> Interaction:
        """What ``recorder`` teed, as vcrpy stores it (after ``before_record_response``) and as
        llmreel reads it; credentials redacted, a secret refuses it."""
        status = recorder.status
        try:
            reason = http.HTTPStatus(status).phrase
        except ValueError:
            reason = ""
        headers = redact_headers(recorder.headers.items(), keep_volatile=True)
        response: Any = {
            "status": {"code": status, "message": reason},
            "headers": {name: [value] for name, value in headers.items()},
            "body": {"string": b"".join(recorder.raw)},
        }
        response = self.cassette.options.before_record_response(response)
        stored = recorder.stored
        if response is None:  # the suite's hook declined to record it
            return Interaction(request=as_request(stored), response=Response(status=status))
        inter = Interaction(
            request=as_request(stored),
            response=response_from_vcr(response, self.cassette.path, "recorded response"),
            meta={"vcr": (stored, response)},
        )
        found = self.scanner.scan_interaction(inter)
        if found is not None:
            raise SecretLeakError(found.where, found.kind, self.cassette.path)
        return inter

    def commit_recording(self, inter: Interaction) -> Entry:
        """Append a built recording to the cassette (the file is saved when the test ends)."""
        req = inter.request
        pair = inter.meta.get("vcr")
        if pair is None:
            name = f"{self.cassette.path} (not recorded: before_record_response returned None)"
            return Entry(name, "", -1, req.method, req.path, req.model, None, False, "", 0, 0)
        with self._lock:
            self.cassette.append(*pair)
            index = len(self.cassette) - 1
            self.stats.recorded += 1
            name = f"{self.cassette.path}#{index}"
            self.stats.written.add(name)
            self.stats.used.add(name)
        return Entry(name, "", index, req.method, req.path, req.model, None, False, "", 0, 0)

    def count_error(self) -> None:
        with self._lock:
            self.stats.errors += 1
