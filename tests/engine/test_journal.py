"""The journal in process: ``cassette.journal`` says what happened to each request.

The seed (a real llama-stack recording of an Ollama chat stream) replayed through the real
openai SDK; a miss; a recording made against the faulty upstream; entries numbered in the
order requests finished, from many threads at once.
"""

from __future__ import annotations

import datetime as dt
import shutil
import threading
from pathlib import Path

import openai
import pytest

import llmreel
from llmreel.engine import Journal, JournalLog
from llmreel.model.interaction import Request
from server_helpers import SEED_MESSAGES, SEED_MODEL, SEED_NAME
from upstreams.faulty import FaultyUpstream


@pytest.fixture
def seed_dir(shared_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "seed"
    target.mkdir()
    shutil.copy(shared_dir / "seed" / SEED_NAME, target / SEED_NAME)
    return target


def _client(base_url: str = "http://127.0.0.1:9/v1") -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key="sk-test", max_retries=0)


def test_a_replayed_stream_and_a_miss_are_journaled_with_their_details(seed_dir: Path) -> None:
    with llmreel.use_cassette(seed_dir, on_miss="respond") as cassette, _client() as client:
        chunks = list(
            client.chat.completions.create(model=SEED_MODEL, messages=SEED_MESSAGES, stream=True)
        )
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.create(
                model=SEED_MODEL, messages=[{"role": "user", "content": "What is 2+2?"}]
            )
    hit, miss = cassette.journal
    assert (hit.seq, miss.seq) == (1, 2)
    assert hit.outcome == "hit" and hit.status == 200
    assert hit.method == "POST" and hit.path == "/v1/chat/completions"
    assert hit.model == SEED_MODEL and hit.file == SEED_NAME and hit.fault is None
    assert hit.events == len(chunks) + 1  # every chunk, then [DONE]
    assert hit.key and len(hit.key) == 64
    assert hit.first_event_ms is not None and hit.duration_ms >= hit.first_event_ms
    assert dt.datetime.fromisoformat(hit.time).tzinfo is not None
    assert miss.outcome == "miss" and miss.status == 404 and miss.file is None
    assert miss.note is not None and miss.note.startswith("replay miss:")
    assert miss.miss is not None and SEED_NAME in miss.miss and "2+2" in miss.miss
    as_dict = hit.as_dict()
    for name in (
        "seq",
        "time",
        "cassette",
        "method",
        "path",
        "model",
        "outcome",
        "status",
        "duration_ms",
        "fault",
        "file",
        "key",
        "note",
        "miss",
    ):
        assert name in as_dict


def test_a_recording_is_journaled_when_it_is_written(
    tmp_path: Path, faulty: FaultyUpstream
) -> None:
    with (
        llmreel.use_cassette(tmp_path, mode="record") as cassette,
        _client(f"{faulty.base_url}/v1") as client,
    ):
        list(
            client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "one two"}], stream=True
            )
        )
    (entry,) = cassette.journal
    assert entry.outcome == "recorded" and entry.status == 200
    assert entry.file is not None and (tmp_path / entry.file).is_file()
    assert entry.events is not None and entry.events > 1


def test_a_stream_nobody_read_is_closed_in_the_journal_when_the_cassette_ends(
    seed_dir: Path,
) -> None:
    with llmreel.use_cassette(seed_dir, pace=1.0) as cassette, _client() as client:
        stream = client.chat.completions.create(
            model=SEED_MODEL, messages=SEED_MESSAGES, stream=True
        )
        assert cassette.journal == []  # not finished while it is being read
    (entry,) = cassette.journal
    assert entry.outcome == "client-left" and "never read" in (entry.note or "")
    stream.close()


def test_sequence_numbers_follow_the_order_entries_join_a_shared_log() -> None:
    log = JournalLog(keep=100)
    journals = [Journal(f"c{i}", shared=log) for i in range(4)]
    request = Request("POST", "http://x/v1/chat/completions", "/v1/chat/completions")

    def work(j: Journal) -> None:
        for _ in range(50):
            j.begin(request).finish("hit", 200)

    threads = [threading.Thread(target=work, args=(j,)) for j in journals]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    entries = log.entries()
    assert len(entries) == 100  # bounded: the oldest were dropped
    assert [e.seq for e in entries] == list(range(101, 201))
    assert log.total == 200
    assert all(len(j) == 50 for j in journals)
    assert log.entries(since=195, cassette="c0") == [
        e for e in entries if e.seq > 195 and e.cassette == "c0"
    ]


def test_an_entry_is_finished_once() -> None:
    journal = Journal("c")
    pending = journal.begin(Request("GET", "http://x/v1/models", "/v1/models"))
    first = pending.finish("hit", 200)
    assert first is not None and pending.finish("error", 500) is None
    assert [e.outcome for e in journal] == ["hit"]
