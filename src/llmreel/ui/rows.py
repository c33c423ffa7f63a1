"""One line of the inspector's index: what the Browse and Usage pages need of a recording.

A row is made once per interaction when its file is read (by :mod:`.index`), and
holds the columns of the list, the normalised token counts, and the lower-cased
text of the prompt and the answer that the full-text search looks in, so no page
ever has to read a recording file again.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any

from llmreel.model.interaction import Interaction
from llmreel.tools.catalog import Loaded
from llmreel.tools.summary import summarize

__all__ = ["Row", "rows_of", "token_counts"]

# Usage field names per API: OpenAI (chat, completions), OpenAI responses and Anthropic,
# Ollama native.
_INPUT = ("prompt_tokens", "input_tokens", "prompt_eval_count")
_OUTPUT = ("completion_tokens", "output_tokens", "eval_count")
_PREVIEW = 160


@dataclass(slots=True)
class Row:
    """One interaction of one file (a vcrpy cassette gives one row per interaction)."""

    id: str  # the file's path under DIR, plus "#N" for the Nth interaction of a cassette file
    file: str
    index: int
    cassette: str  # the folder holding the file, relative to DIR ("." for DIR itself)
    format: str
    size: int
    mtime_ns: int
    method: str = ""
    endpoint: str = ""
    model: str = ""
    test: str = ""
    streamed: bool = False
    events: int = 0
    status: int | None = None
    recorded: str = ""
    recorded_from: str = ""  # "recording" (its own timestamp) or "file" (modification time)
    key: str = ""
    finish: str = ""
    preview: str = ""
    error: str = ""
    complete: bool = True
    tokens_in: int | None = None
    tokens_out: int | None = None
    tokens_total: int | None = None
    haystack: str = ""  # lower-cased prompt and answer text, for search

    def public(self) -> dict[str, Any]:
        """The row as the pages get it (without the search text)."""
        return {
            "id": self.id,
            "file": self.file,
            "index": self.index,
            "cassette": self.cassette,
            "format": self.format,
            "size": self.size,
            "method": self.method,
            "endpoint": self.endpoint,
            "model": self.model,
            "test": self.test,
            "streamed": self.streamed,
            "events": self.events,
            "status": self.status,
            "recorded": self.recorded,
            "recorded_from": self.recorded_from,
            "key": self.key,
            "finish": self.finish,
            "preview": self.preview,
            "error": self.error,
            "complete": self.complete,
            "tokens": {"in": self.tokens_in, "out": self.tokens_out, "total": self.tokens_total},
        }


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def token_counts(usage: dict[str, Any]) -> tuple[int | None, int | None, int | None]:
    """(input, output, total) tokens from a usage object of any supported API."""
    tin = next((v for k in _INPUT if (v := _int(usage.get(k))) is not None), None)
    tout = next((v for k in _OUTPUT if (v := _int(usage.get(k))) is not None), None)
    total = _int(usage.get("total_tokens"))
    if total is None and (tin is not None or tout is not None):
        total = (tin or 0) + (tout or 0)
    return tin, tout, total


def _file_date(mtime_ns: int) -> str:
    when = _dt.datetime.fromtimestamp(mtime_ns / 1e9, tz=_dt.UTC)
    return when.isoformat(timespec="seconds").replace("+00:00", "Z")


def _error(text: str, inter: Interaction) -> str:
    """An error answer (status, error body); a stream that was only cut short is not one."""
    resp = inter.response
    if text and (resp.status >= 400 or resp.status == 0 or text != (resp.error or "")):
        return text[:_PREVIEW]
    return ""


def _row(item: Loaded, inter: Interaction, i: int, rel: str, cassette: str, mtime: int) -> Row:
    s = summarize(inter)
    last_user = next((t for role, t in reversed(s.messages) if role == "user"), "")
    preview = last_user or (s.messages[-1][1] if s.messages else "")
    tin, tout, total = token_counts(s.usage)
    tools = " ".join(f"{c.name} {c.arguments}" for c in s.tool_calls)
    haystack = "\n".join([*(t for _, t in s.messages), s.text, s.reasoning, tools, s.error]).lower()
    return Row(
        id=rel if i == 0 else f"{rel}#{i}",
        file=rel,
        index=i,
        cassette=cassette,
        format=item.format,
        size=item.size,
        mtime_ns=mtime,
        method=inter.request.method,
        endpoint=inter.request.path,
        model=inter.request.model,
        test=inter.test_id or "",
        streamed=s.streamed,
        # The [DONE] sentinel ends an OpenAI-style stream; it is not an event of the answer.
        events=sum(1 for e in inter.response.events if e.data != "[DONE]"),
        status=s.status,
        recorded=inter.recorded_at or _file_date(mtime),
        recorded_from="recording" if inter.recorded_at else "file",
        key=inter.key,
        finish=s.finish_reason,
        preview=" ".join(preview.split())[:_PREVIEW],
        error=_error(s.error, inter),
        complete=s.complete,
        tokens_in=tin,
        tokens_out=tout,
        tokens_total=total,
        haystack=haystack,
    )


def rows_of(item: Loaded, rel: str, cassette: str, mtime_ns: int) -> list[Row]:
    """The rows of one loaded file; an unreadable file is one row that says why."""
    if item.error is not None or not item.interactions:
        return [
            Row(
                id=rel,
                file=rel,
                index=0,
                cassette=cassette,
                format=item.format,
                size=item.size,
                mtime_ns=mtime_ns,
                recorded=_file_date(mtime_ns),
                recorded_from="file",
                error=f"unreadable: {item.error or 'no interactions'}",
            )
        ]
    return [
        _row(item, inter, i, rel, cassette, mtime_ns) for i, inter in enumerate(item.interactions)
    ]
