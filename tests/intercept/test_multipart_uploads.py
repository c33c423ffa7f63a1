"""Multipart uploads recorded once replay on the next run; a different file misses, readably.

The real ``openai`` SDK picks a new random boundary for every upload, so before the
``multipart-form`` rule a recorded upload never replayed. The upstream is a fake OpenAI
speaking the files and audio wire format (llama.cpp serves neither), parsing forms with
Starlette's own parser.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

import llmreel
from llmreel.exceptions import SecretLeakError
from upstreams.openai_files import FakeOpenAIFiles, transcript_of
from upstreams.serving import run_app

# A tiny but real WAV header plus samples: what users upload in fixtures.
WAV = b"RIFF$\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00@\x1f\x00\x00" + bytes(range(200))
OTHER_WAV = WAV[:-1] + b"\x01"


@pytest.fixture
def files_upstream() -> Iterator[FakeOpenAIFiles]:
    upstream = FakeOpenAIFiles()
    with run_app(upstream.app) as base_url:
        upstream.base_url = base_url
        yield upstream


def _client(upstream: FakeOpenAIFiles) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{upstream.base_url}/v1", api_key="sk-test", max_retries=0)


def test_transcription_recorded_once_replays_with_a_new_boundary(
    files_upstream: FakeOpenAIFiles, tmp_path: Path
) -> None:
    client = _client(files_upstream)
    with llmreel.use_cassette(tmp_path, mode="record-if-missing") as rec:
        live = client.audio.transcriptions.create(
            model="whisper-1", file=("clip.wav", WAV, "audio/wav"), language="en"
        )
    assert rec.recorded == 1 and live.text == transcript_of(WAV)
    seen = files_upstream.requests_seen

    # The next run: the SDK builds the form again, with another random boundary.
    with llmreel.use_cassette(tmp_path, mode="replay") as rep:
        again = client.audio.transcriptions.create(
            model="whisper-1", file=("clip.wav", WAV, "audio/wav"), language="en"
        )
    assert rep.played == 1 and not rep.misses
    assert again.text == live.text
    assert files_upstream.requests_seen == seen  # never reached the upstream


def test_streamed_transcription_replays_event_by_event(
    files_upstream: FakeOpenAIFiles, tmp_path: Path
) -> None:
    client = _client(files_upstream)

    def run() -> list[str]:
        stream = client.audio.transcriptions.create(
            model="gpt-4o-transcribe", file=("clip.wav", WAV, "audio/wav"), stream=True
        )
        return [event.type for event in stream]

    with llmreel.use_cassette(tmp_path, mode="record-if-missing"):
        live = run()
    with llmreel.use_cassette(tmp_path, mode="replay") as rep:
        replayed = run()
    assert rep.played == 1
    assert replayed == live and live[-1] == "transcript.text.done" and len(live) == 7


def test_files_create_replays_and_a_different_file_misses_with_a_readable_diff(
    files_upstream: FakeOpenAIFiles, tmp_path: Path
) -> None:
    client = _client(files_upstream)
    with llmreel.use_cassette(tmp_path, mode="record-if-missing"):
        live = client.files.create(file=("data.jsonl", b'{"a": 1}\n'), purpose="batch")
    with llmreel.use_cassette(tmp_path, mode="replay") as rep:
        again = client.files.create(file=("data.jsonl", b'{"a": 1}\n'), purpose="batch")
    assert rep.played == 1 and again.id == live.id

    with (
        pytest.raises(llmreel.ReplayMissError) as miss,
        llmreel.use_cassette(tmp_path, mode="replay"),
        pytest.raises(openai.NotFoundError),
    ):
        client.files.create(file=("data.jsonl", b'{"a": 2}\n'), purpose="batch")
    message = str(miss.value)
    assert "similarity 100" not in message
    # The diff names the part that changed: the file's size stays, its digest does not.
    assert '"filename": "data.jsonl"' in message
    assert '-      "sha256": "' in message and '+      "sha256": "' in message


def test_a_changed_text_field_misses_and_the_diff_shows_it(
    files_upstream: FakeOpenAIFiles, tmp_path: Path
) -> None:
    client = _client(files_upstream)
    with llmreel.use_cassette(tmp_path, mode="record-if-missing"):
        client.audio.transcriptions.create(
            model="whisper-1", file=("clip.wav", WAV, "audio/wav"), language="en"
        )
    with (
        llmreel.use_cassette(tmp_path, mode="replay", on_miss="raise"),
        pytest.raises(llmreel.ReplayMissError) as err,
    ):
        client.audio.transcriptions.create(
            model="whisper-1", file=("clip.wav", WAV, "audio/wav"), language="fr"
        )
    message = str(err.value)
    assert '-    "language": "en",' in message and '+    "language": "fr",' in message
    assert 'changed words: "language": [-"en",-] {+"fr",+}' in message


def test_another_audio_file_misses(files_upstream: FakeOpenAIFiles, tmp_path: Path) -> None:
    client = _client(files_upstream)
    with llmreel.use_cassette(tmp_path, mode="record-if-missing"):
        client.audio.transcriptions.create(model="whisper-1", file=("clip.wav", WAV, "audio/wav"))
    with (
        pytest.raises(llmreel.ReplayMissError, match="sha256"),
        llmreel.use_cassette(tmp_path, mode="replay"),
        pytest.raises(openai.NotFoundError),
    ):
        client.audio.transcriptions.create(
            model="whisper-1", file=("clip.wav", OTHER_WAV, "audio/wav")
        )


def test_with_the_rule_off_a_new_boundary_misses(
    files_upstream: FakeOpenAIFiles, tmp_path: Path
) -> None:
    client = _client(files_upstream)
    off = {"canonical_off": ["multipart-form"]}
    with llmreel.use_cassette(tmp_path, mode="record-if-missing", **off):
        client.files.create(file=("a.txt", b"hello"), purpose="assistants")
    with (
        llmreel.use_cassette(tmp_path, mode="replay", on_miss="respond", **off) as rep,
        pytest.raises(openai.NotFoundError) as err,
    ):
        client.files.create(file=("a.txt", b"hello"), purpose="assistants")
    assert rep.misses and "raw_sha256" in str(err.value)
    # And the same recording replays with the rule on: rekeyed from the file as it loads.
    with llmreel.use_cassette(tmp_path, mode="replay") as rep2:
        client.files.create(file=("a.txt", b"hello"), purpose="assistants")
    assert rep2.played == 1


def test_a_credential_form_field_is_refused_or_redacted(
    files_upstream: FakeOpenAIFiles, tmp_path: Path
) -> None:
    client = _client(files_upstream)
    token = "Zq9xT3vLm2Pw8RkN4bYc"  # no provider prefix: only its field name gives it away
    extra = {"api_key": token}
    with (
        llmreel.use_cassette(tmp_path / "refused", mode="record"),
        pytest.raises(SecretLeakError) as err,
    ):
        client.files.create(file=("a.txt", b"hi"), purpose="assistants", extra_body=extra)
    assert "request.form.api_key" in str(err.value)
    assert files_upstream.requests_seen == 0  # refused before it cost an upstream call

    where = tmp_path / "redacted"
    with llmreel.use_cassette(where, mode="record", normalizers=["redact:api_key"]):
        client.files.create(file=("a.txt", b"hi"), purpose="assistants", extra_body=extra)
    (written,) = where.glob("*.json")
    assert token not in written.read_text()
    doc = json.loads(written.read_text())
    assert "<redacted>" in doc["request"]["text"]
    # The redacted recording still replays: the key was computed with the field redacted.
    with llmreel.use_cassette(where, mode="replay", normalizers=["redact:api_key"]) as rep:
        client.files.create(file=("a.txt", b"hi"), purpose="assistants", extra_body=extra)
    assert rep.played == 1
