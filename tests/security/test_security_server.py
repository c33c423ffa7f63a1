"""``llmreel serve`` under hostile input: 4xx with a clear message, no crash, no escape.

A real uvicorn server on 127.0.0.1 (``ServerThread``) is fed, over raw sockets so nothing
normalises the bytes first: hypothesis-generated methods, paths, headers, content types and
bodies (malformed JSON, binary, wrong types), oversized bodies, cassette names built to climb
out of ``--dir`` (``..``, absolute paths, backslashes, encoded dots, symlinks), slow clients
that never finish their request, and clients that vanish mid-stream. After every attack the
server must still answer its health check, and no file may appear outside its directory.
Upstream faults (refused, DNS, TLS, timeout, 429, 5xx, cut, stall) must reach the client
faithfully and never leave a half-written recording.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hostile import SECRETS, leaks_under
from llmreel import Cassette, load_file
from llmreel.server import CASSETTE_HEADER, OUTCOME_HEADER, ServerConfig, ServerThread
from soak import Rounds
from upstreams.faulty import FaultyUpstream
from upstreams.serving import free_port

CHAT = "/v1/chat/completions"


@contextlib.contextmanager
def server(directory: Path, **settings: Any) -> Iterator[ServerThread]:
    with ServerThread(ServerConfig.build(directory, **settings)) as srv:
        yield srv


def raw_http(port: int, data: bytes, *, timeout: float = 10) -> tuple[int, bytes]:
    """Send ``data`` as is; return (status, everything after the status line)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        # No half-close: uvicorn takes EOF from the client as "client gone" (as it should).
        s.sendall(data)
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            chunks.append(chunk)
    reply = b"".join(chunks)
    assert reply.startswith(b"HTTP/1.1 "), f"no HTTP answer: {reply[:200]!r}"
    return int(reply[9:12]), reply[12:]


def request_bytes(method: str, target: str, headers: list[tuple[str, str]], body: bytes) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "host: 127.0.0.1", "connection: close"]
    lines += [f"{k}: {v}" for k, v in headers]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"content-length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def healthy(srv: ServerThread) -> bool:
    return httpx.get(srv.base_url + "/_llmreel/health", timeout=5).json()["status"] == "ok"


def files_outside(top: Path, inside: Path) -> list[Path]:
    return [
        p
        for p in top.rglob("*")
        if p.is_file() and inside not in p.parents and not p.name.endswith(".log")
    ]


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    """(top, srv): the server's --dir is top/srv; top also holds an 'outside' target."""
    srv = tmp_path / "srv"
    srv.mkdir()
    (tmp_path / "outside").mkdir()
    os.symlink(tmp_path / "outside", srv / "link")
    return tmp_path, srv


# --------------------------------------------------------------------------- cassette names

ESCAPES = [
    "..",
    "../escape",
    "../../etc",
    "/etc/passwd",
    "/tmp/abs",
    "a/../../b",
    "ok/../../..",
    "a\\..\\..\\b",
    "..\\outside",
    "%2e%2e/x",
    ".hidden",
    "a/.git/config",
    "./.",
    "a//..//..//b",
    "link",
    "link/inside",
    "x" * 300,
    "name with spaces",
    "semi;colon",
    "tab\there",
    "ünïcode",
    "q?x=1",
    "~/.ssh",
]


@pytest.mark.parametrize("mode", ["replay", "record-if-missing"])
def test_cassette_names_that_escape_the_directory_are_refused(
    mode: str, layout: tuple[Path, Path], faulty: FaultyUpstream
) -> None:
    top, srv_dir = layout
    upstream = faulty.base_url if mode != "replay" else None
    body = b'{"model":"m","messages":[{"role":"user","content":"hi"}]}'
    with server(srv_dir, mode=mode, upstream=upstream) as srv:
        for name in ESCAPES:
            headers = [(CASSETTE_HEADER, name), ("content-type", "application/json")]
            status, rest = raw_http(srv.port, request_bytes("POST", CHAT, headers, body))
            assert status == 400, (name, rest[:300])
            assert b"cassette name" in rest, (name, rest[:300])
        assert healthy(srv)
        # A sane nested name still works and lands inside --dir.
        ok = [(CASSETTE_HEADER, "team/chat-tests"), ("content-type", "application/json")]
        status, _ = raw_http(srv.port, request_bytes("POST", CHAT, ok, body))
        assert status == (200 if upstream else 404)
    assert files_outside(top, srv_dir) == []
    assert not any((top / "outside").iterdir())
    assert len(faulty.received) == (1 if upstream else 0)


# --------------------------------------------------------------------------- fuzzing

_METHODS = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
_PATH_PARTS = st.sampled_from(
    ["v1", "chat", "completions", "api", "..", ".", "%2e%2e", "%00", "_llmreel", "x" * 50, "", "é"]
)
_CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/json; charset=utf-16",
        "application/octet-stream",
        "image/png",
        "",
        "json",
    ]
)
_BODIES = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=100).map(str.encode),
    st.sampled_from(
        [
            b"{",
            b'{"model": ',
            b'{"model": "m", "messages": [}',
            b"[1,2,",
            b"null",
            b'{"model": 5, "messages": "not a list"}',
            b'{"model":"m","stream":"yes","messages":[{"role":7}]}',
            b"\xff\xfe{\x00}",
            b'{"a":' * 200,
            b'{"n": 1e999999}',
            b'{"n": 123456789012345678901234567890}',
        ]
    ),
)
_NAMES = st.one_of(
    st.none(),
    st.sampled_from(ESCAPES),
    st.text(alphabet="abc./\\-_%~", max_size=20),
)


def _target(parts: list[str], query: str) -> str:
    return "/" + "/".join(parts) + (f"?{query}" if query else "")


@pytest.fixture(scope="module")
def fuzz_servers(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Path, list[ServerThread], FaultyUpstream]]:
    from upstreams.serving import run_app

    top = tmp_path_factory.mktemp("fuzz")
    (top / "outside").mkdir()
    up = FaultyUpstream()
    with run_app(up.app) as base:
        up.base_url = base
        replay_dir, record_dir = top / "replay", top / "record"
        with (
            server(replay_dir, mode="replay", max_body=4096) as replay,
            server(record_dir, mode="record-if-missing", upstream=base, max_body=4096) as record,
        ):
            yield top, [replay, record], up


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    which=st.integers(0, 1),
    method=_METHODS,
    parts=st.lists(_PATH_PARTS, min_size=1, max_size=5),
    query=st.sampled_from(["", "a=1", "key=x", "stream=true&stream=false", "%zz", "a=%00"]),
    ctype=_CONTENT_TYPES,
    name=_NAMES,
    body=_BODIES,
)
def test_fuzzed_requests_get_an_answer_and_the_server_survives(
    fuzz_servers: tuple[Path, list[ServerThread], FaultyUpstream],
    which: int,
    method: str,
    parts: list[str],
    query: str,
    ctype: str,
    name: str | None,
    body: bytes,
) -> None:
    top, servers, _ = fuzz_servers
    srv = servers[which]
    headers = [("content-type", ctype)] if ctype else []
    if name is not None:
        headers.append((CASSETTE_HEADER, name))
    if method in ("GET", "HEAD", "OPTIONS", "DELETE") and len(body) % 2:
        body = b""
    status, rest = raw_http(srv.port, request_bytes(method, _target(parts, query), headers, body))
    assert status < 500, rest[:500]
    if status >= 400 and method != "HEAD":
        # llmreel's own errors explain themselves; upstream ones are passed as they came.
        head, _, payload = rest.partition(b"\r\n\r\n")
        assert payload.strip(), rest[:300]
        if OUTCOME_HEADER.encode() in head.lower() and b"llmreel" in payload:
            assert len(payload) > 40
    assert healthy(srv)
    assert files_outside(top, top / "record") == []


def test_malformed_json_and_wrong_content_types_are_clear_misses(tmp_path: Path) -> None:
    with server(tmp_path, mode="replay") as srv:
        for ctype, body in [
            ("application/json", b'{"model": "m", "messages": ['),
            ("text/plain", b'{"model": "m"}'),
            ("application/json", b"\xff\xfe\x00garbage"),
            ("application/xml", b"<a/>"),
        ]:
            r = httpx.post(srv.base_url + CHAT, content=body, headers={"content-type": ctype})
            assert r.status_code == 404
            assert "replay miss" in r.text and "To record it" in r.text
            assert r.headers.get("x-should-retry") == "false"
        assert healthy(srv)


def test_oversized_bodies_get_413_however_they_are_sent(tmp_path: Path) -> None:
    with server(tmp_path, mode="replay", max_body=1000) as srv:
        big = b'{"model":"m","pad":"' + b"x" * 5000 + b'"}'
        # Declared length over the limit.
        r = httpx.post(
            srv.base_url + CHAT, content=big, headers={"content-type": "application/json"}
        )
        assert r.status_code == 413 and "--max-body" in r.text
        # Chunked, no length: counted as it arrives.
        r = httpx.post(srv.base_url + CHAT, content=iter([big[:800], big[800:]]))
        assert r.status_code == 413
        # A lying header: huge length, tiny body. Refused from the header alone.
        status, rest = raw_http(
            srv.port,
            request_bytes("POST", CHAT, [("content-length", str(10**12))], b"").replace(
                b"content-length: 0\r\n", b""
            ),
        )
        assert status == 413, rest[:200]
        assert healthy(srv)
    assert list(tmp_path.rglob("*.json")) == []


def test_slow_clients_do_not_block_the_others(tmp_path: Path) -> None:
    with server(tmp_path, mode="replay") as srv:
        slow: list[socket.socket] = []
        try:
            for i in range(40):
                s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
                if i % 2:
                    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\n")  # no end
                else:
                    s.sendall(
                        b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\n"
                        b'content-length: 1000\r\n\r\n{"model": '  # body never finishes
                    )
                slow.append(s)
            started = time.monotonic()
            for _ in range(20):
                r = httpx.post(srv.base_url + CHAT, json={"model": "m"}, timeout=5)
                assert r.status_code == 404
            assert time.monotonic() - started < 10
            assert healthy(srv)
        finally:
            for s in slow:
                s.close()
        time.sleep(0.2)
        assert healthy(srv)


def _record_stream(srv: ServerThread, body: dict[str, Any], **headers: str) -> httpx.Response:
    return httpx.post(srv.base_url + CHAT, json=body, headers=headers, timeout=30)


def test_clients_vanishing_mid_stream_leave_valid_recordings_and_a_live_server(
    tmp_path: Path, faulty: FaultyUpstream
) -> None:
    root = tmp_path / "c"
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "a b c"}]}
    with server(root, mode="record", upstream=faulty.base_url) as srv:
        for i in range(8):
            payload = (
                b'{"model":"m","stream":true,"messages":[{"role":"user","content":"v%d"}]}' % i
            )
            data = request_bytes(
                "POST",
                CHAT,
                [
                    ("content-type", "application/json"),
                    ("x-fault", "slow"),
                    ("x-fault-delay-ms", "50"),
                ],
                payload,
            )
            with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
                s.sendall(data)
                got = b""
                while got.count(b"data: ") < 2:
                    got += s.recv(4096)
            # Socket closed: the client is gone mid-stream.
        deadline = time.monotonic() + 10
        while len(list(root.glob("*.json"))) < 8 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert healthy(srv)
        assert _record_stream(srv, body).status_code == 200
    files = sorted(root.glob("*.json"))
    assert len(files) == 9
    incomplete = [load_file(f) for f in files if not load_file(f).response.complete]
    assert len(incomplete) == 8 and all(i.response.events for i in incomplete)
    assert not list(root.rglob(".*.partial"))

    # Replay of a paced stream, abandoned by its clients, does not hurt the server either.
    with server(root, mode="replay", pace="recorded", on_exhausted="repeat") as srv:
        for _ in range(10):
            with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
                s.sendall(
                    request_bytes(
                        "POST",
                        CHAT,
                        [("content-type", "application/json")],
                        b'{"model":"m","stream":true,"messages":[{"role":"user","content":"v0"}]}',
                    )
                )
                s.recv(100)
        assert healthy(srv)


# --------------------------------------------------------------------------- upstream faults


@pytest.mark.parametrize("where", ["refused", "dns", "tls"])
def test_unreachable_upstream_is_a_clear_502_and_writes_nothing(
    where: str, tmp_path: Path, faulty: FaultyUpstream
) -> None:
    upstream = {
        "refused": f"http://127.0.0.1:{free_port()}",
        "dns": "http://no-such-host.llmreel.invalid",
        "tls": faulty.base_url.replace("http://", "https://"),
    }[where]
    root = tmp_path / "c"
    with server(root, mode="record-if-missing", upstream=upstream) as srv:
        r = httpx.post(srv.base_url + CHAT, json={"model": "m"}, timeout=30)
        assert r.status_code == 502
        assert "Nothing was recorded" in r.text and "--upstream" in r.text
        assert healthy(srv)
    assert list(root.rglob("*.json")) == [] and not list(root.rglob(".*.partial"))


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
@pytest.mark.parametrize(
    ("fault", "expect"),
    [
        ("429", "recorded"),
        ("500", "recorded"),
        ("503", "recorded"),
        ("cut", "incomplete"),
        ("stall", "incomplete"),
    ],
)
def test_upstream_faults_pass_through_and_are_recorded_whole_or_marked_incomplete(
    fault: str, expect: str, stream: bool, tmp_path: Path, faulty: FaultyUpstream
) -> None:
    root = tmp_path / "c"
    body = {"model": "m", "stream": stream, "messages": [{"role": "user", "content": "a b c"}]}
    headers = {"x-fault": fault, "x-fault-after": "2", "x-fault-stall": "3"}
    with server(root, mode="record", upstream=faulty.base_url, upstream_timeout=0.5) as srv:
        try:
            r = httpx.post(srv.base_url + CHAT, json=body, headers=headers, timeout=10)
            outcome: Any = (r.status_code, r.headers.get("retry-after"))
        except httpx.HTTPError as exc:
            outcome = type(exc)
        deadline = time.monotonic() + 10
        while not list(root.glob("*.json")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert healthy(srv)
    [path] = list(root.glob("*.json"))
    resp = load_file(path).response
    assert not list(root.rglob(".*.partial"))
    if expect == "recorded":
        assert outcome == (int(fault), "1" if fault == "429" else None)
        assert resp.status == int(fault) and resp.complete
    else:
        # The client sees the connection end early, as it would without llmreel.
        assert outcome in (httpx.RemoteProtocolError, httpx.ReadError) or (
            isinstance(outcome, tuple) and outcome[0] == 504
        ), outcome
        assert resp.complete is False and resp.error


# --------------------------------------------------------------------------- secrets


def test_server_never_writes_a_secret_from_requests_or_responses(
    tmp_path: Path, faulty: FaultyUpstream
) -> None:
    root = tmp_path / "c"
    secrets = SECRETS[:8]
    with server(root, mode="record", upstream=faulty.base_url) as srv:
        for s in secrets:
            # In a credential header: forwarded, redacted on disk.
            r = httpx.post(
                srv.base_url + CHAT,
                json={"model": "m", "messages": [{"role": "user", "content": "fine"}]},
                headers={"authorization": f"Bearer {s.value}", "x-api-key": s.value},
            )
            assert r.status_code == 200
            # In the body (and echoed back by the upstream): refused, nothing written.
            r = httpx.post(
                srv.base_url + CHAT,
                json={"model": "m", "messages": [{"role": "user", "content": f"k {s.value}"}]},
            )
            assert r.status_code >= 400 and "request.body.messages[0].content" in r.text
        assert healthy(srv)
    assert leaks_under(tmp_path, secrets) == []
    assert faulty.received[0].headers["authorization"].startswith("Bearer ")
    c = Cassette(root)
    # The "fine" calls share one key: a sequence of 8 recordings, credentials redacted.
    assert c.errors == {} and len(c) == len(secrets)
    c.close()


def test_secret_refusal_is_a_client_error(tmp_path: Path, faulty: FaultyUpstream) -> None:
    with server(tmp_path, mode="record", upstream=faulty.base_url) as srv:
        r = httpx.post(
            srv.base_url + CHAT,
            json={"model": "m", "messages": [{"role": "user", "content": SECRETS[0].value}]},
        )
    assert r.status_code == 400
    assert "request.body.messages[0].content" in r.text
    assert not faulty.received  # refused before anything was forwarded
    assert not list(tmp_path.rglob("*.json"))


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    which=st.integers(0, 1),
    method=_METHODS,
    parts=st.lists(_PATH_PARTS, min_size=1, max_size=5),
    query=st.sampled_from(["", "a=1", "key=x", "%zz"]),
    ctype=_CONTENT_TYPES,
    name=_NAMES,
    body=_BODIES,
)
def _fuzzed_requests_batch(
    fuzz_servers: tuple[Path, list[ServerThread], FaultyUpstream],
    which: int,
    method: str,
    parts: list[str],
    query: str,
    ctype: str,
    name: str | None,
    body: bytes,
) -> None:
    inner = test_fuzzed_requests_get_an_answer_and_the_server_survives.hypothesis.inner_test  # type: ignore[attr-defined]
    inner(fuzz_servers, which, method, parts, query, ctype, name, body)


@pytest.mark.slow
def test_soak_fuzzed_requests(
    fuzz_servers: tuple[Path, list[ServerThread], FaultyUpstream],
) -> None:
    # Up to 12 batches of 250 fresh requests, as many as fit in 75 s (at least 2).
    for _ in Rounds(12, seconds=75, least=2):
        _fuzzed_requests_batch(fuzz_servers)
    top, servers, _ = fuzz_servers
    assert all(healthy(srv) for srv in servers)
    assert files_outside(top, top / "record") == []


def test_many_concurrent_hostile_connections_leave_the_server_answering(tmp_path: Path) -> None:
    with server(tmp_path, mode="replay", max_body=2048) as srv:
        payloads = [
            request_bytes("POST", CHAT, [(CASSETTE_HEADER, "../x")], b"{}"),
            request_bytes("POST", CHAT, [("content-type", "application/json")], b"{" * 3000),
            b"GARBAGE / HTTP/1.1\r\n\r\n",
            b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: -5\r\n\r\n",
            b"GET / HTTP/9.9\r\n\r\n",
            request_bytes("GET", "/_llmreel/../../etc/passwd", [], b""),
        ]
        errors: list[BaseException] = []

        def hammer(i: int) -> None:
            try:
                for j in range(10):
                    with contextlib.suppress(AssertionError, OSError):
                        raw_http(srv.port, payloads[(i + j) % len(payloads)], timeout=5)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=hammer, args=(i,)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert healthy(srv)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
