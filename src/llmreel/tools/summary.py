"""What a recording says, as a person reads it: prompt, reassembled answer, tool calls, usage.

The request side is read by :mod:`.prompts`, the answer (streams put back
together per API) by :mod:`.answers`.
Used by ``llmreel ls``/``show``/``diff``; never raises on odd content, since
recordings come from many servers and some are cut short.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import orjson

from llmreel.model.interaction import Interaction
from llmreel.tools.answers import Answer, ToolCall
from llmreel.tools.prompts import compact, messages, params, prompt_text

__all__ = ["Summary", "ToolCall", "prompt_text", "summarize"]


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


# --------------------------------------------------------------------------- response side


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
        messages=messages(body),
        params=params(body),
        complete=resp.complete,
    )
    acc = Answer()
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
        acc.error = compact(resp.body) if resp.body is not None else (resp.text or "")
    summary.text = "".join(acc.text)
    summary.reasoning = "".join(acc.reasoning)
    summary.tool_calls = list(acc.calls.values())
    summary.usage = acc.usage
    summary.finish_reason = acc.finish
    summary.error = acc.error or (resp.error or "")
    summary.extra = acc.extra
    return summary
