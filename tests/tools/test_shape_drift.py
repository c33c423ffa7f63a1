"""The structure of answers and the drift between two structures, on recordings we did not make.

The conformance files (llama-stack's public recordings, both generations) cannot be sent
again (their upstreams are gone), so the comparison is proved on them directly: each one
against itself, against a copy changed on disk the way providers change their APIs, and
against recordings of the same API made by other recorders on other days.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from llmreel.formats import load_file
from llmreel.model.interaction import Event, Response
from llmreel.tools.drift import compare, compare_schemas
from llmreel.tools.shape import ResponseShape, add_to_schema, shape_of
from llmreel.tools.verify import answer_text, targets
from synthetic_corpus import conformance_dir

CONF = conformance_dir()
pytestmark = pytest.mark.skipif(CONF is None, reason="conformance data not available")

ANTHROPIC_RAW = "2026/f22657bfd86db6348c0a0d0b17332dcfc038b345d2a7be8da4b880a433d36a52.json"
CHAT_TOOLS_USAGE = "2026/585a2cf2c22b0db155a6a94052836b34c42f68bf04b1b2cb74ddf00943c0442d.json"
CHAT_STREAM_2026 = "2026/37e10e6ac4dccb3a91333fcfe9a17806950b21da9470c98960495f3b9fe94ecd.json"
CHAT_STREAM_V02 = "v0.2/3ca695048bee.json"
COMPLETIONS_V02 = "v0.2/84cab42e1f5c.json"
COMPLETIONS_2026 = "2026/8567635651a5e7104394951bbbba040e5c7f3ba11084fb6e81328f4905100a65.json"
ERROR_400 = "2026/f300a8b24123c89ca028f21f6cf29326be28a95f61b23ec98fd75ed257ade6d7.json"
OLLAMA_NDJSON = "v0.2/dd9e7d5913e9.json"


def ls(name: str) -> Path:
    assert CONF is not None
    return CONF / "llama-stack" / name


def shape(path: Path) -> ResponseShape:
    return shape_of(load_file(path).response)


def texts(recorded: Path, live: Path) -> list[str]:
    return [d.text for d in compare(shape(recorded), shape(live))]


def edit(src: Path, dst: Path, change: Any) -> Path:
    """A copy of a llama-stack recording with ``change(doc)`` applied to its JSON."""
    doc = json.loads(src.read_text())
    change(doc)
    dst.write_text(json.dumps(doc, indent=2))
    return dst


# --------------------------------------------------------------------------- extraction


def test_every_conformance_recording_has_a_shape_and_matches_itself() -> None:
    assert CONF is not None
    found, unreadable = targets([CONF, CONF.parent / "seed"])
    assert unreadable == [] and len(found) >= 20
    for t in found:
        s = shape_of(t.inter.response)
        assert s.body or s.events, t.name
        again = shape_of(load_file(t.path).response)
        assert compare(s, again) == [], t.name
        assert compare(s, s) == [], t.name


def test_stream_event_types_come_from_event_names_type_and_object_fields() -> None:
    anthropic = shape(ls(ANTHROPIC_RAW))
    assert anthropic.stream == "sse" and anthropic.usage
    # Two content blocks (thinking, then text): repeated runs stay, each run is one entry.
    assert anthropic.sequence[:3] == ["message_start", "content_block_start", "content_block_delta"]
    assert anthropic.sequence[-2:] == ["message_delta", "message_stop"]
    assert anthropic.events["content_block_delta"]["delta.type"].values == {
        "thinking_delta",
        "text_delta",
    }
    chat = shape(ls(CHAT_TOOLS_USAGE))
    assert chat.sequence == ["chat.completion.chunk", "[DONE]"]
    chunk = chat.events["chat.completion.chunk"]
    assert chunk["choices[].delta.role"].values == {"assistant"}
    assert chunk["usage"].types == {"null", "object"}
    # Tool-call arguments are the model's words: a string in OpenAI's API, never descended.
    assert chunk["choices[].delta.tool_calls[].function.arguments"].types == {"string"}
    ollama = shape(ls(OLLAMA_NDJSON))
    assert ollama.stream == "ndjson" and ollama.sequence == ["chunk"] and ollama.usage


def test_an_error_recording_keeps_its_status_and_message() -> None:
    s = shape(ls(ERROR_400))
    assert s.status_class == "4xx" and s.body_kind == "json"
    assert s.error  # the provider's own message, shown when a live answer turns into an error


def test_maps_keyed_by_data_are_not_fields() -> None:
    schema: dict[str, Any] = {}
    add_to_schema(schema, {"content": [{"type": "tool_use", "input": {"city": "Paris"}}]})
    other: dict[str, Any] = {}
    add_to_schema(other, {"content": [{"type": "tool_use", "input": {"town": "Lyon", "n": 2}}]})
    assert compare_schemas(schema, other) == []
    logprobs: dict[str, Any] = {}
    add_to_schema(logprobs, {"top": {" the": -0.1, " a": -2.5}})
    assert set(logprobs) == {"", "top"}


# --------------------------------------------------------------------------- drift


def test_changes_made_to_a_raw_anthropic_stream_are_each_named(tmp_path: Path) -> None:
    src = ls(ANTHROPIC_RAW)

    def change(doc: dict[str, Any]) -> None:
        lines = []
        for line in doc["response"]["body"]:
            if line == "event: content_block_delta":
                line = "event: content_block_chunk"
            elif line.startswith("data: {"):
                data = json.loads(line[6:])
                data["cache_hint"] = None
                data.pop("usage", None)
                if isinstance(data.get("message"), dict):
                    data["message"].pop("usage", None)
                line = "data: " + json.dumps(data)
            lines.append(line)
        doc["response"]["body"] = lines

    changed = edit(src, tmp_path / src.name, change)
    found = texts(src, changed)
    assert "`usage` missing" in found
    assert (
        "events: event type `content_block_chunk` never seen before, and `content_block_delta` "
        "no longer sent (renamed?)"
    ) in found
    assert "events (every type): new field `cache_hint` (null)" in found
    assert len(found) == 3, found
    assert texts(changed, src)[0] == "`usage` now sent"


def test_a_new_delta_field_in_sdk_recorded_chat_chunks_is_named_at_its_path(
    tmp_path: Path,
) -> None:
    src = ls(CHAT_TOOLS_USAGE)

    def change(doc: dict[str, Any]) -> None:
        for item in doc["response"]["body"]:
            for choice in item["__data__"]["choices"]:
                choice["delta"]["reasoning_content"] = "thinking..."
                choice["finish_reason"] = choice["finish_reason"] and "max_output"

    found = texts(src, edit(src, tmp_path / src.name, change))
    assert found == [
        "events: new field `choices[].delta.reasoning_content` (string)",
        'events: `choices[].finish_reason` has a value never seen before: "max_output" '
        '(recorded: "tool_calls")',
    ]


def test_a_json_body_that_becomes_an_error_names_the_status_and_the_message(
    tmp_path: Path,
) -> None:
    src = ls(CHAT_STREAM_V02)
    error = ls(ERROR_400)
    found = texts(src, error)
    assert len(found) == 1
    assert found[0].startswith("status 200 -> 400, body shape changed (")


def test_a_stream_that_becomes_a_json_body_is_named() -> None:
    found = texts(ls(CHAT_STREAM_V02), ls("v0.2/3c0bf9ba81b2.json"))
    assert found == ["stream: sse -> none (json body)"]


def test_ending_values_that_follow_the_text_are_not_drift() -> None:
    def chunk(reason: str | None) -> Response:
        data = {"object": "chat.completion.chunk", "choices": [{"finish_reason": reason}]}
        return Response(200, stream="sse", events=[Event(0.0, data=json.dumps(data))])

    assert compare(shape_of(chunk("stop")), shape_of(chunk("length"))) == []
    [drift] = compare(shape_of(chunk("stop")), shape_of(chunk("stopped_by_policy")))
    assert "stopped_by_policy" in drift.text


# --------------------------------------------------------------------------- other recorders


@pytest.mark.parametrize(
    ("first", "second"),
    [(COMPLETIONS_V02, COMPLETIONS_2026), (CHAT_STREAM_V02, CHAT_STREAM_2026)],
    ids=["completions", "chat"],
)
def test_the_same_api_recorded_months_apart_has_the_same_structure(first: str, second: str) -> None:
    # Another recorder generation, months later, with other words: the same API.
    a, b = load_file(ls(first)), load_file(ls(second))
    assert answer_text(a) != answer_text(b)
    assert compare(shape_of(a.response), shape_of(b.response)) == []


def test_the_seed_against_a_tool_calling_answer_names_only_the_tool_calls(
    tmp_path: Path,
) -> None:
    assert CONF is not None
    seed = CONF.parent / "seed" / "000_982269f9e631f14c.txt"
    copy = shutil.copy(seed, tmp_path / seed.name)
    assert texts(Path(copy), ls(CHAT_STREAM_V02)) == [
        "events: `choices[].delta.tool_calls` was null, now also array"
    ]


def test_ollama_counts_are_its_usage_and_are_named_once(tmp_path: Path) -> None:
    src = ls(OLLAMA_NDJSON)

    def change(doc: dict[str, Any]) -> None:
        for item in doc["response"]["body"]:
            item["__data__"].pop("eval_count", None)
            item["__data__"].pop("prompt_eval_count", None)
            item["__data__"]["done_reason"] = item["__data__"]["done_reason"] and "evicted"

    found = texts(src, edit(src, tmp_path / src.name, change))
    assert found == [
        "`usage` missing",
        'events: `done_reason` has a value never seen before: "evicted" (recorded: "stop")',
    ]
