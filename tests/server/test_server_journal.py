"""The server's journal: ``GET /_llmreel/journal`` (paged, per cassette) and its SSE stream.

Real parts: ``llmreel serve`` on a thread on 127.0.0.1, the real openai SDK replaying the
seed recording, httpx reading the Server-Sent Events stream as requests complete.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import threading
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from server_helpers import CASSETTE_HEADER, SEED_MESSAGES, SEED_MODEL, SEED_NAME, serving


@pytest.fixture
def two_cassettes(shared_dir: Path, tmp_path: Path) -> Path:
    for name in ("alice", "bob"):
        (tmp_path / name).mkdir()
        shutil.copy(shared_dir / "seed" / SEED_NAME, tmp_path / name / SEED_NAME)
    return tmp_path


def _ask(base_url: str, cassette: str, content: str = SEED_MESSAGES[0]["content"]) -> None:
    client = openai.OpenAI(
        base_url=f"{base_url}/v1",
        api_key="sk-test",
        max_retries=0,
        default_headers={CASSETTE_HEADER: cassette},
    )
    with client, contextlib.suppress(openai.NotFoundError):
        list(
            client.chat.completions.create(
                model=SEED_MODEL, messages=[{"role": "user", "content": content}], stream=True
            )
        )


def test_journal_lists_each_request_in_order_per_cassette_and_pages_with_since(
    two_cassettes: Path,
) -> None:
    with serving(two_cassettes) as server:
        _ask(server.base_url, "alice")
        _ask(server.base_url, "bob")
        _ask(server.base_url, "alice", "What is the capital of Spain?")
        everything = httpx.get(f"{server.base_url}/_llmreel/journal").json()
        alice = httpx.get(f"{server.base_url}/_llmreel/journal?cassette=alice").json()
        later = httpx.get(f"{server.base_url}/_llmreel/journal?since=1").json()
        nothing_new = httpx.get(
            f"{server.base_url}/_llmreel/journal?since={everything['next']}"
        ).json()
        bad = httpx.get(f"{server.base_url}/_llmreel/journal?since=soon")
        escaping = httpx.get(f"{server.base_url}/_llmreel/journal?cassette=../x")
    entries = everything["entries"]
    assert [e["seq"] for e in entries] == [1, 2, 3] and everything["next"] == 3
    assert [(e["cassette"], e["outcome"], e["status"]) for e in entries] == [
        ("alice", "hit", 200),
        ("bob", "hit", 200),
        ("alice", "miss", 404),
    ]
    hit, miss = entries[0], entries[2]
    assert hit["file"] == SEED_NAME and hit["events"] == 47 and hit["model"] == SEED_MODEL
    assert hit["path"] == "/v1/chat/completions" and hit["method"] == "POST"
    assert hit["fault"] is None and len(hit["key"]) == 64 and hit["time"].endswith("Z")
    assert miss["note"].startswith("replay miss: no recording in cassette")
    assert SEED_NAME in miss["miss"] and "Spain" in miss["miss"]  # closest recording, diff
    assert [e["seq"] for e in alice["entries"]] == [1, 3]
    assert [e["seq"] for e in later["entries"]] == [2, 3] and later["next"] == 3
    assert nothing_new == {"entries": [], "next": 3}
    assert bad.status_code == 400 and "since" in bad.json()["error"]
    assert escaping.status_code == 400


def _read_stream(url: str, want: int, out: list[dict[str, Any]], ready: threading.Event) -> None:
    with httpx.stream("GET", url, timeout=httpx.Timeout(10.0)) as response:
        ready.set()
        event = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "entry":
                out.append(json.loads(line[6:]))
                if len(out) >= want:
                    return


def test_journal_stream_pushes_each_entry_as_its_request_completes(two_cassettes: Path) -> None:
    with serving(two_cassettes) as server:
        _ask(server.base_url, "alice")  # before the stream opens: sent as backlog
        got: list[dict[str, Any]] = []
        ready = threading.Event()
        reader = threading.Thread(
            target=_read_stream,
            args=(f"{server.base_url}/_llmreel/journal/stream?cassette=bob", 2, got, ready),
        )
        reader.start()
        assert ready.wait(10)
        _ask(server.base_url, "alice")  # another cassette: filtered out
        _ask(server.base_url, "bob")
        _ask(server.base_url, "bob", "What is the capital of Spain?")
        reader.join(15)
        assert not reader.is_alive()
    assert [(e["cassette"], e["outcome"]) for e in got] == [("bob", "hit"), ("bob", "miss")]
    assert got[0]["seq"] < got[1]["seq"]


def test_journal_stream_starts_after_since(two_cassettes: Path) -> None:
    with serving(two_cassettes) as server:
        for _ in range(3):
            _ask(server.base_url, "alice")
        got: list[dict[str, Any]] = []
        url = f"{server.base_url}/_llmreel/journal/stream?since=1"
        _read_stream(url, 2, got, threading.Event())
    assert [e["seq"] for e in got] == [2, 3]


def test_an_open_journal_stream_ends_when_the_server_stops(two_cassettes: Path) -> None:
    got: list[dict[str, Any]] = []
    ready = threading.Event()
    with serving(two_cassettes, shutdown_grace=0.0) as server:
        reader = threading.Thread(
            target=_read_stream,
            args=(f"{server.base_url}/_llmreel/journal/stream", 99, got, ready),
        )
        reader.start()
        assert ready.wait(10)
        _ask(server.base_url, "alice")
    reader.join(10)
    assert not reader.is_alive()  # the stream ended with the server, it did not hang
    assert [e["outcome"] for e in got] == ["hit"]
