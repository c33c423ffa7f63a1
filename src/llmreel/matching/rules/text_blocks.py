"""The ``text-blocks`` rule: a plain string and the same text as one text block are one form.

The APIs accept a message's ``content`` (and Anthropic's ``system``) either as a
string or as a list of content blocks, and define the string as one text block.
SDKs and frameworks pick either, so both are keyed as the string. Only a list of
exactly one block whose keys are exactly ``type`` and ``text`` is folded: a
block with ``cache_control``, ``citations`` or any other member, or two blocks,
stays as sent.

Responses API (OpenAI): ``input`` as a string is "equivalent to a text input
with the user role" (its reference), so it is keyed as that one message; a
message's optional ``"type": "message"`` tag is dropped, and an ``input_text``
block folds like a ``text`` block (user, system and developer messages).
"""

from __future__ import annotations

from typing import Any

from llmreel.matching.rules.base import Rule, objects_at
from llmreel.providers.endpoints import Endpoint

__all__ = ["TEXT_BLOCKS"]

_RESPONSES_TEXT_ROLES = frozenset({"user", "system", "developer"})


def _folded(content: Any, block_type: str) -> Any:
    if (
        isinstance(content, list)
        and len(content) == 1
        and isinstance(content[0], dict)
        and content[0].keys() == {"type", "text"}
        and content[0]["type"] == block_type
        and isinstance(content[0]["text"], str)
    ):
        return content[0]["text"]
    return content


def _fold_messages(body: Any, block_type: str) -> None:
    for msg in objects_at(body, "messages[]"):
        if "content" in msg:
            msg["content"] = _folded(msg["content"], block_type)


def _responses(body: dict[str, Any]) -> None:
    if isinstance(body.get("input"), str):
        body["input"] = [{"role": "user", "content": body["input"]}]
    for item in objects_at(body, "input[]"):
        if item.get("type") == "message" and "id" not in item and "role" in item:
            del item["type"]
        if item.get("role") in _RESPONSES_TEXT_ROLES and "content" in item:
            item["content"] = _folded(item["content"], "input_text")


def _fold(body: Any, endpoint: Endpoint | None) -> Any:
    if endpoint is None or not isinstance(body, dict):
        return body
    name = endpoint.name
    if name == "openai.chat":
        _fold_messages(body, "text")
    elif name == "anthropic.messages":
        _fold_messages(body, "text")
        if "system" in body:
            body["system"] = _folded(body["system"], "text")
        for block in objects_at(body, "messages[].content[]"):
            if block.get("type") == "tool_result" and "content" in block:
                block["content"] = _folded(block["content"], "text")
    elif name == "openai.responses":
        _responses(body)
    return body


TEXT_BLOCKS = Rule(
    "text-blocks",
    1,
    merges="a message content (Anthropic: also system and tool_result content) given as a "
    "string, and the same text as a list of one plain text block; OpenAI Responses: input "
    "as a string and as one user message",
    safe="the APIs define the string form as exactly that one text block; blocks with any "
    "other member (cache_control, citations) or more than one block are kept as sent",
    apply=_fold,
    # Folding needs a "text" member (a text block) or a Responses "input".
    wanted=lambda dumped, endpoint: b'"text"' in dumped or b'"input"' in dumped,
)
