"""The ``tool-call-ids`` rule: tool-call ids renamed by order of first appearance.

A tool call's id only pairs the call with its result; frameworks that make ids
themselves make new ones on every run (``pyd_ai_cee885…``), so the same
conversation would never replay. Every id is replaced by ``<tool-call-N>``, N
counting the distinct ids in the order they first appear, everywhere it is
referenced:

- OpenAI chat and Ollama: ``messages[].tool_calls[].id`` and ``messages[].tool_call_id``;
- Anthropic: the ``id`` of ``tool_use`` (and server/MCP tool use) blocks and
  every block's ``tool_use_id``;
- OpenAI Responses: every input item's ``call_id``;
- Gemini: ``functionCall.id`` and ``functionResponse.id``.

The renaming is consistent, so which result answers which call is kept: a
conversation where a result answers another call still misses. Ids the server
itself resolves (Responses item ids ``fc_…``, ``previous_response_id``) are not
touched.
"""

from __future__ import annotations

from typing import Any

from llmreel.matching.rules.base import Rule, objects_at
from llmreel.providers.endpoints import Endpoint

__all__ = ["TOOL_CALL_IDS"]

_TOOL_USE_BLOCKS = frozenset({"tool_use", "server_tool_use", "mcp_tool_use"})


class _Names:
    def __init__(self) -> None:
        self.seen: dict[str, str] = {}

    def rename(self, obj: dict[str, Any], field: str) -> None:
        value = obj.get(field)
        if isinstance(value, str):
            new = self.seen.get(value)
            if new is None:
                new = self.seen[value] = f"<tool-call-{len(self.seen) + 1}>"
            obj[field] = new


def _chat(body: Any, names: _Names) -> None:
    for msg in objects_at(body, "messages[]"):
        calls = msg.get("tool_calls")
        if isinstance(calls, list):
            for call in calls:
                if isinstance(call, dict):
                    names.rename(call, "id")
        names.rename(msg, "tool_call_id")


def _anthropic(body: Any, names: _Names) -> None:
    for block in objects_at(body, "messages[].content[]"):
        if block.get("type") in _TOOL_USE_BLOCKS:
            names.rename(block, "id")
        names.rename(block, "tool_use_id")


def _responses(body: Any, names: _Names) -> None:
    for item in objects_at(body, "input[]"):
        names.rename(item, "call_id")


def _gemini(body: Any, names: _Names) -> None:
    for part in objects_at(body, "contents[].parts[]"):
        for field in ("functionCall", "function_call", "functionResponse", "function_response"):
            call = part.get(field)
            if isinstance(call, dict):
                names.rename(call, "id")


_BY_ENDPOINT = {
    "openai.chat": _chat,
    "ollama.chat": _chat,
    "anthropic.messages": _anthropic,
    "openai.responses": _responses,
    "gemini.generate": _gemini,
}


def _rename(body: Any, endpoint: Endpoint | None) -> Any:
    walk = _BY_ENDPOINT.get(endpoint.name) if endpoint is not None else None
    if walk is not None:
        walk(body, _Names())
    return body


# Every id the rule renames is in one of these members (or a block of a type holding
# "tool_use": tool_use, server_tool_use, mcp_tool_use, and every tool_use_id).
_MARKERS = (
    b'"tool_calls"',
    b'"tool_call_id"',
    b"tool_use",
    b'"call_id"',
    b'"functionCall"',
    b'"function_call"',
    b'"functionResponse"',
    b'"function_response"',
)


def _wanted(dumped: bytes, endpoint: Endpoint | None) -> bool:
    return any(marker in dumped for marker in _MARKERS)


TOOL_CALL_IDS = Rule(
    "tool-call-ids",
    1,
    merges="conversations whose tool-call ids differ but pair calls and results the same way "
    "(ids generated per run)",
    safe="an id only pairs a call with its result, and the pairing is kept; caveat: a server "
    "whose chat template prints ids into the prompt sees different text (switch the rule off)",
    apply=_rename,
    wanted=_wanted,
)
