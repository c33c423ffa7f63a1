"""llama-stack recording shapes that the public sample lacks but real corpora hold.

Each file here is written the way llama-stack's recorder writes it (kwargs as
the body, ``model_dump(mode="json")`` of real SDK objects as ``__data__``), then
replayed through the real SDK, sync and async.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import ollama
import openai.types as ot
import pytest
from openai.types.responses import (
    ResponseCompletedEvent,
    ResponseCreatedEvent,
    ResponseTextDeltaEvent,
)

import llama_stack_calls as calls
import llmreel

BASE = "http://127.0.0.1:11434"


def _typed(obj: Any) -> dict[str, Any]:
    cls = type(obj)
    return {
        "__type__": f"{cls.__module__}.{cls.__qualname__}",
        "__data__": obj.model_dump(mode="json"),
    }


def _record(
    url: str,
    endpoint: str,
    body: dict[str, Any],
    response: Any,
    *,
    streaming: bool,
    test_id: str | None = "tests/t.py::test_x",
) -> dict[str, Any]:
    return {
        "test_id": test_id,
        "request": {
            "method": "POST",
            "url": url,
            "headers": {},
            "body": body,
            "endpoint": endpoint,
            "model": body.get("model", ""),
        },
        "response": {"body": response, "is_streaming": streaming},
        "id_normalization_mapping": {},
    }


def _chat_response(text: str, done: bool) -> ollama.ChatResponse:
    return ollama.ChatResponse(
        model="llama3.2:3b",
        created_at="1970-01-01T00:00:00.000000Z",
        done=done,
        done_reason="stop" if done else None,
        total_duration=0 if done else None,
        message=ollama.Message(role="assistant", content=text),
    )


def _variants() -> dict[str, dict[str, Any]]:
    emb = ot.CreateEmbeddingResponse(
        data=[
            ot.Embedding(embedding=[0.1, -0.25, 0.3333333432674408], index=0, object="embedding")
        ],
        model="all-minilm",
        object="list",
        usage={"prompt_tokens": 2, "total_tokens": 2},  # type: ignore[arg-type]
    )
    chat_body = {
        "model": "llama3.2:3b",
        "messages": [{"role": "user", "content": "Hi"}],
        "stream": True,
        "options": {"temperature": 0.0},
        "format": None,
        "keep_alive": None,
    }
    created = ResponseCreatedEvent.model_validate(
        {
            "type": "response.created",
            "sequence_number": 0,
            "response": {
                "id": "resp_1",
                "object": "response",
                "created_at": 0,
                "model": "gpt-4o",
                "output": [],
                "parallel_tool_calls": True,
                "tool_choice": "auto",
                "tools": [],
                "status": "in_progress",
            },
        }
    )
    delta = ResponseTextDeltaEvent.model_validate(
        {
            "type": "response.output_text.delta",
            "sequence_number": 1,
            "item_id": "msg_1",
            "output_index": 0,
            "content_index": 0,
            "delta": "Hello",
            "logprobs": [],
        }
    )
    completed = ResponseCompletedEvent.model_validate(
        {
            "type": "response.completed",
            "sequence_number": 2,
            "response": {
                "id": "resp_1",
                "object": "response",
                "created_at": 0,
                "model": "gpt-4o",
                "output": [],
                "parallel_tool_calls": True,
                "tool_choice": "auto",
                "tools": [],
                "status": "completed",
            },
        }
    )
    model = ot.Model(id="llama3.2:3b", created=0, object="model", owned_by="library")
    return {
        "openai-embeddings-default-base64": _record(
            "http://0.0.0.0:11434/v1/v1/embeddings",
            "/v1/embeddings",
            {"model": "all-minilm", "input": ["hello"]},
            _typed(emb),
            streaming=False,
        ),
        "openai-chat-extra-body": _record(
            "http://0.0.0.0:11434/v1/v1/chat/completions",
            "/v1/chat/completions",
            {
                "model": "m",
                "messages": [{"role": "user", "content": "x"}],
                "extra_body": {"top_k": 1},
            },
            _typed(
                ot.chat.ChatCompletion.model_validate(
                    {
                        "id": "rec-1",
                        "object": "chat.completion",
                        "created": 0,
                        "model": "m",
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": "stop",
                                "logprobs": None,
                                "message": {"role": "assistant", "content": "y"},
                            }
                        ],
                    }
                )
            ),
            streaming=False,
        ),
        "ollama-chat-stream": _record(
            "http://localhost:11434/api/chat",
            "/api/chat",
            chat_body,
            [_typed(_chat_response("Hel", False)), _typed(_chat_response("lo", True))],
            streaming=True,
        ),
        "ollama-chat": _record(
            "http://localhost:11434/api/chat",
            "/api/chat",
            {**chat_body, "stream": False},
            _typed(_chat_response("Hello", True)),
            streaming=False,
        ),
        "openai-responses-stream": _record(
            "http://0.0.0.0:11434/v1/v1/responses",
            "/v1/responses",
            {"model": "gpt-4o", "input": "Hi", "stream": True},
            [_typed(created), _typed(delta), _typed(completed)],
            streaming=True,
        ),
        # The ollama client validates messages and tools into its own models: unknown
        # keys and empty values vanish, default schema types appear. ``options`` and
        # ``format`` go out as given, nulls included.
        "ollama-chat-tools-and-extra-message-keys": _record(
            "http://localhost:11434/api/chat",
            "/api/chat",
            {
                "model": "llama3.2:3b",
                "messages": [
                    {"role": "user", "content": "Weather?", "tool_call_id": None},
                    {
                        "role": "assistant",
                        "content": "",
                        "tool_calls": [
                            {
                                "id": "call_1",
                                "type": "function",
                                "function": {"name": "weather", "arguments": {"city": "Paris"}},
                            }
                        ],
                    },
                    {"role": "tool", "content": "sunny", "tool_call_id": "call_1"},
                ],
                "tools": [
                    {
                        "function": {
                            "name": "weather",
                            "description": "Weather in a city",
                            "parameters": {
                                "properties": {
                                    "city": {"type": "string", "default": "Paris"},
                                },
                                "required": ["city"],
                                "additionalProperties": False,
                            },
                        }
                    }
                ],
                "options": {"temperature": 0.0, "num_predict": None},
                "format": {"type": "object", "properties": {"a": {"type": "string"}}},
                "stream": False,
            },
            _typed(_chat_response("Sunny in Paris", True)),
            streaming=False,
        ),
        # A keyword default passed as None is not sent at all (no ``stream: false``).
        "ollama-generate-stream-none": _record(
            "http://localhost:11434/api/generate",
            "/api/generate",
            {"model": "llama3.2:3b", "prompt": "Hi", "stream": None, "raw": True},
            _typed(
                ollama.GenerateResponse(
                    model="llama3.2:3b",
                    created_at="1970-01-01T00:00:00.000000Z",
                    done=True,
                    response="Hello",
                )
            ),
            streaming=False,
        ),
        # llama-stack rewrites Response.created_at (a float) to a date string; the SDK
        # keeps what it is given.
        "openai-responses-normalized-created-at": _record(
            "https://api.openai.com/v1/v1/responses",
            "/v1/responses",
            {"model": "gpt-4o", "input": "Hi"},
            {
                "__type__": "openai.types.responses.response.Response",
                "__data__": {
                    **completed.response.model_dump(mode="json"),
                    "created_at": "1970-01-01T00:00:00.000000Z",
                },
            },
            streaming=False,
        ),
        "openai-models-as-stream": _record(
            "http://0.0.0.0:11434/v1/v1/models",
            "/v1/models",
            {},
            [_typed(model)],
            streaming=True,
            test_id=None,
        ),
    }


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("name", sorted(_variants()))
def test_variant_replays_through_its_sdk(name: str, is_async: bool, tmp_path: Path) -> None:
    doc = _variants()[name]
    (tmp_path / f"{name}.json").write_text(json.dumps(doc, indent=2))
    p = calls.plan(doc)
    assert p is not None
    c = calls.client(p.sdk, BASE, is_async=is_async)
    with llmreel.use_cassette(tmp_path, mode="replay") as session:
        got = asyncio.run(p.acall(c)) if is_async else p.call(c)
    assert not session.misses, session.misses
    calls.check(p, got)


def test_models_list_recorded_without_v1_base_answers_both_paths(tmp_path: Path) -> None:
    """A url of /v1/models means the client's base had no /v1: the wire path was /models."""
    model = ot.Model(id="qwen", created=1, object="model", owned_by="llamacpp")
    doc = _record(
        "http://localhost:8080/v1/models",
        "/v1/models",
        {},
        [_typed(model)],
        streaming=False,
        test_id=None,
    )
    (tmp_path / "models.json").write_text(json.dumps(doc))
    import openai

    for base in ("http://127.0.0.1:8080", "http://127.0.0.1:8080/v1"):
        with llmreel.use_cassette(tmp_path, mode="replay"):
            got = list(openai.OpenAI(base_url=base, api_key="x").models.list())
        assert [m.id for m in got] == ["qwen"], base


def _failed(
    url: str,
    endpoint: str,
    body: dict[str, Any],
    exception_data: dict[str, Any],
    chunks: list[Any] | None = None,
) -> dict[str, Any]:
    """A call that raised, as llama-stack's recorder keeps it (with any chunks that came)."""
    doc = _record(url, endpoint, body, chunks, streaming=chunks is not None)
    doc["response"].update(
        is_exception=True,
        exception_data=exception_data,
        exception_message=str(exception_data.get("message")),
    )
    return doc


def _errors() -> dict[str, dict[str, Any]]:
    chunk = ot.chat.ChatCompletionChunk.model_validate(
        {
            "id": "rec-2",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "m",
            "choices": [{"index": 0, "delta": {"content": "Hel"}, "finish_reason": None}],
        }
    )
    return {
        # The provider's error body was null: the SDK's exc.body must be None again.
        "openai-status-error-without-body": _failed(
            "http://localhost:8000/v1/v1/chat/completions",
            "/v1/chat/completions",
            {"model": "m", "messages": [{"role": "user", "content": "x"}]},
            {
                "category": "provider_sdk",
                "provider": "openai",
                "type": "NotFoundError",
                "message": "Error code: 404",
                "status_code": 404,
                "body": None,
            },
        ),
        # openai raises a bare APIError (no status) from an error event inside a stream.
        "openai-stream-failed-midway": _failed(
            "http://localhost:8000/v1/v1/chat/completions",
            "/v1/chat/completions",
            {"model": "m", "messages": [{"role": "user", "content": "y"}], "stream": True},
            {"category": "unknown", "type": "APIError", "message": "overloaded"},
            chunks=[_typed(chunk)],
        ),
        # ollama raises ResponseError with status -1 from an error line inside a stream.
        "ollama-stream-failed-midway": _failed(
            "http://localhost:11434/api/chat",
            "/api/chat",
            {
                "model": "llama3.2:3b",
                "messages": [{"role": "user", "content": "z"}],
                "stream": True,
            },
            {
                "category": "provider_sdk",
                "provider": "ollama",
                "type": "ResponseError",
                "message": "model runner stopped",
                "status_code": -1,
                "body": None,
            },
            chunks=[_typed(_chat_response("Hel", False))],
        ),
    }


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("name", sorted(_errors()))
def test_recorded_failure_raises_the_same_error_through_its_sdk(
    name: str, is_async: bool, tmp_path: Path
) -> None:
    doc = _errors()[name]
    (tmp_path / f"{name}.json").write_text(json.dumps(doc, indent=2))
    p = calls.plan(doc)
    assert p is not None
    c = calls.client(p.sdk, BASE, is_async=is_async)
    with (
        llmreel.use_cassette(tmp_path, mode="replay") as session,
        pytest.raises(Exception) as info,
    ):
        asyncio.run(p.acall(c)) if is_async else p.call(c)
    assert not session.misses, session.misses
    calls.check_error(p, info.value)
    exc = doc["response"]["exception_data"]
    assert type(info.value).__name__ == exc["type"]
    assert getattr(info.value, "status_code", None) == exc.get("status_code")
    if "body" in exc and p.sdk == "openai":
        assert getattr(info.value, "body", "missing") == exc["body"]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("APIConnectionError", "APIConnectionError"), ("APITimeoutError", "APITimeoutError")],
)
def test_recorded_connection_failure_replays_as_the_same_failure(
    kind: str, expected: str, tmp_path: Path
) -> None:
    """No HTTP response was recorded: the SDK meets the same failure on every retry."""
    import openai

    doc = _record(
        "http://0.0.0.0:11434/v1/v1/chat/completions",
        "/v1/chat/completions",
        {"model": "m", "messages": [{"role": "user", "content": "x"}]},
        None,
        streaming=False,
    )
    doc["response"].update(
        is_exception=True,
        exception_data={
            "category": "provider_sdk",
            "provider": "openai",
            "type": kind,
            "message": "Connection error.",
            "status_code": None,
            "body": None,
        },
    )
    (tmp_path / "fail.json").write_text(json.dumps(doc))
    client = openai.OpenAI(base_url=f"{BASE}/v1", api_key="x", max_retries=2)
    with (
        llmreel.use_cassette(tmp_path, mode="replay") as session,
        pytest.raises(openai.APIError) as err,
    ):
        client.with_options(timeout=5).chat.completions.create(
            model="m", messages=[{"role": "user", "content": "x"}]
        )
    assert type(err.value).__name__ == expected
    assert session.played == 3 and not session.misses  # first try + 2 retries, all replayed
