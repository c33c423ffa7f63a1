"""The answer side of a recording: text, reasoning, tool calls, usage and finish reason.

Streams are put back together per API: OpenAI chat completions (``delta``
content and tool-call fragments), completions (``text``), responses (typed
``response.*`` events), Anthropic messages (``content_block_*`` and
``message_delta``), and Ollama chat/generate (NDJSON ``message``/``response``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmreel.tools.prompts import compact

__all__ = ["Answer", "ToolCall"]


@dataclass(slots=True)
class ToolCall:
    name: str
    arguments: str
    id: str = ""


class Answer:
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
                        args=args if isinstance(args, str) else (compact(args) if args else ""),
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
                    self.call(key, name=str(fn.get("name", "")), args=compact(fn.get("arguments")))
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
                    args=compact(block.get("input")),
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
