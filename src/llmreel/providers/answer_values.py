"""The values of the fields that say how an answer ended, as each provider documents them.

Whether an answer stopped on its own, hit the token limit or called a tool
follows from the text the model produced, so it may change from one call to the
next without the API changing. A drift check (``llmreel verify``) therefore
treats a move between two documented values of these fields as part of the
answer, not of its structure; a value outside these sets is a change of the API.
"""

from __future__ import annotations

__all__ = ["ENDING_FIELDS", "ENDING_VALUES"]

# Field names (the last part of a path) that say why or how an answer ended.
ENDING_FIELDS = frozenset(
    {"finish_reason", "stop_reason", "done_reason", "finishReason", "status", "reason"}
)

ENDING_VALUES = frozenset(
    {
        # OpenAI chat and completions (finish_reason)
        "stop",
        "length",
        "tool_calls",
        "content_filter",
        "function_call",
        # Anthropic messages (stop_reason)
        "end_turn",
        "max_tokens",
        "stop_sequence",
        "tool_use",
        "pause_turn",
        "refusal",
        # Ollama (done_reason)
        "load",
        "unload",
        # OpenAI responses (status, incomplete_details.reason)
        "completed",
        "incomplete",
        "in_progress",
        "failed",
        "cancelled",
        "queued",
        "max_output_tokens",
        # Gemini (finishReason)
        "STOP",
        "MAX_TOKENS",
        "SAFETY",
        "RECITATION",
        "LANGUAGE",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "MALFORMED_FUNCTION_CALL",
        "OTHER",
        "FINISH_REASON_UNSPECIFIED",
    }
)
