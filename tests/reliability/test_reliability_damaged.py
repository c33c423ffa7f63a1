"""Damaged input: every broken file is reported by name, and the rest of the store keeps working.

Recordings are made for real (through the httpx transport against the faulty upstream), then
damaged the ways files get damaged: truncated by a crash or a full disk, mangled by a bad merge,
hand-edited into the wrong types, written by a newer llmreel, grown huge, filled with binary or
non-UTF-8 bytes. Hypothesis mutates whole documents and raw bytes. The promises checked:

- reading a file gives an :class:`Interaction` or a :class:`RecordingFileError` naming the file,
  never another exception; a file that reads can also be keyed and rendered (replayed);
- a cassette with damaged files opens, lists them in ``errors``, and replays everything else;
  a miss mentions the skipped files;
- nothing is rewritten behind the user's back: record-if-missing never replaces a damaged file;
- the derived SQLite index (cassettes over 200 files) out of date, deleted, or overwritten with
  garbage never changes what matches.
"""

from __future__ import annotations

import base64
import copy
import logging
import os
import random
import shutil
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmreel import (
    Cassette,
    Event,
    FormatVersionError,
    Interaction,
    Matcher,
    RecordingFileError,
    Request,
    Response,
    load_file,
    use_cassette,
)
from llmreel.formats import parse_document
from llmreel.store.cassette import INDEX_THRESHOLD
from llmreel.store.index import INDEX_DIR
from soak import Rounds
from upstreams.faulty import FaultyUpstream

CHAT = "/v1/chat/completions"


def chat(content: str, *, stream: bool = False) -> dict[str, Any]:
    return {"model": "dmg", "stream": stream, "messages": [{"role": "user", "content": content}]}


@pytest.fixture
def recorded(tmp_path: Path, faulty: FaultyUpstream) -> tuple[Path, str]:
    """A cassette with three real recordings (two whole, one streamed) and the upstream URL."""
    root = tmp_path / "cassette"
    with use_cassette(root, mode="record"), httpx.Client() as client:
        for body in (chat("alpha"), chat("beta"), chat("gamma", stream=True)):
            client.post(faulty.base_url + CHAT, json=body).raise_for_status()
    assert len(list(root.glob("*.json"))) == 3
    return root, faulty.base_url


def file_for(root: Path, content: str) -> Path:
    for path in root.glob("*.json"):
        if f'"content":"{content}"' in path.read_text():
            return path
    raise AssertionError(content)


def replay_all(root: Path, base_url: str, contents: list[str]) -> list[int]:
    # Statuses are the point: a miss answers 404 and the block must not fail on it.
    with use_cassette(root, mode="replay", on_miss="respond"), httpx.Client() as client:
        return [
            client.post(base_url + CHAT, json=chat(c, stream=c == "gamma")).status_code
            for c in contents
        ]


def must_be_usable(inter: Interaction) -> None:
    """A file that loads must also key and render without an exception."""
    Matcher().key(inter.request)
    Matcher().path_key(inter.request)
    resp = inter.response
    resp.replay_headers()
    resp.wire_chunks()
    resp.content_type()
    _ = inter.request.model, inter.request.streamed


# --------------------------------------------------------------------------- hand-picked damage

DAMAGE: dict[str, Any] = {
    "empty": b"",
    "whitespace": b"  \n\t\n",
    "truncated mid-event": lambda data: data[: len(data) * 2 // 3],
    "truncated to one byte": lambda data: data[:1],
    "not JSON": b"this is not json at all\n",
    "a JSON list": b"[1, 2, 3]\n",
    "a JSON string": b'"llmreel"\n',
    "null": b"null",
    "merge conflict": lambda data: b"<<<<<<< HEAD\n" + data + b"=======\n" + data + b">>>>>>> x\n",
    "non-UTF-8 byte": lambda data: data.replace(b'"alpha"', b'"al\xffpha"'),
    "NUL bytes": lambda data: data[:40] + b"\x00" * 64 + data[40:],
    "UTF-16": lambda data: data.decode().encode("utf-16"),
    "version 2": lambda data: data.replace(b'{"llmreel":1', b'{"llmreel":2', 1),
    "version 999999": lambda data: data.replace(b'{"llmreel":1', b'{"llmreel":999999', 1),
    "version as string": lambda data: data.replace(b'{"llmreel":1', b'{"llmreel":"1"', 1),
    "version true": lambda data: data.replace(b'{"llmreel":1', b'{"llmreel":true', 1),
    "version 0": lambda data: data.replace(b'{"llmreel":1', b'{"llmreel":0', 1),
    "request a list": lambda data: _edit(data, lambda d: d.__setitem__("request", [])),
    "response missing": lambda data: _edit(data, lambda d: d.pop("response")),
    "status a string": lambda data: _edit(
        data, lambda d: d["response"].__setitem__("status", "200")
    ),
    "status out of range": lambda data: _edit(
        data, lambda d: d["response"].__setitem__("status", 7)
    ),
    "headers a list": lambda data: _edit(data, lambda d: d["request"].__setitem__("headers", [1])),
    "method a number": lambda data: _edit(data, lambda d: d["request"].__setitem__("method", 5)),
    "path null": lambda data: _edit(data, lambda d: d["request"].__setitem__("path", None)),
    "query wrong": lambda data: _edit(data, lambda d: d["request"].__setitem__("query", [[1]])),
    "stream unknown": lambda data: _edit(data, lambda d: d["response"].__setitem__("stream", "ws")),
    "base64 broken": lambda data: _edit(data, lambda d: d["response"].__setitem__("base64", "@@")),
    "text a number": lambda data: _edit(data, lambda d: d["response"].__setitem__("text", 5)),
}


def _edit(data: bytes, change: Any) -> bytes:
    doc = orjson.loads(data)
    change(doc)
    return orjson.dumps(doc)


@pytest.mark.parametrize("damage", list(DAMAGE), ids=list(DAMAGE))
def test_damaged_file_is_named_and_the_rest_of_the_cassette_replays(
    damage: str, recorded: tuple[Path, str], caplog: pytest.LogCaptureFixture
) -> None:
    root, base_url = recorded
    victim = file_for(root, "alpha")
    how = DAMAGE[damage]
    damaged = how(victim.read_bytes()) if callable(how) else how
    victim.write_bytes(damaged)

    with pytest.raises(RecordingFileError) as err:
        load_file(victim)
    assert str(victim) in str(err.value) and err.value.path == str(victim)
    if damage.startswith("version") and damage not in ("version as string", "version true"):
        assert isinstance(err.value, FormatVersionError) or "version" in str(err.value)

    with caplog.at_level(logging.WARNING, logger="llmreel"):
        cassette = Cassette(root)
    try:
        assert list(cassette.errors) == [victim.name]
        assert len(cassette) == 2
    finally:
        cassette.close()
    assert victim.name in caplog.text  # reported once, by name, when the store opens

    # The other recordings replay; the damaged one is a miss that names the skipped file.
    assert replay_all(root, base_url, ["beta", "gamma"]) == [200, 200]
    with use_cassette(root, mode="replay", on_miss="respond"), httpx.Client() as client:
        miss = client.post(base_url + CHAT, json=chat("alpha"))
    assert miss.status_code == 404
    assert "could not be read" in miss.text and victim.name in miss.text
    assert victim.read_bytes() == damaged  # the store never "repairs" a user's file


def test_record_if_missing_never_replaces_a_damaged_file(
    recorded: tuple[Path, str], caplog: pytest.LogCaptureFixture
) -> None:
    root, base_url = recorded
    victim = file_for(root, "alpha")
    damaged = victim.read_bytes()[:100]
    victim.write_bytes(damaged)
    with use_cassette(root, mode="record-if-missing") as session, httpx.Client() as client:
        client.post(base_url + CHAT, json=chat("alpha")).raise_for_status()
    assert session.recorded == 1
    assert victim.read_bytes() == damaged
    written = root / next(iter(session.stats.written))
    assert written != victim and load_file(written).request.body == chat("alpha")


def test_record_mode_replaces_a_damaged_file_and_says_so(
    recorded: tuple[Path, str], caplog: pytest.LogCaptureFixture
) -> None:
    root, base_url = recorded
    victim = file_for(root, "alpha")
    victim.write_bytes(b"{broken")
    with (
        caplog.at_level(logging.WARNING, logger="llmreel"),
        use_cassette(root, mode="record"),
        httpx.Client() as client,
    ):
        client.post(base_url + CHAT, json=chat("alpha")).raise_for_status()
    assert load_file(victim).request.body == chat("alpha")  # re-recording replaced it
    assert any(
        "replacing damaged recording" in r.getMessage() and victim.name in r.getMessage()
        for r in caplog.records
    )


def test_unknown_format_version_says_upgrade_and_leaves_the_file(tmp_path: Path) -> None:
    path = tmp_path / "future.json"
    data = b'{"llmreel":7,"key":"k","request":{"method":"POST","path":"/x"},"response":{}}'
    path.write_bytes(data)
    with pytest.raises(FormatVersionError, match=r"upgrade|Upgrade") as err:
        load_file(path)
    assert str(path) in str(err.value) and "7" in str(err.value)
    assert path.read_bytes() == data


def test_files_that_are_not_recordings_do_not_break_the_cassette(
    recorded: tuple[Path, str],
) -> None:
    root, base_url = recorded
    (root / "package.json").write_text('{"name": "x", "version": "1.0.0"}')
    (root / "notes.txt").write_text("remember to re-record\n")
    (root / "dir.json").mkdir()
    (root / "nested").mkdir()
    (root / "nested" / "deep.json").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    os.symlink(root / "missing-target.json", root / "dangling.json")
    cassette = Cassette(root)
    try:
        assert len(cassette) == 3
        assert {"package.json", "notes.txt", "nested/deep.json"} <= set(cassette.errors)
    finally:
        cassette.close()
    assert replay_all(root, base_url, ["alpha", "beta", "gamma"]) == [200, 200, 200]


# --------------------------------------------------------------------------- big and binary


def test_huge_bodies_and_binary_payloads_round_trip(tmp_path: Path, faulty: FaultyUpstream) -> None:
    rng = random.Random(3)
    blob = bytes(rng.getrandbits(8) for _ in range(256 * 1024)) + b"\xff\xfe\x00"
    big_text = "word " * 2_000_000  # 10 MB request body
    cassette = Cassette(tmp_path)
    m = Matcher()
    cases = [
        Request("POST", "http://u/v1/big", "/v1/big", body={"prompt": big_text}),
        Request("POST", "http://u/v1/bin", "/v1/bin", raw=blob),
    ]
    responses = [
        Response(200, {"content-type": "application/octet-stream"}, content=blob),
        Response(200, {"content-type": "text/plain"}, text="é" * 3_000_000),
    ]
    for req, resp in zip(cases, responses, strict=True):
        cassette.write(Interaction(req, resp, key=m.key(req)), 0, overwrite=False)
    cassette.close()
    with use_cassette(tmp_path, mode="replay"), httpx.Client() as client:
        r1 = client.post(faulty.base_url + "/v1/big", json={"prompt": big_text})
        r2 = client.post(faulty.base_url + "/v1/bin", content=blob)
    assert r1.content == blob
    assert r2.text == "é" * 3_000_000


def test_non_utf8_request_and_response_bodies_record_and_replay(
    tmp_path: Path, faulty: FaultyUpstream
) -> None:
    body = b"\x00\xff\xfe binary \x80\x81 payload"
    url = faulty.base_url + "/v1/upload"  # the faulty upstream answers 404 JSON: recorded too
    with use_cassette(tmp_path, mode="record"), httpx.Client() as client:
        live = client.post(url, content=body, headers={"content-type": "application/octet-stream"})
    [path] = list(tmp_path.glob("*.json"))
    doc = orjson.loads(path.read_bytes())
    assert base64.b64decode(doc["request"]["base64"]) == body
    with use_cassette(tmp_path, mode="replay", on_miss="respond"), httpx.Client() as client:
        again = client.post(url, content=body)
        other = client.post(url, content=body + b"!")
    assert (again.status_code, again.json()) == (live.status_code, live.json())
    assert other.status_code == 404 and "replay miss" in other.text


# --------------------------------------------------------------------------- hypothesis

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*prefix, i))
    return out


def _sample_docs() -> list[dict[str, Any]]:
    stream = Response(
        200,
        {"content-type": "text/event-stream"},
        stream="sse",
        events=[Event(0.01, data='{"a":1}', event="e", id="1", comment="c"), Event(0.02, "[DONE]")],
    )
    whole = Response(200, {"content-type": "application/json"}, body={"ok": [1, 2.5, None]})
    req = Request("POST", "http://h/v1/chat/completions", "/v1/chat/completions", [("a", "b")])
    req.body = chat("x")
    from llmreel.formats import native

    docs = [orjson.loads(native.dumps(Interaction(req, resp, key="k"))) for resp in (stream, whole)]
    llama = {
        "request": {
            "method": "POST",
            "url": "http://localhost:11434/api/chat",
            "endpoint": "/api/chat",
            "model": "m",
            "body": {"model": "m", "messages": [{"role": "user", "content": "x"}]},
        },
        "response": {
            "body": {"__type__": "ollama._types.ChatResponse", "__data__": {"model": "m"}},
            "is_streaming": False,
        },
    }
    return [*docs, llama]


SAMPLES = _sample_docs()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    which=st.integers(0, len(SAMPLES) - 1),
    choice=st.randoms(use_true_random=False),
    value=_json,
    delete=st.booleans(),
)
def test_mutated_documents_load_or_fail_with_a_named_error(
    which: int, choice: random.Random, value: Any, delete: bool
) -> None:
    doc = copy.deepcopy(SAMPLES[which])
    path = choice.choice(_paths(doc)[1:])
    parent: Any = doc
    for part in path[:-1]:
        parent = parent[part]
    if delete and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    try:
        inter = parse_document(doc, "mutated.json")
    except RecordingFileError as exc:
        assert exc.path == "mutated.json" and "mutated.json" in str(exc)
        return
    must_be_usable(inter)


@settings(max_examples=300, deadline=None)
@given(
    which=st.integers(0, len(SAMPLES) - 1),
    edits=st.lists(
        st.tuples(
            st.sampled_from(["flip", "insert", "delete", "truncate"]),
            st.integers(0, 10**6),
            st.binary(min_size=1, max_size=4),
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_byte_level_damage_loads_or_fails_with_a_named_error(
    tmp_path_factory: pytest.TempPathFactory, which: int, edits: list[tuple[str, int, bytes]]
) -> None:
    data = bytearray(orjson.dumps(SAMPLES[which]))
    for op, at, chunk in edits:
        i = at % (len(data) + 1)
        if op == "flip" and i < len(data):
            data[i] ^= chunk[0] or 1
        elif op == "insert":
            data[i:i] = chunk
        elif op == "delete":
            del data[i : i + len(chunk)]
        else:
            del data[i:]
    path = tmp_path_factory.mktemp("bytes") / "damaged.json"
    path.write_bytes(bytes(data))
    try:
        inter = load_file(path)
    except RecordingFileError as exc:
        assert exc.path == str(path)
        return
    must_be_usable(inter)


# --------------------------------------------------------------------------- the SQLite index


def _fill(root: Path, n: int) -> dict[str, str]:
    """``n`` small recordings written through the store; returns key -> prompt."""
    cassette = Cassette(root)
    m = cassette.matcher
    keys = {}
    for i in range(n):
        req = Request("POST", "http://u" + CHAT, CHAT, body=chat(f"p{i}"))
        key = m.key(req)
        resp = Response(200, {"content-type": "application/json"}, body={"answer": i})
        cassette.write(Interaction(req, resp, key=key), 0, overwrite=False)
        keys[key] = f"p{i}"
    cassette.close()
    return keys


def _answers(root: Path, base_url: str, prompts: list[str]) -> list[Any]:
    out = []
    with use_cassette(root, mode="replay", on_miss="respond"), httpx.Client() as client:
        for p in prompts:
            r = client.post(base_url + CHAT, json=chat(p))
            out.append(r.json().get("answer") if r.status_code == 200 else r.status_code)
    return out


@pytest.fixture
def indexed(tmp_path: Path) -> Path:
    root = tmp_path / "big"
    _fill(root, INDEX_THRESHOLD + 20)
    # Opening it once builds the index.
    Cassette(root).close()
    assert (root / INDEX_DIR / "index.sqlite").exists()
    return root


def test_index_out_of_date_after_files_change_behind_its_back(
    indexed: Path, faulty: FaultyUpstream
) -> None:
    root = indexed
    files = sorted(root.glob("*.json"))
    # Another checkout: one file deleted, one replaced by a different recording, one added.
    deleted = load_file(files[0])
    files[0].unlink()
    swapped_from = load_file(files[1])
    doc = orjson.loads(files[1].read_bytes())
    doc["request"]["body"] = chat("swapped in")
    doc["key"] = Matcher().key(Request("POST", "", CHAT, body=chat("swapped in")))
    doc["response"]["body"] = {"answer": "swapped"}
    files[1].write_bytes(orjson.dumps(doc))
    new = root / "added-by-git-pull.json"
    doc["request"]["body"] = chat("added")
    doc["response"]["body"] = {"answer": "added"}
    new.write_bytes(orjson.dumps(doc))
    cassette = Cassette(root)
    try:
        assert cassette.errors == {} and len(cassette) == INDEX_THRESHOLD + 20
    finally:
        cassette.close()
    gone = [deleted.request.body["messages"][0]["content"]]
    before = [swapped_from.request.body["messages"][0]["content"]]
    got = _answers(root, faulty.base_url, [*gone, *before, "swapped in", "added", "p150"])
    assert got == [404, 404, "swapped", "added", 150]


@pytest.mark.parametrize(
    "damage",
    [
        "deleted",
        "garbage",
        "truncated",
        "zeroed middle",
        "a directory",
        "wrong schema",
        "stale wal",
    ],
)
def test_damaged_or_missing_index_is_rebuilt_and_never_changes_a_match(
    damage: str, indexed: Path, faulty: FaultyUpstream
) -> None:
    root = indexed
    db = root / INDEX_DIR / "index.sqlite"
    data = db.read_bytes()
    if damage == "deleted":
        shutil.rmtree(root / INDEX_DIR)
    elif damage == "garbage":
        db.write_bytes(random.Random(1).randbytes(len(data)))
    elif damage == "truncated":
        db.write_bytes(data[: len(data) // 3])
    elif damage == "zeroed middle":
        db.write_bytes(data[:4096] + b"\x00" * (len(data) - 8192) + data[-4096:])
    elif damage == "a directory":
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
        db.mkdir()
    elif damage == "wrong schema":
        import sqlite3

        db.unlink()
        con = sqlite3.connect(db)
        con.execute("CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT)")
        con.execute("INSERT INTO meta VALUES ('schema', '3'), ('fingerprint', 'x')")
        con.execute("CREATE TABLE files (name TEXT)")
        con.commit()
        con.close()
    else:
        Path(str(db) + "-wal").write_bytes(b"\x37\x7f\x06\x82" + os.urandom(5000))
    prompts = ["p0", "p7", f"p{INDEX_THRESHOLD + 19}", "never recorded"]
    assert _answers(root, faulty.base_url, prompts) == [0, 7, INDEX_THRESHOLD + 19, 404]
    cassette = Cassette(root)
    try:
        assert cassette.errors == {} and len(cassette) == INDEX_THRESHOLD + 20
    finally:
        cassette.close()


@settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    which=st.integers(0, len(SAMPLES) - 1),
    choice=st.randoms(use_true_random=False),
    value=_json,
    delete=st.booleans(),
)
def _mutated_documents_batch(which: int, choice: random.Random, value: Any, delete: bool) -> None:
    inner = test_mutated_documents_load_or_fail_with_a_named_error.hypothesis.inner_test  # type: ignore[attr-defined]
    inner(which, choice, value, delete)


@pytest.mark.slow
def test_soak_mutated_documents() -> None:
    # Up to 20 batches of 1,000 fresh examples, as many as fit in 45 s (at least 3).
    for _ in Rounds(20, seconds=45, least=3):
        _mutated_documents_batch()
