"""Which API endpoint a request is for, and where the API's own structure is in its body.

The canonical rules (:mod:`llmreel.matching.rules`) only rewrite what they know
the meaning of: an endpoint is recognised by its path (the host never counts,
so a recording made against one server replays through any other), and each
endpoint lists the places in its body that are the API's own structure
(messages, content blocks, tool definitions). Everything else (JSON schemas,
tool arguments, metadata, any field the API does not define) is user data and
is never touched: a ``null`` inside a tool's JSON schema means something.

Paths are matched by their end so that prefixes in front of an API (Azure's
``/openai/deployments/{d}``, llama-stack's ``/v1/openai/v1``, gateways) keep
working.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ENDPOINTS", "Endpoint", "endpoint_for"]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One request endpoint of one API, as the canonical rules see it.

    ``structure`` lists the objects (``a.b[]`` = every item of list ``b`` in ``a``)
    whose members are the API's own parameters, where a ``null`` member means the
    same as an absent one. ``""`` is the body itself.
    """

    name: str  # e.g. "openai.chat"
    structure: tuple[str, ...] = ("",)


_OPENAI_CHAT = Endpoint(
    "openai.chat",
    (
        "",
        "messages[]",
        "messages[].content[]",
        "messages[].content[].image_url",
        "messages[].content[].input_audio",
        "messages[].content[].file",
        "messages[].tool_calls[]",
        "messages[].tool_calls[].function",
        "messages[].function_call",
        "messages[].audio",
        "tools[]",
        "tools[].function",
        "tool_choice",
        "tool_choice.function",
        "response_format",
        "response_format.json_schema",
        "stream_options",
        "prediction",
        "audio",
        "web_search_options",
    ),
)
_OPENAI_COMPLETIONS = Endpoint("openai.completions", ("", "stream_options"))
_OPENAI_EMBEDDINGS = Endpoint("openai.embeddings")
_OPENAI_RESPONSES = Endpoint(
    "openai.responses",
    (
        "",
        "input[]",
        "input[].content[]",
        "tools[]",
        "tool_choice",
        "text",
        "text.format",
        "reasoning",
        "prompt",
        "stream_options",
        "conversation",
    ),
)
_ANTHROPIC_MESSAGES = Endpoint(
    "anthropic.messages",
    (
        "",
        "messages[]",
        "messages[].content[]",
        "messages[].content[].source",
        "messages[].content[].content[]",
        "system[]",
        "tools[]",
        "tool_choice",
        "thinking",
    ),
)
_OLLAMA_CHAT = Endpoint(
    "ollama.chat",
    (
        "",
        "messages[]",
        "messages[].tool_calls[]",
        "messages[].tool_calls[].function",
        "tools[]",
        "tools[].function",
    ),
)
_OLLAMA_GENERATE = Endpoint("ollama.generate")
_OLLAMA_EMBED = Endpoint("ollama.embed")
_GEMINI_GENERATE = Endpoint(
    "gemini.generate",
    (
        "",
        "contents[]",
        "contents[].parts[]",
        "systemInstruction",
        "system_instruction",
        "generationConfig",
        "generation_config",
        "toolConfig",
        "tool_config",
        "tools[]",
    ),
)

ENDPOINTS: tuple[Endpoint, ...] = (
    _OPENAI_CHAT,
    _OPENAI_COMPLETIONS,
    _OPENAI_EMBEDDINGS,
    _OPENAI_RESPONSES,
    _ANTHROPIC_MESSAGES,
    _OLLAMA_CHAT,
    _OLLAMA_GENERATE,
    _OLLAMA_EMBED,
    _GEMINI_GENERATE,
)


def endpoint_for(method: str, path: str) -> Endpoint | None:
    """The endpoint a request is for, or None when the canonical rules do not know it."""
    if method.upper() != "POST":
        return None
    if path.endswith("/chat/completions"):
        return _OPENAI_CHAT
    if path.endswith("/completions"):
        return _OPENAI_COMPLETIONS
    # Ollama's native API before the OpenAI shapes: /api/embeddings is Ollama's, not OpenAI's.
    if path.endswith("/api/chat"):
        return _OLLAMA_CHAT
    if path.endswith("/api/generate"):
        return _OLLAMA_GENERATE
    if path.endswith(("/api/embed", "/api/embeddings")):
        return _OLLAMA_EMBED
    if path.endswith("/embeddings"):
        return _OPENAI_EMBEDDINGS
    if path.endswith("/responses"):
        return _OPENAI_RESPONSES
    # /v1/messages, but not the Assistants API's /v1/threads/{id}/messages.
    if path.endswith("/v1/messages") and "/threads/" not in path:
        return _ANTHROPIC_MESSAGES
    if path.endswith((":generateContent", ":streamGenerateContent")):
        return _GEMINI_GENERATE
    return None
