"""The ``__type__`` names llama-stack's recorder gives response objects, inferred from wire data.

llama-stack records the parsed objects of the openai and ollama Python SDKs as
``{"__type__": "<module>.<Class>", "__data__": {...}}``; exporting a wire
recording back means naming the class the recorder would have seen, from the
endpoint and the object's ``object``/``type`` field.
"""

from __future__ import annotations

from typing import Any

__all__ = ["infer_type"]

_OPENAI_OBJECTS = {
    "chat.completion": "openai.types.chat.chat_completion.ChatCompletion",
    "chat.completion.chunk": "openai.types.chat.chat_completion_chunk.ChatCompletionChunk",
    "text_completion": "openai.types.completion.Completion",
    "model": "openai.types.model.Model",
    "response": "openai.types.responses.response.Response",
}
_OLLAMA_TYPES = {
    "/api/chat": "ollama._types.ChatResponse",
    "/api/generate": "ollama._types.GenerateResponse",
    "/api/embed": "ollama._types.EmbedResponse",
    "/api/embeddings": "ollama._types.EmbeddingsResponse",
    "/api/pull": "ollama._types.ProgressResponse",
    "/api/push": "ollama._types.ProgressResponse",
    "/api/create": "ollama._types.ProgressResponse",
    "/api/tags": "ollama._types.ListResponse",
    "/api/ps": "ollama._types.ProcessResponse",
    "/api/show": "ollama._types.ShowResponse",
    "/api/copy": "ollama._types.StatusResponse",
    "/api/delete": "ollama._types.StatusResponse",
}
# Responses-API stream event types whose module name does not follow the pattern.
_RESPONSES_RENAMES = {
    "output_text_delta": "text_delta",
    "output_text_done": "text_done",
}


def _responses_event_type(kind: str) -> str | None:
    if kind == "error":
        return "openai.types.responses.response_error_event.ResponseErrorEvent"
    if not kind.startswith("response."):
        return None
    name = kind[len("response.") :].replace(".", "_")
    name = _RESPONSES_RENAMES.get(name, name).replace("image_generation_call", "image_gen_call")
    camel = "".join(p[:1].upper() + p[1:] for p in name.split("_"))
    return f"openai.types.responses.response_{name}_event.Response{camel}Event"


def infer_type(endpoint: str, data: Any) -> str | None:
    """The ``__type__`` llama-stack's recorder would have written for one response object."""
    if endpoint.startswith("/api/"):
        return _OLLAMA_TYPES.get(endpoint)
    if not isinstance(data, dict):
        return None
    obj = data.get("object")
    if isinstance(obj, str) and obj in _OPENAI_OBJECTS:
        return _OPENAI_OBJECTS[obj]
    if obj == "list" and endpoint.endswith("/embeddings"):
        return "openai.types.create_embedding_response.CreateEmbeddingResponse"
    kind = data.get("type")
    if isinstance(kind, str) and endpoint.endswith("/responses"):
        return _responses_event_type(kind)
    return None
