"""llama-stack naming, hashing and export: the conformance files are named, imported and written
back exactly as llama-stack's recorder wrote them, and llmreel's recordings exported to either
generation read back (through llmreel's own llama-stack reader) as the same interactions.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import openai
import pytest

import llmreel
from llmreel.formats import load_file
from llmreel.formats.llama_stack.export import to_document
from llmreel.formats.llama_stack.naming import (
    candidate_names,
    check_name,
    expected_name,
    normalize_body_for_hash,
    request_hash,
)
from llmreel.formats.llama_stack.writer import LlamaStackWriter
from llmreel.model.interaction import Interaction
from llmreel.tools.migrate import export_recordings, import_recordings
from synthetic_corpus import conformance_dir
from upstreams.faulty import FaultyUpstream

CONF = conformance_dir()
needs_conformance = pytest.mark.skipif(CONF is None, reason="conformance data not available")


def _conformance_files() -> list[Path]:
    if CONF is None:
        return []
    return sorted((CONF / "llama-stack").glob("*/*.json"))


@needs_conformance
@pytest.mark.parametrize("path", _conformance_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_conformance_file_name_is_its_recomputed_hash(path: Path) -> None:
    doc = json.loads(path.read_text())
    result = check_name(path.name, doc)
    assert result.ok, f"{path.name}: expected {result.expected}"
    generation = "2026" if path.parent.name == "2026" else "v0.2"
    assert result.variant.startswith(generation)


@needs_conformance
def test_a_renamed_file_is_reported_with_the_name_llama_stack_looks_for() -> None:
    assert CONF is not None
    path = next((CONF / "llama-stack" / "2026").glob("37e10e*.json"))
    doc = json.loads(path.read_text())
    doc["request"]["body"]["messages"][0]["content"] += " (edited)"
    result = check_name(path.name, doc)
    assert not result.ok
    assert result.expected == expected_name(doc, "2026") != path.name
    assert len(result.expected) == 64 + len(".json")


def test_2026_hash_rounds_floats_and_decimals_in_strings_but_v02_does_not() -> None:
    body = {"temperature": 0.123456789, "prompt": "pi is 3.14159265 roughly", "n": [1.0000001]}
    assert normalize_body_for_hash(body) == {
        "temperature": 0.12346,
        "prompt": "pi is 3.14159 roughly",
        "n": [1.0],
    }
    req = {"method": "POST", "url": "http://h/v1/v1/chat/completions", "body": body}
    raw = request_hash(req, generation="2026", test_id="t", normalize=False)
    assert request_hash(req, generation="2026", test_id="t") != raw
    # Version C hashed the raw body: a file named that way is accepted too.
    doc = {"test_id": "t", "request": req, "response": {"body": None}}
    assert f"{raw}.json" in candidate_names(doc)
    v02 = request_hash(req, generation="v0.2")
    assert expected_name({"request": req, "response": {}}, "v0.2") == f"{v02[:12]}.json"


@needs_conformance
@pytest.mark.parametrize("generation", ["v0.2", "2026"])
def test_import_then_export_writes_the_conformance_files_back_byte_for_byte(
    generation: str, tmp_path: Path
) -> None:
    assert CONF is not None
    src = CONF / "llama-stack" / generation
    imported = import_recordings(src, tmp_path / "native")
    assert imported.interactions == len(list(src.glob("*.json"))) and not imported.skipped
    result, skipped = export_recordings(tmp_path / "native", tmp_path / "out", generation)  # type: ignore[arg-type]
    assert not skipped and not result.collisions
    written = {p.name: p for p in result.written}
    for original in src.glob("*.json"):
        assert original.name in written, f"{original.name} was not written back"
        assert written[original.name].read_bytes() == original.read_bytes(), original.name


@needs_conformance
def test_seed_import_export_gives_a_semantically_equal_document(tmp_path: Path) -> None:
    assert CONF is not None
    seed = next((CONF.parent / "seed").glob("*.txt"))
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / seed.name).write_bytes(seed.read_bytes())
    import_recordings(tmp_path / "src", tmp_path / "native")
    result, _ = export_recordings(tmp_path / "native", tmp_path / "out", "v0.2")
    [out] = result.written
    # The seed's own name is not a recorder hash; the export gets the name the recorder gives.
    assert out.name == "325a72db5755.json"
    assert json.loads(out.read_text()) == json.loads(seed.read_text())


@needs_conformance
def test_imported_llama_stack_files_replay_through_the_openai_sdk_like_the_originals(
    tmp_path: Path,
) -> None:
    assert CONF is not None
    src = CONF / "llama-stack" / "2026"
    import_recordings(src, tmp_path / "native")
    client = openai.OpenAI(base_url="http://127.0.0.1:9/v1", api_key="x", max_retries=0)
    base_client = openai.OpenAI(base_url="http://127.0.0.1:9", api_key="x", max_retries=0)

    def calls() -> dict[str, Any]:
        chunks = client.chat.completions.create(
            model="llama3.2:3b-instruct-fp16",
            messages=[{"role": "user", "content": "What time is it in UTC?"}],
            stream=True,
            tools=[
                {
                    "type": "function",
                    "function": {
                        "name": "get_time",
                        "description": "Get current time",
                        "parameters": {
                            "type": "object",
                            "properties": {"timezone": {"type": "string"}},
                        },
                    },
                }
            ],
        )
        return {
            "stream": [c.model_dump(mode="json") for c in chunks],
            # The models list was recorded with base URL http://localhost:8080 (no /v1).
            "models": [m.model_dump(mode="json") for m in base_client.models.list()],
        }

    with client, base_client:
        with llmreel.use_cassette(src, mode="replay"):
            original = calls()
        with llmreel.use_cassette(tmp_path / "native", mode="replay"):
            imported = calls()
    assert imported == original
    assert original["models"][0]["id"] == "qwen2.5"


# --------------------------------------------------------------------------- llmreel -> llama-stack


def _record(faulty: FaultyUpstream, cassette: Path) -> None:
    client = openai.OpenAI(base_url=f"{faulty.base_url}/v1", api_key="sk-test", max_retries=0)
    with client, llmreel.use_cassette(cassette, mode="record"):
        client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "one two three"}]
        )
        list(
            client.chat.completions.create(
                model="m",
                messages=[{"role": "user", "content": "stream these words"}],
                stream=True,
            )
        )
        client.models.list()
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(
                model="fault-429", messages=[{"role": "user", "content": "x"}]
            )


def _semantic(inter: Interaction) -> dict[str, Any]:
    req, resp = inter.request, inter.response
    alt = inter.meta.get("alt_path")
    events = []
    for e in resp.events:
        if e.data == "[DONE]":
            continue
        events.append(json.loads(e.data) if e.data and e.data[:1] == "{" else e.data)
    return {
        "method": req.method,
        "path": alt if isinstance(alt, str) else req.path,
        "body": req.body if req.method != "GET" else None,
        "status": resp.status,
        "stream": resp.stream,
        "events": events,
        "response": resp.body,
    }


@pytest.mark.parametrize("generation", ["2026", "v0.2"])
def test_llmreel_recordings_exported_read_back_as_the_same_interactions(
    generation: str, faulty: FaultyUpstream, tmp_path: Path
) -> None:
    _record(faulty, tmp_path / "cassette")
    natives = sorted(
        (load_file(p) for p in (tmp_path / "cassette").glob("*.json")), key=lambda i: i.request.path
    )
    assert len(natives) == 4
    writer = LlamaStackWriter(tmp_path / "ls", generation, sqlite=True)  # type: ignore[arg-type]
    for inter in natives:
        assert writer.add(inter) is not None
    writer.close()
    read_back = {}
    for path in writer.result.written:
        doc = json.loads(path.read_text())
        assert check_name(path.name, doc).ok  # llama-stack will find it under this name
        inter = load_file(path)
        read_back[_semantic(inter)["path"], json.dumps(inter.request.body)] = inter
    for inter in natives:
        want = _semantic(inter)
        got = read_back[
            want["path"], json.dumps(inter.request.body if inter.request.method != "GET" else None)
        ]
        assert _semantic(got) == want
    if generation == "v0.2":
        assert all(p.parent.name == "responses" for p in writer.result.written)
        rows = (
            sqlite3.connect(tmp_path / "ls" / "index.sqlite")
            .execute("SELECT request_hash, response_file FROM recordings")
            .fetchall()
        )
        assert sorted(r[1] for r in rows) == sorted(p.name for p in writer.result.written)
        assert all(
            (len(r[0]) == 64 and r[1].startswith(r[0][:12])) or r[1].startswith("models-")
            for r in rows
        )
    else:
        assert all(len(p.stem) == 64 or p.name.startswith("models-") for p in writer.result.written)


def test_exported_types_follow_the_sdk_classes(faulty: FaultyUpstream, tmp_path: Path) -> None:
    _record(faulty, tmp_path / "cassette")
    docs = {}
    for p in (tmp_path / "cassette").glob("*.json"):
        inter = load_file(p)
        name, doc = to_document(inter, "2026")
        docs[(inter.request.path, inter.request.streamed, inter.response.status)] = (name, doc)
    name, chat = docs[("/v1/chat/completions", False, 200)]
    assert (
        chat["response"]["body"]["__type__"] == "openai.types.chat.chat_completion.ChatCompletion"
    )
    assert chat["request"]["url"].endswith("/v1/v1/chat/completions")  # as the recorder joined it
    _, stream = docs[("/v1/chat/completions", True, 200)]
    assert {i["__type__"] for i in stream["response"]["body"]} == {
        "openai.types.chat.chat_completion_chunk.ChatCompletionChunk"
    }
    name, models = docs[("/v1/models", False, 200)]
    assert name.startswith("models-") and models["response"]["is_streaming"] is False
    _, error = docs[("/v1/chat/completions", False, 429)]
    assert error["response"]["is_exception"] is True
    assert error["response"]["exception_data"]["type"] == "RateLimitError"
    assert error["response"]["exception_data"]["status_code"] == 429
