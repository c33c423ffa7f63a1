"""What a recording says, as a person reads it: prompt, reassembled answer, tool calls, usage.

Streams are put back together per API: OpenAI chat completions (``delta``
content and tool-call fragments), completions (``text``), responses (typed
``response.*`` events), Anthropic messages (``content_block_*`` and
``message_delta``), and Ollama chat/generate (NDJSON ``message``/``response``).
Used by ``llmreel ls``/``show``/``diff``; never raises on odd content, since
recordings come from many servers and some are cut short.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import orjson

from llmreel.interaction import Interaction

__all__ = ["Summary", "ToolCall", "prompt_text", "summarize"]

# Request fields shown as "parameters" (everything except the conversation itself).
_CONVERSATION_FIELDS = frozenset(
    {"messages", "prompt", "input", "system", "instructions", "tools", "functions"}
)


@dataclass(slots=True)
class ToolCall:
    name: str
    arguments: str
    id: str = ""


@dataclass(slots=True)
class Summary:
    """The readable content of one interaction."""

    method: str
    endpoint: str
    model: str
    streamed: bool
    status: int
    event_count: int
    messages: list[tuple[str, str]] = field(default_factory=list)  # (role, text)
    params: dict[str, Any] = field(default_factory=dict)
    text: str = ""  # the answer, streamed text put back together
    reasoning: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: dict[str, Any] = field(default_factory=dict)
    finish_reason: str = ""
    error: str = ""
    complete: bool = True
    first_event_s: float | None = None
    duration_s: float | None = None
    extra: list[str] = field(default_factory=list)  # e.g. "3 embeddings of 768 dims"

    @property
    def events_per_s(self) -> float | None:
        if self.duration_s is None or self.first_event_s is None or self.event_count < 2:
            return None
        span = self.duration_s - self.first_event_s
        return (self.event_count - 1) / span if span > 0 else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "endpoint": self.endpoint,
            "model": self.model,
            "streamed": self.streamed,
            "status": self.status,
            "events": self.event_count,
            "messages": [{"role": r, "content": t} for r, t in self.messages],
            "params": self.params,
            "text": self.text,
            "reasoning": self.reasoning,
            "tool_calls": [
                {"id": c.id, "name": c.name, "arguments": c.arguments} for c in self.tool_calls
            ],
            "usage": self.usage,
            "finish_reason": self.finish_reason,
            "error": self.error,
            "complete": self.complete,
            "first_event_s": self.first_event_s,
            "duration_s": self.duration_s,
            "events_per_s": self.events_per_s,
        }


# --------------------------------------------------------------------------- request side


def _text_of(content: Any) -> str:
    """Message content of any API as text (parts joined, images noted)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts: list[str] = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict):
                kind = part.get("type")
                if isinstance(part.get("text"), str):
                    parts.append(part["text"])
                elif kind in ("tool_result", "function_call_output"):
                    parts.append(_text_of(part.get("content") or part.get("output")))
                elif kind == "tool_use":
                    parts.append(f"[tool_use {part.get('name')}({_compact(part.get('input'))})]")
                elif kind:
                    parts.append(f"[{kind}]")
        return "\n".join(p for p in parts if p)
    if isinstance(content, dict):
        return _text_of([content])
    return str(content)


def _compact(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return str(value)


def _messages(body: dict[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name in ("system", "instructions"):
        if body.get(name):
            out.append(("system", _text_of(body[name])))
    msgs = body.get("messages")
    if not isinstance(msgs, list):
        msgs = body.get("input") if isinstance(body.get("input"), list) else None
    if isinstance(msgs, list):
        for m in msgs:
            if not isinstance(m, dict):
                continue
            role = str(m.get("role") or m.get("type") or "?")
            text = _text_of(m.get("content"))
            calls = m.get("tool_calls")
            if isinstance(calls, list):
                for c in calls:
                    fn = c.get("function") if isinstance(c, dict) else None
                    if isinstance(fn, dict):
                        args = fn.get("arguments")
                        args_text = args if isinstance(args, str) else _compact(args)
                        text += f"\n[tool_call {fn.get('name')}({args_text})]"
            if m.get("type") == "function_call":
                text = f"[function_call {m.get('name')}({m.get('arguments')})]"
            elif m.get("type") == "function_call_output":
                text = _text_of(m.get("output"))
            out.append((role, text.strip()))
    for name in ("prompt", "input"):
        value = body.get(name)
        if isinstance(value, str):
            out.append(("user", value))
        elif name == "input" and isinstance(value, list) and not out:
            out.append(("input", f"{len(value)} item(s)"))
    return out


def prompt_text(body: Any) -> str:
    """All the text a request sends the model (for ``ls --grep``)."""
    if not isinstance(body, dict):
        return ""
    return "\n".join(t for _, t in _messages(body))


def _params(body: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in body.items():
        if k in _CONVERSATION_FIELDS or k == "model":
            continue
        out[k] = v
    tools = body.get("tools") or body.get("functions")
    if isinstance(tools, list) and tools:
        names = []
        for t in tools:
            if isinstance(t, dict):
                inner = t.get("function")
                fn: dict[str, Any] = inner if isinstance(inner, dict) else t
                names.append(str(fn.get("name", "?")))
        out["tools"] = names
    return out


# --------------------------------------------------------------------------- response side


class _Acc:
    """Accumulates an answer from events or a body, whatever the API."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.calls: dict[Any, ToolCall] = {}
        self.usage: dict[str, Any] = {}
        self.finish = ""
        self.error = ""
        self.extra: list[str] = []

    def call(self, index: Any, *, name: str = "", args: str = "", id: str = "") -> None:
        c = self.calls.get(index)
        if c is None:
            c = self.calls[index] = ToolCall(name=name, arguments="", id=id)
        if name and not c.name:
            c.name = name
        if id and not c.id:
            c.id = id
        c.arguments += args

    # ---- one JSON object (a stream chunk or a whole body)

    def feed(self, doc: Any, event: str | None = None) -> None:
        if not isinstance(doc, dict):
            return
        if isinstance(doc.get("error"), dict | str) and doc.get("error"):
            err = doc["error"]
            self.error = str(err.get("message", err)) if isinstance(err, dict) else str(err)
            return
        kind = doc.get("type")
        obj = doc.get("object")
        if isinstance(kind, str) and kind.startswith("response."):
            self._responses_event(doc, kind)
        elif kind in (
            "message_start",
            "content_block_start",
            "content_block_delta",
            "message_delta",
            "message_stop",
            "content_block_stop",
            "ping",
        ):
            self._anthropic_event(doc, kind)
        elif kind == "message" and isinstance(doc.get("content"), list):
            self._anthropic_message(doc)
        elif obj == "response" or (isinstance(doc.get("output"), list) and "status" in doc):
            self._responses_body(doc)
        elif isinstance(doc.get("choices"), list):
            self._openai_choices(doc)
        elif "done" in doc or "message" in doc or "response" in doc:
            self._ollama(doc)
        elif obj == "list" and isinstance(doc.get("data"), list):
            self._list(doc["data"])
        elif isinstance(doc.get("models"), list):
            names = [
                str(m.get("model") or m.get("name")) for m in doc["models"] if isinstance(m, dict)
            ]
            self.extra.append(f"{len(names)} model(s): {', '.join(names[:10])}")
        elif isinstance(doc.get("embeddings"), list):
            self._vectors(doc["embeddings"])
        elif isinstance(doc.get("embedding"), list):
            self._vectors([doc["embedding"]])
        if isinstance(doc.get("usage"), dict) and doc["usage"]:
            self.usage.update({k: v for k, v in doc["usage"].items() if v is not None})

    def _list(self, data: list[Any]) -> None:
        if data and isinstance(data[0], dict) and "embedding" in data[0]:
            self._vectors([d.get("embedding") for d in data if isinstance(d, dict)])
        else:
            ids = [str(d.get("id")) for d in data if isinstance(d, dict)]
            self.extra.append(f"{len(ids)} item(s): {', '.join(ids[:10])}")

    def _vectors(self, vectors: list[Any]) -> None:
        dims = {len(v) for v in vectors if isinstance(v, list)}
        encoded = sum(1 for v in vectors if isinstance(v, str))
        if encoded:
            self.extra.append(f"{len(vectors)} embedding(s), base64-encoded")
        else:
            shape = "/".join(str(d) for d in sorted(dims)) or "?"
            self.extra.append(f"{len(vectors)} embedding(s) of {shape} dims")

    def _openai_choices(self, doc: dict[str, Any]) -> None:
        for choice in doc["choices"]:
            if not isinstance(choice, dict):
                continue
            if choice.get("index", 0) not in (0, None):
                continue
            part = choice.get("delta") or choice.get("message") or {}
            if isinstance(part, dict):
                if isinstance(part.get("content"), str):
                    self.text.append(part["content"])
                for name in ("reasoning_content", "reasoning"):
                    if isinstance(part.get(name), str):
                        self.reasoning.append(part[name])
                for i, tc in enumerate(part.get("tool_calls") or []):
                    if not isinstance(tc, dict):
                        continue
                    fn = tc.get("function") or {}
                    args = fn.get("arguments")
                    self.call(
                        tc.get("index", i),
                        name=str(fn.get("name") or ""),
                        args=args if isinstance(args, str) else (_compact(args) if args else ""),
                        id=str(tc.get("id") or ""),
                    )
            if isinstance(choice.get("text"), str):
                self.text.append(choice["text"])
            if choice.get("finish_reason"):
                self.finish = str(choice["finish_reason"])

    def _ollama(self, doc: dict[str, Any]) -> None:
        msg = doc.get("message")
        if isinstance(msg, dict):
            if isinstance(msg.get("content"), str):
                self.text.append(msg["content"])
            if isinstance(msg.get("thinking"), str):
                self.reasoning.append(msg["thinking"])
            for i, tc in enumerate(msg.get("tool_calls") or []):
                fn = tc.get("function") if isinstance(tc, dict) else None
                if isinstance(fn, dict):
                    key = ("ollama", len(self.calls) + i)
                    self.call(key, name=str(fn.get("name", "")), args=_compact(fn.get("arguments")))
        if isinstance(doc.get("response"), str):
            self.text.append(doc["response"])
        if isinstance(doc.get("thinking"), str):
            self.reasoning.append(doc["thinking"])
        if isinstance(doc.get("status"), str) and "response" not in doc and "message" not in doc:
            self.extra.append(f"status: {doc['status']}")
        if doc.get("done"):
            self.finish = str(doc.get("done_reason") or "stop")
            for k in ("prompt_eval_count", "eval_count"):
                if doc.get(k) is not None:
                    self.usage[k] = doc[k]

    def _anthropic_event(self, doc: dict[str, Any], kind: str) -> None:
        if kind == "message_start":
            usage = (doc.get("message") or {}).get("usage")
            if isinstance(usage, dict):
                self.usage.update(usage)
        elif kind == "content_block_start":
            block = doc.get("content_block") or {}
            if block.get("type") == "tool_use":
                self.call(
                    doc.get("index"), name=str(block.get("name", "")), id=str(block.get("id", ""))
                )
            elif isinstance(block.get("text"), str):
                self.text.append(block["text"])
        elif kind == "content_block_delta":
            delta = doc.get("delta") or {}
            dt = delta.get("type")
            if dt == "text_delta":
                self.text.append(str(delta.get("text", "")))
            elif dt == "thinking_delta":
                self.reasoning.append(str(delta.get("thinking", "")))
            elif dt == "input_json_delta":
                self.call(doc.get("index"), args=str(delta.get("partial_json", "")))
        elif kind == "message_delta":
            delta = doc.get("delta") or {}
            if delta.get("stop_reason"):
                self.finish = str(delta["stop_reason"])
            if isinstance(doc.get("usage"), dict):
                self.usage.update(doc["usage"])

    def _anthropic_message(self, doc: dict[str, Any]) -> None:
        for i, block in enumerate(doc["content"]):
            if not isinstance(block, dict):
                continue
            if block.get("type") == "text":
                self.text.append(str(block.get("text", "")))
            elif block.get("type") == "thinking":
                self.reasoning.append(str(block.get("thinking", "")))
            elif block.get("type") == "tool_use":
                self.call(
                    i,
                    name=str(block.get("name", "")),
                    args=_compact(block.get("input")),
                    id=str(block.get("id", "")),
                )
        if doc.get("stop_reason"):
            self.finish = str(doc["stop_reason"])

    def _responses_event(self, doc: dict[str, Any], kind: str) -> None:
        if kind == "response.output_text.delta":
            self.text.append(str(doc.get("delta", "")))
        elif kind in ("response.reasoning_text.delta", "response.reasoning_summary_text.delta"):
            self.reasoning.append(str(doc.get("delta", "")))
        elif kind == "response.output_item.added":
            item = doc.get("item") or {}
            if item.get("type") == "function_call":
                self.call(
                    doc.get("output_index"),
                    name=str(item.get("name", "")),
                    id=str(item.get("call_id") or item.get("id") or ""),
                )
        elif kind == "response.function_call_arguments.delta":
            self.call(doc.get("output_index"), args=str(doc.get("delta", "")))
        elif kind in ("response.completed", "response.failed", "response.incomplete"):
            resp = doc.get("response") or {}
            if isinstance(resp.get("usage"), dict):
                self.usage.update(resp["usage"])
            self.finish = str(resp.get("status") or kind.rsplit(".", 1)[-1])
            err = resp.get("error")
            if isinstance(err, dict) and err.get("message"):
                self.error = str(err["message"])
        elif kind == "response.error" or kind == "error":
            self.error = str(doc.get("message", ""))

    def _responses_body(self, doc: dict[str, Any]) -> None:
        for i, item in enumerate(doc.get("output") or []):
            if not isinstance(item, dict):
                continue
            if item.get("type") == "message":
                for part in item.get("content") or []:
                    if isinstance(part, dict) and isinstance(part.get("text"), str):
                        self.text.append(part["text"])
            elif item.get("type") == "function_call":
                self.call(
                    i,
                    name=str(item.get("name", "")),
                    args=str(item.get("arguments", "")),
                    id=str(item.get("call_id", "")),
                )
            elif item.get("type") == "reasoning":
                for part in item.get("summary") or []:
                    if isinstance(part, dict) and isinstance(part.get("text"), str):
                        self.reasoning.append(part["text"])
        if doc.get("status"):
            self.finish = str(doc["status"])


def summarize(inter: Interaction) -> Summary:
    """The readable summary of one interaction (never raises on odd content)."""
    req, resp = inter.request, inter.response
    body = req.body if isinstance(req.body, dict) else {}
    summary = Summary(
        method=req.method,
        endpoint=req.path,
        model=req.model,
        streamed=resp.stream is not None,
        status=resp.status,
        event_count=len(resp.events),
        messages=_messages(body),
        params=_params(body),
        complete=resp.complete,
    )
    acc = _Acc()
    if resp.stream is not None:
        for ev in resp.events:
            data = ev.data
            if not data or data == "[DONE]":
                continue
            if data[:1] in ("{", "["):
                with contextlib.suppress(orjson.JSONDecodeError):
                    acc.feed(orjson.loads(data), ev.event)
        if resp.events:
            summary.first_event_s = resp.events[0].t
            summary.duration_s = resp.events[-1].t
    elif resp.body is not None:
        acc.feed(resp.body)
    elif resp.text:
        acc.text.append(resp.text)
    if resp.status >= 400 and not acc.error:
        acc.error = _compact(resp.body) if resp.body is not None else (resp.text or "")
    summary.text = "".join(acc.text)
    summary.reasoning = "".join(acc.reasoning)
    summary.tool_calls = list(acc.calls.values())
    summary.usage = acc.usage
    summary.finish_reason = acc.finish
    summary.error = acc.error or (resp.error or "")
    summary.extra = acc.extra
    return summary
