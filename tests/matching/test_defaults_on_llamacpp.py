"""The defaults the ``api-defaults`` rule drops are the defaults of a real server of the path.

The key has no host, so ``/v1/chat/completions`` may be OpenAI or llama.cpp: each entry of
the table must hold for both. Against the real llama.cpp server, greedy and seeded, a
request with the parameter at its documented default and the same request without it get
the same answer; the server's own sampling defaults show why ``temperature`` and ``top_p``
are left out.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from llmreel import Matcher, Request
from llmreel.providers.defaults import DEFAULTS
from upstreams.llamacpp import LlamaCppServer

pytestmark = pytest.mark.llamacpp

MSGS = [{"role": "user", "content": "Name three colours."}]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather in a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]


def _answer(base: str, path: str, body: dict[str, Any]) -> Any:
    reply = httpx.post(f"{base}{path}", json=body, timeout=120)
    assert reply.status_code == 200, reply.text
    doc = reply.json()
    if "choices" in doc:
        choice = doc["choices"][0]
        return choice.get("message", choice.get("text")), choice["finish_reason"]
    if "data" in doc:
        return [d["embedding"][:8] for d in doc["data"]]
    return doc["content"], doc["stop_reason"]


CASES: dict[str, tuple[str, str, dict[str, Any]]] = {
    # endpoint, path, the request without the parameter
    "stream": ("openai.chat", "/v1/chat/completions", {}),
    "frequency_penalty": ("openai.chat", "/v1/chat/completions", {}),
    "presence_penalty": ("openai.chat", "/v1/chat/completions", {}),
    "n": ("openai.chat", "/v1/chat/completions", {}),
    "logprobs": ("openai.chat", "/v1/chat/completions", {}),
    "tool_choice": ("openai.chat", "/v1/chat/completions", {"tools": TOOLS}),
    "encoding_format": ("openai.embeddings", "/v1/embeddings", {}),
    "anthropic tool_choice": ("anthropic.messages", "/v1/messages", {}),
}


def _body(endpoint: str, model: str, extra: dict[str, Any]) -> dict[str, Any]:
    if endpoint == "openai.embeddings":
        return {"model": model, "input": ["hello world"], **extra}
    if endpoint == "anthropic.messages":
        tools = [
            {"name": t["function"]["name"], "input_schema": t["function"]["parameters"]}
            for t in TOOLS
        ]
        return {"model": model, "messages": MSGS, "max_tokens": 12, "tools": tools, **extra}
    return {
        "model": model,
        "messages": MSGS,
        "max_tokens": 12,
        "temperature": 0,
        "seed": 7,
        **extra,
    }


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_dropped_default_gets_the_same_answer_from_llamacpp(
    case: str, llamacpp_running: LlamaCppServer
) -> None:
    endpoint, path, extra = CASES[case]
    name = case.split()[-1]
    (default,) = [d for d in DEFAULTS[endpoint] if d.path == name]
    without = _body(endpoint, llamacpp_running.model, extra)
    with_default = {**without, name: default.value}
    # The rule makes them one key...
    keys = {Matcher().key(Request("POST", "", path, body=b)) for b in (without, with_default)}
    assert len(keys) == 1
    # ...and the server answers them the same.
    base = llamacpp_running.base_url
    assert _answer(base, path, with_default) == _answer(base, path, without)


def test_temperature_and_top_p_are_left_out_because_a_server_has_its_own(
    llamacpp_running: LlamaCppServer,
) -> None:
    # OpenAI documents temperature 1 and top_p 1; this llama.cpp serves the same path with
    # its own defaults (the ones it was started with), so sending 1 is not the default here.
    props = httpx.get(f"{llamacpp_running.base_url}/props", timeout=30).json()
    params = props["default_generation_settings"]["params"]
    assert params["temperature"] != 1 and params["top_p"] != 1
    for name in ("temperature", "top_p"):
        body = {"model": "m", "messages": MSGS}
        sent = {**body, name: 1}
        keys = {
            Matcher().key(Request("POST", "", "/v1/chat/completions", body=b)) for b in (body, sent)
        }
        assert len(keys) == 2, name
        assert name not in [d.path for d in DEFAULTS["openai.chat"]]
