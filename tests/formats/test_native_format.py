"""The native file format: readable, stable, small, versioned."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import llmreel
from llmreel.formats import native
from llmreel.model.interaction import Event, Interaction, Request, Response

SEED = Path(__file__).resolve().parents[3] / "shared" / "seed" / "000_982269f9e631f14c.txt"


def _stream_interaction() -> Interaction:
    events = [
        Event(t=0.01 * i, data=json.dumps({"i": i, "text": f"tok{i}"}, separators=(",", ":")))
        for i in range(5)
    ]
    events.append(Event(t=0.06, data="[DONE]"))
    events.insert(1, Event(t=0.011, comment="keep-alive"))
    events.insert(2, Event(t=0.012, event="ping", id="7", data='{"a": 1}'))  # not compact JSON
    return Interaction(
        request=Request(
            method="POST",
            url="http://h/v1/chat/completions",
            path="/v1/chat/completions",
            headers={"content-type": "application/json"},
            body={"model": "m", "stream": True},
        ),
        response=Response(
            status=200, headers={"content-type": "text/event-stream"}, stream="sse", events=events
        ),
        key="k" * 64,
        position=0,
        recorded_at="2026-11-25T00:00:00+00:00",
    )


def test_round_trip_keeps_every_event_field_and_boundary(tmp_path: Path) -> None:
    inter = _stream_interaction()
    path = tmp_path / "r.json"
    path.write_bytes(native.dumps(inter))
    back = llmreel.load_file(path)
    assert back.response.events == inter.response.events
    assert back.response.wire_chunks() == inter.response.wire_chunks()
    assert back.request.body == inter.request.body


def test_file_is_valid_json_with_one_event_per_line() -> None:
    data = native.dumps(_stream_interaction()).decode()
    json.loads(data)
    event_lines = [ln for ln in data.splitlines() if ln.startswith('{"t":')]
    assert len(event_lines) == 8
    # compact JSON events are stored as JSON (readable), others verbatim
    assert '"json":{"i":0' in data and '"data":"{\\"a\\": 1}"' in data


def test_same_interaction_serializes_to_identical_bytes() -> None:
    assert native.dumps(_stream_interaction()) == native.dumps(_stream_interaction())


def test_newer_format_version_fails_with_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "future.json"
    doc = json.loads(native.dumps(_stream_interaction()))
    doc["llmreel"] = 99
    path.write_text(json.dumps(doc))
    with pytest.raises(llmreel.FormatVersionError) as err:
        llmreel.load_file(path)
    assert "future.json" in str(err.value) and "99" in str(err.value)
    assert "Upgrade llmreel" in str(err.value)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "empty"),
        (b'{"llmreel":1,"request":', "truncated"),
        (b"\xff\xfe", "not valid JSON"),
        (b'{"llmreel":1,"request":[],"response":{}}', "request should be dict"),
    ],
)
def test_damaged_files_name_the_file_and_the_problem(
    tmp_path: Path, content: bytes, words: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(llmreel.RecordingFileError) as err:
        llmreel.load_file(path)
    assert str(path) in str(err.value) and words in str(err.value)


@pytest.mark.skipif(not SEED.exists(), reason="shared/seed is not next to this checkout")
def test_seed_takes_under_half_of_llama_stack_indent2_bytes() -> None:
    ours = native.dumps(llmreel.load_file(SEED))
    theirs = json.dumps(json.loads(SEED.read_text()), indent=2).encode() + b"\n"
    assert len(ours) * 2 < len(theirs), (len(ours), len(theirs))
