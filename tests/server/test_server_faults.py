"""Faults through ``llmreel serve`` (``--fault``, ``X-Llmreel-Fault``), seen by the real SDKs.

The server on real sockets (uvicorn on 127.0.0.1; the real CLI where the command
line is the point) replays the seed and the llama-stack conformance recordings;
the openai, anthropic and ollama SDKs retry, give up and break as they would
against a misbehaving provider, and ``GET /_llmreel/journal`` says what happened.
"""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import anthropic
import httpx
import httpx2
import ollama
import openai
import pytest

import llmreel
from fault_helpers import (
    OVERLOADED,
    SEED_CHUNKS,
    SEED_MESSAGES,
    SEED_MODEL,
    Arrival,
    anthropic_cassette,
    anthropic_payload,
    ollama_cassette,
    ollama_payload,
    seed_cassette,
)
from server_helpers import cli_server, serving
from upstreams.faulty import FaultyUpstream


@pytest.fixture
def seed(shared_dir: Path, tmp_path: Path) -> Path:
    return seed_cassette(shared_dir, tmp_path / "seed")


def _openai(base: str, **kw: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{base}/v1", api_key="sk-test", **kw)


def _stream(client: openai.OpenAI) -> Arrival:
    return Arrival.of(
        lambda: client.chat.completions.create(
            model=SEED_MODEL, messages=SEED_MESSAGES, stream=True
        )
    )


def _journal(base: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = httpx.get(f"{base}/_llmreel/journal", timeout=10).json()[
        "entries"
    ]
    return entries


def test_the_cli_server_rate_limits_twice_and_openai_retries_into_its_third_attempt(
    seed: Path, tmp_path: Path
) -> None:
    args = ["--dir", str(seed), "--fault", "http=429,retry-after=1,first=2"]
    with cli_server(args, tmp_path) as server:
        with _openai(server.base_url, max_retries=2) as client:
            started = time.perf_counter()
            got = _stream(client)
            elapsed = time.perf_counter() - started
        assert got.error is None and len(got.items) == SEED_CHUNKS
        assert elapsed >= 2.0
        entries = _journal(server.base_url)
        assert [(e["outcome"], e["status"]) for e in entries] == [
            ("fault", 429),
            ("fault", 429),
            ("hit", 200),
        ]
        assert [e["fault"] for e in entries] == ["http=429,retry-after=1,first=2"] * 2 + [None]
        # Counters start over with the engines: the first two calls are limited again.
        httpx.post(f"{server.base_url}/_llmreel/reset", timeout=10)
        with (
            _openai(server.base_url, max_retries=1) as client,
            pytest.raises(openai.RateLimitError) as err,
        ):
            client.chat.completions.create(model=SEED_MODEL, messages=SEED_MESSAGES, stream=True)
        stats = httpx.get(f"{server.base_url}/_llmreel/stats", timeout=10).json()
    assert err.value.response.headers["retry-after"] == "1"
    assert stats["total"]["faults"] == 2 and stats["total"]["hits"] == 0
    assert "injecting faults: http=429,retry-after=1,first=2" in server.output()


def test_a_bad_fault_spec_stops_the_cli_naming_the_bad_part(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "llmreel", "serve", "--dir", str(tmp_path), "--fault", "htp=429"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "fault spec 'htp=429': unknown part 'htp=429'" in result.stderr
    assert "http=STATUS [retry-after=SECONDS]" in result.stderr  # the grammar


def test_anthropic_retries_a_529_through_the_server_then_raises_overloaded(
    shared_dir: Path, tmp_path: Path
) -> None:
    directory = anthropic_cassette(shared_dir, tmp_path / "anthropic")
    payload = anthropic_payload(shared_dir)
    with serving(directory, faults=("http=529,first=2",)) as server:
        with anthropic.Anthropic(base_url=server.base_url, api_key="k", max_retries=2) as client:
            events = list(client.messages.create(**payload))
        assert events[-1].type == "message_stop"
        with (
            anthropic.Anthropic(
                base_url=server.base_url,
                api_key="k",
                max_retries=1,
                default_headers={"X-Llmreel-Fault": "http=529"},
            ) as client,
            pytest.raises(OVERLOADED) as err,
        ):
            client.messages.create(**payload)
        entries = _journal(server.base_url)
    assert err.value.response.headers["x-should-retry"] == "true"  # type: ignore[attr-defined]
    assert [e["status"] for e in entries] == [529, 529, 200, 529, 529]


def test_a_cut_stream_through_the_server_gives_exactly_that_many_chunks(seed: Path) -> None:
    with serving(seed) as server:
        headers = {"X-Llmreel-Fault": "cut=10"}
        with _openai(server.base_url, max_retries=0, default_headers=headers) as client:
            got = _stream(client)
        (entry,) = _journal(server.base_url)
    assert len(got.items) == 10 and isinstance(got.error, openai.APIConnectionError)
    assert isinstance(got.error.__cause__, httpx2.RemoteProtocolError)
    assert (entry["outcome"], entry["fault"], entry["events"]) == ("hit", "cut=10", 10)


def test_stall_ttft_and_tps_through_the_server_relative_to_an_unshaped_replay(
    seed: Path,
) -> None:
    with serving(seed, on_exhausted="repeat") as server:

        def replay(fault: str | None) -> Arrival:
            headers = {"X-Llmreel-Fault": fault} if fault else {}
            with _openai(server.base_url, max_retries=0, default_headers=headers) as client:
                return _stream(client)

        plain, stall, ttft, tps = (replay(f) for f in (None, "stall=10:1.0", "ttft=1.0", "tps=40"))
    for shaped in (plain, stall, ttft, tps):
        assert shaped.error is None and len(shaped.items) == SEED_CHUNKS
    assert stall.longest_gap_before() == 10 and stall.times[9] >= 1.0 > plain.times[9]
    assert ttft.longest_gap_before() == 1 and ttft.times[0] >= 1.0 > plain.times[0]
    assert all(t >= k / 40 for k, t in enumerate(tps.times))
    assert tps.times[-1] >= (SEED_CHUNKS - 1) / 40 > plain.times[-1]


def test_p_with_a_seed_gives_the_same_faults_after_every_reset(seed: Path) -> None:
    with serving(seed, on_exhausted="repeat", faults=("http=500,p=0.2,seed=7",)) as server:

        def run() -> list[bool]:
            httpx.post(f"{server.base_url}/_llmreel/reset", timeout=10)
            with _openai(server.base_url, max_retries=0) as client:
                return [
                    isinstance(_stream(client).error, openai.InternalServerError) for _ in range(20)
                ]

        first, second = run(), run()
    rng = random.Random(7)
    assert first == second == [rng.random() < 0.2 for _ in range(20)]


def test_a_fault_header_on_one_client_leaves_a_concurrent_client_untouched(seed: Path) -> None:
    results: dict[str, Arrival] = {}
    with serving(seed, on_exhausted="repeat") as server:

        def run(name: str, fault: str | None) -> None:
            headers = {"X-Llmreel-Fault": fault} if fault else {}
            with _openai(server.base_url, max_retries=0, default_headers=headers) as client:
                results[name] = _stream(client)

        threads = [
            threading.Thread(target=run, args=("faulted", "ttft=1.0,cut=5")),
            threading.Thread(target=run, args=("plain", None)),
            threading.Thread(target=run, args=("limited", "http=429")),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        entries = _journal(server.base_url)
    assert len(results["plain"].items) == SEED_CHUNKS and results["plain"].error is None
    assert len(results["faulted"].items) == 5 and results["faulted"].error is not None
    assert isinstance(results["limited"].error, openai.RateLimitError)
    assert sorted((e["fault"] or "-", e["outcome"]) for e in entries) == [
        ("-", "hit"),
        ("http=429", "fault"),
        ("ttft=1.0,cut=5", "hit"),
    ]


def test_reset_and_timeout_close_the_connection_without_a_response(seed: Path) -> None:
    with serving(seed) as server:
        with (
            _openai(
                server.base_url, max_retries=0, default_headers={"X-Llmreel-Fault": "reset"}
            ) as client,
            pytest.raises(openai.APIConnectionError) as reset,
        ):
            client.chat.completions.create(model=SEED_MODEL, messages=SEED_MESSAGES)
        with (
            _openai(
                server.base_url,
                max_retries=0,
                timeout=0.3,
                default_headers={"X-Llmreel-Fault": "timeout"},
            ) as client,
            pytest.raises(openai.APITimeoutError),
        ):
            client.chat.completions.create(model=SEED_MODEL, messages=SEED_MESSAGES)
        # A bound shorter than the client's patience: the server gives up and closes.
        with (
            _openai(
                server.base_url,
                max_retries=0,
                timeout=30,
                default_headers={"X-Llmreel-Fault": "timeout=0.3"},
            ) as client,
            pytest.raises(openai.APIConnectionError) as bounded,
        ):
            client.chat.completions.create(model=SEED_MODEL, messages=SEED_MESSAGES)
        deadline = time.monotonic() + 10
        while len(entries := _journal(server.base_url)) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)  # the server journals a request when it has finished with it
    assert isinstance(reset.value.__cause__, httpx2.ReadError)
    assert "Connection reset by peer" in str(reset.value.__cause__)
    assert not isinstance(bounded.value, openai.APITimeoutError)
    assert [(e["outcome"], e["status"]) for e in entries] == [("fault", 0)] * 3
    assert [e["note"] for e in entries] == [
        "injected connection reset before any response",
        "injected: no response; the client gave up",
        "injected: no response; closed after 0.3s",
    ]


def test_ollama_through_the_server_gets_its_error_shape_and_cut_ndjson(
    shared_dir: Path, tmp_path: Path
) -> None:
    directory = ollama_cassette(shared_dir, tmp_path / "ollama")
    body = ollama_payload(shared_dir)
    with serving(directory, on_exhausted="repeat") as server:
        busy = ollama.Client(host=server.base_url, headers={"X-Llmreel-Fault": "http=503"})
        with pytest.raises(ollama.ResponseError) as err:
            list(busy.generate(**body))
        cut = ollama.Client(host=server.base_url, headers={"X-Llmreel-Fault": "cut=1"})
        got = Arrival.of(lambda: cut.generate(**body))
    assert err.value.status_code == 503 and err.value.error.startswith("server busy")
    assert len(got.items) == 1 and isinstance(got.error, httpx.RemoteProtocolError)


def test_recording_through_the_server_keeps_the_truth_and_never_forwards_the_header(
    faulty: FaultyUpstream, tmp_path: Path
) -> None:
    with serving(tmp_path, mode="record", upstream=faulty.base_url) as server:
        limited = {"X-Llmreel-Fault": "http=429"}
        with (
            _openai(server.base_url, max_retries=0, default_headers=limited) as client,
            pytest.raises(openai.RateLimitError),
        ):
            client.chat.completions.create(model="m", messages=SEED_MESSAGES)
        assert faulty.received == []  # answered by the fault: the upstream never saw it
        cut = {"X-Llmreel-Fault": "cut=2"}
        with _openai(server.base_url, max_retries=0, default_headers=cut) as client:
            got = Arrival.of(
                lambda: client.chat.completions.create(
                    model="m", messages=SEED_MESSAGES, stream=True
                )
            )
        entries = _journal(server.base_url)
    assert len(got.items) == 2 and isinstance(got.error, openai.APIConnectionError)
    assert [r.headers.get("x-llmreel-fault") for r in faulty.received] == [None]
    (recording,) = sorted(tmp_path.glob("*.json"))
    recorded = llmreel.load_file(recording).response
    assert recorded.complete and recorded.events[-1].data == "[DONE]" and len(recorded.events) > 2
    assert [(e["outcome"], e["fault"]) for e in entries] == [
        ("fault", "http=429"),
        ("recorded", "cut=2"),
    ]
    assert entries[1]["file"] == recording.name
