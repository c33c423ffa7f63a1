"""Upstream faults pass through faithfully, are recorded faithfully, and never half-write a file.

In-process (the httpx/httpx2 transports via ``use_cassette``; the server has its own suite in
``test_security_server.py``). For each fault the client's experience with llmreel in record
mode is compared with its experience without llmreel: the same status or the same exception
class. HTTP errors (429 with Retry-After, 5xx) are interactions like any other: recorded and
replayed, so an app's error handling can be tested offline. A stream cut or stalled mid-way is
recorded with what arrived and marked incomplete. Failures before any response (refused, DNS,
TLS) write nothing at all. After every case the cassette directory holds only valid files.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anthropic
import httpx
import httpx2
import openai
import pytest

from llmreel import Cassette, load_file, use_cassette
from upstreams.faulty import FaultyUpstream
from upstreams.serving import free_port

CHAT = "/v1/chat/completions"


def chat(content: str, *, stream: bool = False) -> dict[str, Any]:
    return {"model": "f", "stream": stream, "messages": [{"role": "user", "content": content}]}


def outcome(fn: Callable[[], Any]) -> tuple[Any, ...]:
    try:
        r = fn()
    except Exception as exc:
        return ("raised", type(exc))
    return ("answered", r.status_code, r.headers.get("retry-after"), r.content)


def valid_files_only(root: Path) -> list[Path]:
    """Every recording loads; no temp file is left; the store opens clean."""
    assert not list(root.rglob(".*.partial")), "a temp file was left behind"
    files = sorted(root.glob("*.json"))
    for f in files:
        load_file(f)
    if root.exists():
        c = Cassette(root)
        assert c.errors == {}
        c.close()
    return files


@pytest.mark.parametrize("mod", [httpx, httpx2], ids=["httpx", "httpx2"])
@pytest.mark.parametrize(
    "where",
    ["refused", "dns", "tls"],
)
def test_unreachable_upstream_raises_what_the_client_raises_and_writes_nothing(
    where: str, mod: Any, tmp_path: Path, faulty: FaultyUpstream
) -> None:
    url = {
        "refused": f"http://127.0.0.1:{free_port()}{CHAT}",
        "dns": f"http://no-such-host.llmreel.invalid{CHAT}",
        "tls": faulty.base_url.replace("http://", "https://") + CHAT,
    }[where]

    def send() -> Any:
        with mod.Client(timeout=5) as client:
            return client.post(url, json=chat("x"))

    live = outcome(send)
    assert live[0] == "raised" and issubclass(live[1], mod.ConnectError)
    for mode in ("record", "record-if-missing"):
        with use_cassette(tmp_path, mode=mode) as session:
            assert outcome(send) == live
        assert session.recorded == 0
    assert valid_files_only(tmp_path) == []


@pytest.mark.parametrize("fault", ["429", "500", "503", "529"])
def test_http_errors_are_recorded_as_interactions_and_replay_the_same(
    fault: str, tmp_path: Path, faulty: FaultyUpstream
) -> None:
    url = faulty.base_url + CHAT
    headers = {"x-fault": fault, "x-fault-retry-after": "7"}

    def send() -> Any:
        return httpx.post(url, json=chat("x"), headers=headers)

    live = outcome(send)
    with use_cassette(tmp_path, mode="record") as session:
        recorded = outcome(send)
    assert recorded == live and session.recorded == 1
    [path] = valid_files_only(tmp_path)
    inter = load_file(path)
    assert inter.response.status == int(fault) and inter.response.complete
    if fault == "429":
        assert inter.response.headers["retry-after"] == "7"
    calls = len(faulty.received)
    with use_cassette(tmp_path, mode="replay"):
        assert outcome(send) == live
    assert len(faulty.received) == calls  # replayed, not forwarded


def test_sdks_see_the_same_typed_errors_live_recorded_and_replayed(
    tmp_path: Path, faulty: FaultyUpstream
) -> None:
    def run() -> list[tuple[str, str | None]]:
        oc = openai.OpenAI(base_url=f"{faulty.base_url}/v1", api_key="k", max_retries=0)
        ac = anthropic.Anthropic(base_url=faulty.base_url, api_key="k", max_retries=0)
        msgs = [{"role": "user", "content": "x"}]
        out: list[tuple[str, str | None]] = []
        for model in ("fault-429", "fault-500", "fault-503"):
            try:
                oc.chat.completions.create(model=model, messages=msgs)  # type: ignore[arg-type,call-overload]
            except openai.APIStatusError as exc:
                out.append((type(exc).__name__, exc.response.headers.get("retry-after")))
        try:
            ac.messages.create(model="fault-529", max_tokens=5, messages=msgs)  # type: ignore[arg-type]
        except anthropic.APIStatusError as exc:
            out.append((type(exc).__name__, exc.response.headers.get("retry-after")))
        return out

    live = run()
    assert [n for n, _ in live] == [
        "RateLimitError",
        "InternalServerError",
        "InternalServerError",
        "OverloadedError",
    ]
    with use_cassette(tmp_path, mode="record") as session:
        assert run() == live
    assert session.recorded == 4
    with use_cassette(tmp_path, mode="replay") as session:
        assert run() == live
    assert session.played == 4


@pytest.mark.parametrize("mod", [httpx, httpx2], ids=["httpx", "httpx2"])
@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
def test_cut_response_reaches_the_client_and_is_recorded_incomplete(
    mod: Any, stream: bool, tmp_path: Path, faulty: FaultyUpstream
) -> None:
    url = faulty.base_url + CHAT
    headers = {"x-fault": "cut", "x-fault-after": "3"}

    def send() -> Any:
        with mod.Client(timeout=10) as client:
            return client.post(url, json=chat("a b c d e", stream=stream), headers=headers)

    live = outcome(send)
    assert live[0] == "raised"
    with use_cassette(tmp_path, mode="record") as session:
        assert outcome(send) == live
    assert session.recorded == 1
    [path] = valid_files_only(tmp_path)
    resp = load_file(path).response
    assert resp.complete is False and resp.error and "upstream failed" in resp.error
    if stream:
        assert len(resp.events) == 3  # exactly what arrived before the cut
        assert all(ev.data and ev.data.startswith("{") for ev in resp.events)


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
def test_stalled_upstream_times_out_like_without_llmreel_and_is_recorded_incomplete(
    stream: bool, tmp_path: Path, faulty: FaultyUpstream
) -> None:
    url = faulty.base_url + CHAT
    headers = {"x-fault": "stall", "x-fault-after": "2", "x-fault-stall": "5"}

    def send() -> Any:
        timeout = httpx.Timeout(5, read=0.5)
        with httpx.Client(timeout=timeout) as client:
            return client.post(url, json=chat("a b c", stream=stream), headers=headers)

    live = outcome(send)
    assert live == ("raised", httpx.ReadTimeout)
    with use_cassette(tmp_path, mode="record") as session:
        assert outcome(send) == live
    assert session.recorded == 1
    [path] = valid_files_only(tmp_path)
    resp = load_file(path).response
    assert resp.complete is False and "ReadTimeout" in (resp.error or "")
    if stream:
        assert len(resp.events) == 2


def test_connect_timeout_writes_nothing(tmp_path: Path) -> None:
    # A listening socket that never accepts: with a full backlog the connect hangs.
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(0)
        port = srv.getsockname()[1]
        fillers = []
        for _ in range(8):
            s = socket.socket()
            s.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                s.connect(("127.0.0.1", port))
            fillers.append(s)

        def send() -> Any:
            with httpx.Client(timeout=httpx.Timeout(0.3)) as client:
                return client.post(f"http://127.0.0.1:{port}{CHAT}", json=chat("x"))

        try:
            live = outcome(send)
            with use_cassette(tmp_path, mode="record") as session:
                assert outcome(send) == live
        finally:
            for s in fillers:
                s.close()
    assert live[0] == "raised" and issubclass(live[1], httpx.TimeoutException)
    assert session.recorded == 0 and valid_files_only(tmp_path) == []


def test_client_leaving_mid_stream_records_what_it_read_marked_incomplete(
    tmp_path: Path, faulty: FaultyUpstream
) -> None:
    url = faulty.base_url + CHAT
    with (
        use_cassette(tmp_path, mode="record") as session,
        httpx.Client() as client,
        client.stream("POST", url, json=chat("a b c d e f", stream=True)) as r,
    ):
        for i, _ in enumerate(r.iter_lines()):
            if i == 3:
                break
    assert session.recorded == 1
    [path] = valid_files_only(tmp_path)
    resp = load_file(path).response
    assert resp.complete is False and "client closed" in (resp.error or "")
