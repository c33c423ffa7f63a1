"""Recordings made before the canonical rules (or under other ones) keep working.

Keys are recomputed from each file's stored request as the cassette loads it, under the
rules in force now, so an old file is rekeyed transparently; the SQLite index of a large
cassette is built per rule set (its fingerprint holds the rule ids), so it never serves a
key computed under other rules. New files say which rules keyed them.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import orjson

from llmreel import Cassette, Engine, Interaction, Matcher, Request, Response
from llmreel.formats import native
from llmreel.store.cassette import INDEX_THRESHOLD
from llmreel.tools.audit import check_files


def _chat(content: Any, **extra: Any) -> Request:
    return Request(
        "POST",
        "http://x/v1/chat/completions",
        "/v1/chat/completions",
        headers={"content-type": "application/json"},
        body={"model": "m", "messages": [{"role": "user", "content": content}], **extra},
    )


def _write_old_file(root: Path, request: Request, answer: str, pos: int = 0) -> Path:
    """A file as llmreel wrote it before the rules: raw key, no ``rules`` field."""
    inter = Interaction(
        request=request,
        response=Response(200, headers={"content-type": "application/json"}, body={"a": answer}),
        key=Matcher.raw().key(request),
        position=pos,
    )
    data = native.dumps(inter)
    assert b'"rules"' not in data
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"old-{answer}.json"
    path.write_bytes(data)
    return path


def _answer(engine: Engine, request: Request) -> Any:
    decision = engine.decide(request)
    assert decision.interaction is not None
    return decision.interaction.response.body


def test_a_file_recorded_before_the_rules_replays_a_request_that_differs_harmlessly(
    tmp_path: Path,
) -> None:
    _write_old_file(
        tmp_path,
        _chat([{"type": "text", "text": "hello"}], stream=False, previous_response_id=None),
        "old",
    )
    engine = Engine(Cassette(tmp_path), "replay")
    assert _answer(engine, _chat("hello")) == {"a": "old"}


def test_new_recordings_store_the_rules_that_keyed_them(tmp_path: Path) -> None:
    engine = Engine(Cassette(tmp_path, Matcher(canonical_off=["tool-call-ids"])), "record")
    decision = engine.decide(_chat("hi"))
    assert decision.recorder is not None
    decision.recorder.start(200, [("content-type", "application/json")])
    decision.recorder.feed(b'{"a": 1}')
    decision.recorder.finish()
    (path,) = tmp_path.glob("*.json")
    doc = orjson.loads(path.read_bytes())
    assert doc["rules"] == [
        "multipart-form@1",
        "null-fields@1",
        "api-defaults@1",
        "text-blocks@1",
        "base64-payloads@1",
    ]
    assert native.from_document(doc, str(path)).rules == tuple(doc["rules"])


def test_the_index_never_serves_keys_computed_under_other_rules(tmp_path: Path) -> None:
    n = INDEX_THRESHOLD + 10
    for i in range(n):
        _write_old_file(tmp_path, _chat([{"type": "text", "text": f"q{i}"}]), f"a{i}")

    raw = Cassette(tmp_path, Matcher.raw())  # builds the index under the raw keys
    assert len(raw) == n
    raw.close()
    index = tmp_path / ".llmreel" / "index.sqlite"
    assert index.exists()

    canonical = Cassette(tmp_path, Matcher())  # another fingerprint: the index is rebuilt
    assert _answer(Engine(canonical, "replay"), _chat("q5")) == {"a": "a5"}
    canonical.close()
    with sqlite3.connect(index) as db:
        (fingerprint,) = db.execute("SELECT v FROM meta WHERE k='fingerprint'").fetchone()
    assert fingerprint == Matcher().fingerprint

    # And back: raw keys again, the string form no longer matches the block recording.
    again = Cassette(tmp_path, Matcher.raw())
    assert not again.sequence(Matcher.raw().key(_chat("q5")))
    assert again.sequence(Matcher.raw().key(_chat([{"type": "text", "text": "q5"}])))
    again.close()


def test_two_old_recordings_that_rules_make_one_request_form_a_sequence(tmp_path: Path) -> None:
    # Recorded under raw keys as two requests; under the rules they are one, replayed in order.
    _write_old_file(tmp_path, _chat("same", stream=False), "first", pos=0)
    _write_old_file(tmp_path, _chat("same"), "second", pos=1)
    engine = Engine(Cassette(tmp_path), "replay")
    assert [_answer(engine, _chat("same")) for _ in range(2)] == [{"a": "first"}, {"a": "second"}]


def test_check_verifies_each_file_under_its_own_rules(tmp_path: Path) -> None:
    old = _write_old_file(tmp_path, _chat([{"type": "text", "text": "x"}], stream=False), "old")
    engine = Engine(Cassette(tmp_path), "record")
    new_request = _chat([{"type": "text", "text": "y"}], stream=False)
    inter = engine.build_interaction(
        new_request, engine.matcher.key(new_request), Response(200, body={"a": 1})
    )
    new = tmp_path / engine.commit(inter, 0, overwrite=True).name
    # A rule this llmreel does not have (written by a newer one): noted, not flagged.
    doc = orjson.loads(new.read_bytes())
    doc["rules"] = [*doc["rules"], "some-future-rule@1"]
    (tmp_path / "newer").mkdir()
    future = tmp_path / "newer" / "future.json"
    future.write_bytes(orjson.dumps(doc))

    report = check_files([(p, tmp_path) for p in (old, new, future)])
    assert report.ok, report.problems  # the old raw key and the new canonical one both hold
    assert [n.file for n in report.notes] == [str(future)]
    assert "some-future-rule@1" in report.notes[0].message

    # A hand edit is still caught, under the file's own rules.
    edited = orjson.loads(new.read_bytes())
    edited["request"]["body"]["model"] = "other"
    new.write_bytes(orjson.dumps(edited))
    assert check_files([(new, tmp_path)]).counts()["stale-key"] == 1
