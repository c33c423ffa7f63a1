"""How to replay a llama-stack recording through the real SDK it came from.

Given one llama-stack file, :func:`plan` says which SDK to call with which
arguments, and what the call must give back (the recorded ``__data__`` objects,
or the recorded provider error). Used by the in-process and the server
conformance tests, on the sample in ``shared/conformance`` and on any corpus
pointed at by ``LLMREEL_CORPUS``.
"""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import ollama
import openai


@dataclass
class Plan:
    sdk: str  # "openai" | "ollama" | "anthropic"
    call: Callable[[Any], Any]  # sync: takes a client, returns list of dumps
    acall: Callable[[Any], Awaitable[Any]]  # async twin
    expected: Any  # list of expected dumps, or ("error", status, body)


def _dump(obj: Any) -> Any:
    # Recorded values the SDK types disagree with (llama-stack's normalized
    # ``created_at`` string, a base64 embedding) are kept as given; pydantic would
    # warn about them while dumping, which is not a replay difference.
    return obj.model_dump(mode="json", exclude_unset=True, warnings=False)


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def load(path: Path) -> dict[str, Any]:
    doc = json.loads(path.read_text())
    assert isinstance(doc, dict)
    return doc


def _data(items: Any) -> list[Any]:
    if isinstance(items, list):
        return [i["__data__"] if isinstance(i, dict) and "__data__" in i else i for i in items]
    return [items["__data__"] if isinstance(items, dict) and "__data__" in items else items]


def plan(doc: dict[str, Any]) -> Plan | None:
    """The SDK call that replays ``doc``; None for recordings no SDK call can reproduce."""
    req, resp = doc["request"], doc["response"]
    if "payload" in req and "body" not in req:
        return _anthropic_plan(req, resp)
    endpoint = req.get("endpoint") or ""
    body = dict(req.get("body") or {})
    if resp.get("is_exception"):
        exc = resp.get("exception_data") or {}
        expected: Any = ("error", exc.get("status_code"), exc.get("body"), exc.get("type"))
    else:
        expected = _data(resp.get("body"))
    if endpoint.startswith("/api/"):
        return _ollama_plan(endpoint, body, expected, doc)
    if endpoint == "/v1/completions" and "messages" in body and _chat_answer(resp.get("body")):
        # Recorded under the wrong endpoint: the answer's type says it was a chat call.
        endpoint = "/v1/chat/completions"
    return _openai_plan(endpoint, body, expected)


def _chat_answer(body: Any) -> bool:
    first = body[0] if isinstance(body, list) and body else body
    kind = first.get("__type__", "") if isinstance(first, dict) else ""
    return str(kind).startswith("openai.types.chat.")


def _openai_plan(endpoint: str, body: dict[str, Any], expected: Any) -> Plan | None:
    streaming = bool(body.get("stream"))
    if endpoint == "/v1/models":
        # The recorded call's own arguments (watsonx lists pass extra_query={"project_id"}).
        def call(c: Any) -> Any:
            return [_dump(m) for m in c.models.list(**body)]

        async def acall(c: Any) -> Any:
            return [_dump(m) async for m in c.models.list(**body)]

        return Plan("openai", call, acall, expected)
    resource = {
        "/v1/chat/completions": lambda c: c.chat.completions,
        "/v1/completions": lambda c: c.completions,
        "/v1/embeddings": lambda c: c.embeddings,
        "/v1/responses": lambda c: c.responses,
    }.get(endpoint)
    if resource is None:
        return None
    res = resource

    def call(c: Any) -> Any:
        out = res(c).create(**body)
        return [_dump(x) for x in out] if streaming else [_dump(out)]

    async def acall(c: Any) -> Any:
        out = await res(c).create(**body)
        return [_dump(x) async for x in out] if streaming else [_dump(out)]

    return Plan("openai", call, acall, expected)


def _ollama_plan(endpoint: str, body: dict[str, Any], expected: Any, doc: dict[str, Any]) -> Plan:
    streaming = bool(body.get("stream"))
    if endpoint == "/api/embeddings" and "input" in body:
        name = "embed"
    else:
        name = {
            "/api/generate": "generate",
            "/api/chat": "chat",
            "/api/embeddings": "embeddings",
            "/api/tags": "list",
            "/api/ps": "ps",
            "/api/pull": "pull",
            "/api/show": "show",
        }[endpoint]
    kwargs: dict[str, Any] = {} if name in ("list", "ps") else body
    if name == "pull" and not kwargs:
        kwargs = {"model": "any-model"}

    def call(c: Any) -> Any:
        out = getattr(c, name)(**kwargs)
        return [_dump(x) for x in out] if streaming else [_dump(out)]

    async def acall(c: Any) -> Any:
        out = await getattr(c, name)(**kwargs)
        return [_dump(x) async for x in out] if streaming else [_dump(out)]

    return Plan("ollama", call, acall, expected)


def _anthropic_plan(req: dict[str, Any], resp: dict[str, Any]) -> Plan | None:
    payload = dict(req.get("payload") or {})
    if not req.get("url", "").endswith("/v1/messages"):
        return None
    body = resp.get("body")
    if resp.get("is_streaming"):
        expected = [json.loads(line[5:].strip()) for line in body if line.startswith("data:")]
    else:
        expected = [body]
    streaming = bool(payload.get("stream"))
    # llama-stack posted the payload with httpx; parameters this SDK version no longer
    # names (``temperature`` in anthropic 2.x) go out the same way through extra_body.
    known = set(inspect.signature(anthropic.resources.Messages.create).parameters)
    kwargs = {k: v for k, v in payload.items() if k in known}
    extra = {k: v for k, v in payload.items() if k not in known}
    if extra:
        kwargs["extra_body"] = extra

    def call(c: Any) -> Any:
        out = c.messages.create(**kwargs)
        return [_dump(x) for x in out] if streaming else [_dump(out)]

    async def acall(c: Any) -> Any:
        out = await c.messages.create(**kwargs)
        return [_dump(x) async for x in out] if streaming else [_dump(out)]

    return Plan("anthropic", call, acall, expected)


def client(sdk: str, base: str, *, is_async: bool) -> Any:
    """A real SDK client pointed at ``base`` (scheme://host:port, no path)."""
    if sdk == "openai":
        cls = openai.AsyncOpenAI if is_async else openai.OpenAI
        return cls(base_url=f"{base}/v1", api_key="sk-test", max_retries=0)
    if sdk == "anthropic":
        acls = anthropic.AsyncAnthropic if is_async else anthropic.Anthropic
        return acls(base_url=base, api_key="test", max_retries=0)
    ocls = ollama.AsyncClient if is_async else ollama.Client
    return ocls(host=base)


def save_report(results: dict[str, str], name: str) -> None:
    """Write per-file corpus results to ``$LLMREEL_CORPUS_REPORT/<name>.json`` when set."""
    out = os.environ.get("LLMREEL_CORPUS_REPORT")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / f"{name}.json").write_text(json.dumps(results, indent=1))


def check(p: Plan, got: Any) -> None:
    """Assert the SDK gave back what was recorded."""
    if isinstance(p.expected, tuple):
        raise AssertionError(f"expected an error {p.expected}, got objects")
    assert len(got) == len(p.expected), (len(got), len(p.expected))
    for g, e in zip(got, p.expected, strict=True):
        assert _same(g, e), (g, e)


def check_error(p: Plan, exc: BaseException) -> None:
    assert isinstance(p.expected, tuple), f"unexpected error {exc!r}"
    _, status, body, type_name = p.expected
    if status is None:
        # Not an HTTP status error (e.g. openai's APIError from inside a stream):
        # the same exception class is what the caller can observe.
        assert type(exc).__name__ == type_name, exc
        return
    assert getattr(exc, "status_code", None) == status, exc
    if p.sdk == "openai":
        assert _same(getattr(exc, "body", None), body)
