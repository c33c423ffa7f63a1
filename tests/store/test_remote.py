"""Cassettes on object storage, against a real S3 API on 127.0.0.1 (moto's server).

Round trips through the real openai SDK, positions claimed by concurrent recorder
processes, uploads cut on the wire, a store that goes away, and credentials that
must reach no object and no log.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import openai
import pytest

import llmreel
from llmreel.exceptions import ConfigError, WriteFailedError
from llmreel.store import RemoteCassette
from llmreel.store.remote import RemoteLocation
from llmreel.store.remote.objects import ObjectStore
from upstreams.faulty import FaultyUpstream
from upstreams.s3 import MotoS3, with_env
from upstreams.serving import LOOPBACK

MESSAGES = [{"role": "user", "content": "Say something about object storage."}]
TESTS_DIR = Path(__file__).resolve().parents[1]


def _chat(client: openai.OpenAI, text: str, *, stream: bool) -> str:
    messages = [{"role": "user", "content": text}]
    if stream:
        chunks = client.chat.completions.create(model="m", messages=messages, stream=True)  # type: ignore[arg-type,call-overload]
        return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    done = client.chat.completions.create(model="m", messages=messages)  # type: ignore[arg-type,call-overload]
    return done.choices[0].message.content or ""


def test_streams_and_plain_answers_round_trip_through_the_store(
    s3: MotoS3, faulty: FaultyUpstream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = s3.bucket()
    url = f"s3://{bucket}/suite/chat"
    client = openai.OpenAI(base_url=f"{faulty.base_url}/v1", api_key="sk-test", max_retries=0)
    with llmreel.use_cassette(url, mode="record-if-missing") as cas:
        live = [_chat(client, "one", stream=True), _chat(client, "two", stream=False)]
    assert cas.recorded == 2 and cas.location == url
    keys = sorted(s3.objects(bucket))
    assert len(keys) == 2 and all(k.startswith("suite/chat/chat-completions-") for k in keys)

    # Another machine: an empty cache, replay only, the upstream never asked.
    monkeypatch.setenv("LLMREEL_CACHE_DIR", str(tmp_path / "other-cache"))
    asked = len(faulty.received)
    with llmreel.use_cassette(url, mode="replay") as cas:
        replayed = [_chat(client, "one", stream=True), _chat(client, "two", stream=False)]
    assert replayed == live and cas.played == 2
    assert len(faulty.received) == asked


def test_a_warm_open_within_the_listing_lifetime_asks_the_store_nothing(
    s3: MotoS3, faulty: FaultyUpstream
) -> None:
    url = f"s3://{s3.bucket()}/quiet"
    body = {"model": "m", "messages": [{"role": "user", "content": "quiet"}]}
    with llmreel.use_cassette(url, mode="record-if-missing"), httpx.Client() as c:
        first = c.post(f"{faulty.base_url}/v1/chat/completions", json=body).json()
    with s3.stopped(), llmreel.use_cassette(url, mode="replay") as cas, httpx.Client() as c:
        # The store is down, and nothing notices: the listing and the file are cached.
        assert c.post(f"{faulty.base_url}/v1/chat/completions", json=body).json() == first
    assert cas.played == 1


def test_a_cold_cache_fetches_only_the_recordings_asked_for(
    s3: MotoS3, faulty: FaultyUpstream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = s3.bucket()
    url = f"s3://{bucket}/many"
    with llmreel.use_cassette(url, mode="record-if-missing"), httpx.Client() as c:
        for i in range(6):
            body = {"model": "m", "messages": [{"role": "user", "content": f"q{i}"}]}
            c.post(f"{faulty.base_url}/v1/chat/completions", json=body).raise_for_status()
    cold = tmp_path / "cold"
    monkeypatch.setenv("LLMREEL_CACHE_DIR", str(cold))
    with llmreel.use_cassette(url, mode="replay") as cas, httpx.Client() as c:
        body = {"model": "m", "messages": [{"role": "user", "content": "q3"}]}
        assert c.post(f"{faulty.base_url}/v1/chat/completions", json=body).status_code == 200
    fetched = [p for p in (cold / "objects").rglob("*") if p.is_file()]
    assert cas.played == 1 and len(fetched) == 1


_RECORDER = """
import json, os, sys, time, httpx, llmreel
url, upstream, index, calls, go = sys.argv[1:6]
index, calls = int(index), int(calls)
same = {"model": "m", "messages": [{"role": "user", "content": "the same request"}]}
with llmreel.use_cassette(url, mode="record-if-missing") as s, httpx.Client() as c:
    open(f"{go}.ready-{index}", "w").close()  # this process has listed the empty store
    while not os.path.exists(go):  # all start together
        time.sleep(0.005)
    for j in range(calls):
        h = {"x-fault-events": str(1 + index * 1000 + j)}
        c.post(upstream + "/v1/chat/completions", json=same, headers=h).raise_for_status()
print(json.dumps({"recorded": s.recorded}))
"""


def test_three_processes_recording_twenty_identical_requests_claim_positions_0_to_59(
    s3: MotoS3, faulty: FaultyUpstream, tmp_path: Path
) -> None:
    bucket = s3.bucket()
    url = f"s3://{bucket}/fleet"
    children = []
    go = tmp_path / "go"
    for i in range(3):
        env = with_env(
            {
                "LLMREEL_CACHE_DIR": str(tmp_path / f"runner-{i}"),
                "LLMREEL_REMOTE_LIST_TTL": "600",
                "PYTHONPATH": str(TESTS_DIR),
            }
        )
        children.append(
            subprocess.Popen(
                [sys.executable, "-c", _RECORDER, url, faulty.base_url, str(i), "20", str(go)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
        )
    deadline = time.monotonic() + 120
    while not all(Path(f"{go}.ready-{i}").exists() for i in range(3)):
        assert time.monotonic() < deadline and all(c.poll() is None for c in children)
        time.sleep(0.01)
    go.touch()
    outs = [child.communicate(timeout=120) for child in children]
    for child, (_, err) in zip(children, outs, strict=True):
        assert child.returncode == 0, err
    assert sum(json.loads(out)["recorded"] for out, _ in outs) == 60
    objects = s3.objects(bucket)
    positions = sorted(json.loads(data)["pos"] for data in objects.values())
    assert positions == list(range(60))
    # Each of the 60 answers (one per call, distinct token counts) is there exactly once.
    answers = Counter(
        json.loads(data)["response"]["body"]["usage"]["completion_tokens"]
        for data in objects.values()
    )
    assert len(answers) == 60 and set(answers.values()) == {1}


class _CuttingProxy:
    """Forwards TCP to the store, but cuts every upload after ``keep`` bytes of it."""

    def __init__(self, target_port: int, keep: int = 300) -> None:
        self.target_port = target_port
        self.keep = keep
        self.cuts = 0
        self.sock = socket.create_server((LOOPBACK, 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._pipe, args=(client,), daemon=True).start()

    def _pipe(self, client: socket.socket) -> None:
        upstream = socket.create_connection((LOOPBACK, self.target_port))

        def back() -> None:
            with contextlib.suppress(OSError):
                while data := upstream.recv(65536):
                    client.sendall(data)
            with contextlib.suppress(OSError):
                client.close()

        threading.Thread(target=back, daemon=True).start()
        sent = 0
        uploading = False
        with contextlib.suppress(OSError):
            while data := client.recv(65536):
                uploading = uploading or data.startswith(b"PUT ")
                if uploading and sent + len(data) > self.keep:
                    upstream.sendall(data[: self.keep - sent])
                    self.cuts += 1
                    break
                upstream.sendall(data)
                sent += len(data)
        for s in (upstream, client):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
                s.close()

    def close(self) -> None:
        self.sock.close()


def test_an_upload_cut_midway_leaves_no_object_and_says_nothing_was_written(
    s3: MotoS3, faulty: FaultyUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = s3.bucket()
    proxy = _CuttingProxy(s3.port)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{LOOPBACK}:{proxy.port}")
    try:
        with (
            pytest.raises(WriteFailedError, match="Nothing was written"),
            llmreel.use_cassette(f"s3://{bucket}/cut", mode="record", on_miss="raise"),
            httpx.Client() as c,
        ):
            body = {"model": "m", "messages": [{"role": "user", "content": "x" * 5000}]}
            c.post(f"{faulty.base_url}/v1/chat/completions", json=body)
    finally:
        proxy.close()
    assert proxy.cuts >= 1
    assert s3.objects(bucket) == {}


def test_a_warm_cache_keeps_replaying_when_the_store_is_down(
    s3: MotoS3,
    faulty: FaultyUpstream,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LLMREEL_REMOTE_LIST_TTL", "0")  # every open asks the store first
    bucket = s3.bucket()
    url = f"s3://{bucket}/warm"
    client = openai.OpenAI(base_url=f"{faulty.base_url}/v1", api_key="sk-test", max_retries=0)
    with llmreel.use_cassette(url, mode="record-if-missing"):
        live = _chat(client, "warm me", stream=True)
    with llmreel.use_cassette(url, mode="replay"):
        assert _chat(client, "warm me", stream=True) == live  # the cache is warm now
    caplog.set_level(logging.WARNING, logger="llmreel")
    with s3.stopped(), llmreel.use_cassette(url, mode="replay") as cas:
        assert _chat(client, "warm me", stream=True) == live
    assert cas.played == 1
    assert any("from the local cache" in r.getMessage() for r in caplog.records)


def test_the_store_credentials_reach_no_object_and_no_log(
    s3: MotoS3, faulty: FaultyUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bucket = s3.bucket()
    client = openai.OpenAI(base_url=f"{faulty.base_url}/v1", api_key="sk-test", max_retries=0)
    with llmreel.use_cassette(f"s3://{bucket}/keys", mode="record-if-missing"):
        _chat(client, "hello", stream=False)
    with (  # an error path too: a bucket that does not exist
        pytest.raises(WriteFailedError) as failed,
        llmreel.use_cassette("s3://no-such-bucket-here/x", mode="record", on_miss="raise"),
        httpx.Client() as c,
    ):
        c.post(f"{faulty.base_url}/v1/chat/completions", json={"model": "m", "messages": []})
    # Every log line but the test's own second S3 client's (boto3 logs its own signatures).
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("boto"))
    everything = [*s3.objects(bucket).values(), logged.encode(), str(failed.value).encode()]
    for secret in (s3.secret_key, s3.access_key):
        assert not any(secret.encode() in blob for blob in everything)


def test_a_recording_replaced_in_the_store_is_fetched_again(
    s3: MotoS3, faulty: FaultyUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMREEL_REMOTE_LIST_TTL", "0")  # the next open lists the store again
    bucket = s3.bucket()
    url = f"s3://{bucket}/edit"
    body = {"model": "m", "messages": [{"role": "user", "content": "edit me"}]}
    with llmreel.use_cassette(url, mode="record-if-missing"), httpx.Client() as c:
        first = c.post(f"{faulty.base_url}/v1/chat/completions", json=body).json()
    ((key, data),) = s3.objects(bucket).items()
    doc = json.loads(data)
    doc["response"]["body"]["choices"][0]["message"]["content"] = "edited in the bucket"
    store = ObjectStore(RemoteLocation.parse(url))
    store.put(key, json.dumps(doc).encode())
    with llmreel.use_cassette(url, mode="replay"), httpx.Client() as c:
        again = c.post(f"{faulty.base_url}/v1/chat/completions", json=body).json()
    assert first["choices"][0]["message"]["content"] != "edited in the bucket"
    assert again["choices"][0]["message"]["content"] == "edited in the bucket"


@pytest.mark.parametrize(
    "url",
    ["s3://user:secret@bucket/x", "s3://bucket/x?endpoint=http://evil", "s3://bucket/../up"],
)
def test_a_location_with_credentials_or_escapes_is_refused(url: str) -> None:
    with pytest.raises(ConfigError):
        RemoteCassette(url)
