"""Every body form of vcrpy cassettes is read, or the file is refused naming the field: no loss.

Forms: ``body`` as a string, ``body.string``, ``body.base64_string``, ``parsed_body`` (suites'
serializers), pickled ``BytesIO`` and chunk-list request bodies (old vcrpy), compressed bodies
(gzip, deflate, zstd; brotli when a decoder is installed). ``llmreel import`` keeps them all and
the recorded order of different requests (``meta.vcr.index``).
"""

from __future__ import annotations

import base64
import importlib.util
import json
from pathlib import Path
from typing import Any

import openai
import pytest
import yaml
import zstandard

import llmreel
from llmreel.exceptions import RecordingFileError
from llmreel.formats import load_file
from llmreel.formats.vcr import load_cassette, parse_cassette
from llmreel.tools.migrate import import_recordings

CHAT = "https://api.example.com/v1/chat/completions"
ANSWER = {"choices": [{"message": {"role": "assistant", "content": "Paris"}}]}


def _interaction(request: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    req = {"method": "POST", "uri": CHAT, "headers": {"content-type": ["application/json"]}}
    resp = {"status": {"code": 200, "message": "OK"}, "headers": {}}
    return {"request": {**req, **request}, "response": {**resp, **response}}


def _doc(*interactions: dict[str, Any]) -> dict[str, Any]:
    return {"version": 1, "interactions": list(interactions)}


def test_parsed_body_on_both_sides_is_read_in_full() -> None:
    asked = {"model": "gpt-4o", "messages": [{"role": "user", "content": "capital?"}]}
    [inter] = parse_cassette(
        _doc(_interaction({"parsed_body": asked}, {"parsed_body": ANSWER})), "c.yaml"
    )
    assert inter.request.body == asked
    assert inter.response.body == ANSWER


@pytest.mark.parametrize(
    "form",
    [
        {"body": json.dumps(ANSWER)},
        {"body": {"string": json.dumps(ANSWER)}},
        {"body": {"string": json.dumps(ANSWER).encode()}},
        {"body": {"base64_string": base64.b64encode(json.dumps(ANSWER).encode()).decode()}},
        {"body": {"string": json.dumps(ANSWER)}, "parsed_body": ANSWER},
        {"body": {"type": "json", "content": ANSWER}},
        {"body": {"type": "text", "content": json.dumps(ANSWER)}},
        {"body": {"type": "binary", "content": json.dumps(ANSWER).encode()}},
    ],
    ids=[
        "string",
        "body.string",
        "body.string-bytes",
        "base64",
        "both-agreeing",
        "typed-json",
        "typed-text",
        "typed-binary",
    ],
)
def test_every_response_body_form_gives_the_same_response(form: dict[str, Any]) -> None:
    [inter] = parse_cassette(_doc(_interaction({"body": "{}"}, form)), "c.yaml")
    assert inter.response.body == ANSWER


def test_old_vcrpy_request_bodies_bytesio_and_chunks_are_read(tmp_path: Path) -> None:
    text = """
version: 1
interactions:
- request:
    method: POST
    uri: https://api.example.com/v1/upload
    headers: {}
    body: !!python/object/new:_io.BytesIO
      state: !!python/tuple
      - !!binary |
        aGVsbG8gd29ybGQ=
      - 0
      - null
  response: {status: {code: 200, message: OK}, headers: {}, body: {string: done}}
- request:
    method: POST
    uri: https://api.example.com/v1/upload
    headers: {}
    body: !!python/object/apply:builtins.iter
      args:
      - [hello, ' ', world]
  response: {status: {code: 200, message: OK}, headers: {}, body: {string: done}}
"""
    path = tmp_path / "old.yaml"
    path.write_text(text)
    first, second = load_cassette(path)
    assert first.request.raw == second.request.raw == b"hello world"
    assert first.response.text == "done"


def test_a_zstd_compressed_body_is_decompressed() -> None:
    packed = zstandard.ZstdCompressor().compress(json.dumps(ANSWER).encode())
    response = {"headers": {"Content-Encoding": ["zstd"]}, "body": {"string": packed}}
    [inter] = parse_cassette(_doc(_interaction({"body": "{}"}, response)), "c.yaml")
    assert inter.response.body == ANSWER
    assert "content-encoding" not in inter.response.headers


@pytest.mark.parametrize(
    ("response", "says"),
    [
        (
            {"body": {"json": ANSWER}},
            "interactions[0].response.body is a mapping with keys json",
        ),
        (
            {"body": {"string": json.dumps(ANSWER)}, "parsed_body": {"other": 1}},
            "interactions[0].response has both parsed_body and a body that says something else",
        ),
        (
            {"headers": {"content-encoding": ["br"]}, "body": {"string": b"\x1b\x00"}},
            "interactions[0].response.body is brotli-compressed; install `brotli`",
        ),
        ({"body": 42}, "interactions[0].response.body is a int"),
        (
            {"body": {"type": "image", "content": "x"}},
            "interactions[0].response.body has type 'image' with a str content",
        ),
    ],
    ids=["unknown-mapping", "disagreeing", "brotli", "number", "unknown-type"],
)
def test_an_unknown_body_form_refuses_the_file_naming_the_field(
    response: dict[str, Any], says: str
) -> None:
    if "brotli" in says and importlib.util.find_spec("brotli") is not None:
        pytest.skip("a brotli decoder is installed: the body would be decoded, not refused")
    with pytest.raises(RecordingFileError, match="vcrpy cassette") as info:
        parse_cassette(_doc(_interaction({"body": "{}"}, response)), "c.yaml")
    assert says in str(info.value)
    assert "c.yaml" in str(info.value)


def test_import_keeps_every_body_the_order_and_refuses_by_name(tmp_path: Path) -> None:
    src = tmp_path / "cassettes"
    src.mkdir()
    turns = [
        _interaction(
            {"parsed_body": {"model": "m", "messages": [{"role": "user", "content": word}]}},
            {"parsed_body": {"answer": word.upper()}},
        )
        for word in ("zulu", "alpha", "mike")
    ]
    (src / "test_agent.yaml").write_text(yaml.safe_dump(_doc(*turns)))
    (src / "test_odd.yaml").write_text(
        yaml.safe_dump(_doc(_interaction({"body": "{}"}, {"body": {"blob": "x"}})))
    )
    result = import_recordings(src, tmp_path / "out")
    assert result.interactions == 3
    assert dict(result.skipped) == {
        str(src / "test_odd.yaml"): (
            "vcrpy cassette: interactions[0].response.body is a mapping with keys blob, which "
            "is none of the body forms llmreel reads (body (a string), body.string, "
            "body.base64_string, body {type, content} or parsed_body); nothing was imported "
            "from this file"
        )
    }
    imported = [load_file(p) for p in result.written]
    by_index = sorted(imported, key=lambda i: i.meta["vcr"]["index"])
    assert [i.request.body["messages"][0]["content"] for i in by_index] == [
        "zulu",
        "alpha",
        "mike",
    ]
    assert [i.response.body for i in by_index] == [
        {"answer": "ZULU"},
        {"answer": "ALPHA"},
        {"answer": "MIKE"},
    ]
    assert all(i.meta["vcr"]["reason"] == "OK" for i in imported)


PUBLIC = Path(__file__).parent.parent / "pytest_plugin" / "public_cassettes"


def test_public_cassettes_import_whole_and_replay_through_the_sdk(tmp_path: Path) -> None:
    """Other projects' cassettes (see public_cassettes/README.md): every body arrives."""
    result = import_recordings(PUBLIC, tmp_path / "out")
    assert (result.files, result.interactions, result.skipped) == (4, 4, [])
    by_name = {p.parent.name: load_file(p) for p in result.written}
    pydantic = by_name["test_max_completion_tokens[gpt-4o-mini]"]
    assert pydantic.request.body["messages"] == [{"content": "hello", "role": "user"}]
    assert pydantic.response.body["choices"][0]["message"]["content"].startswith("Hello!")
    gzipped = by_name["test_options[options0]"]
    assert gzipped.response.body["output"][0]["content"][0]["text"].startswith("Hi there!")
    assert "content-encoding" not in gzipped.response.headers
    stream = by_name["test_prompt"]
    assert stream.response.stream == "sse"
    assert [e.event for e in stream.response.events][:2] == [
        "message_start",
        "content_block_start",
    ]

    client = openai.OpenAI(api_key="sk-placeholder", max_retries=0)
    with llmreel.use_cassette(tmp_path / "out" / "llm" / "test_options[options0]"), client:
        reply = client.responses.create(
            model="gpt-4o-mini",
            input=[{"role": "user", "content": "say hi"}],
            max_output_tokens=24,
            stream=False,
        )
    assert reply.output_text == "Hi there! How can I assist you today?"
