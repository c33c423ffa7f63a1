"""Model lists made up from a cassette, for clients that ask what models exist.

Many clients call ``GET /v1/models`` (OpenAI) or ``GET /api/tags`` (Ollama)
before they do anything else. When the cassette holds no recording of that
call, replay answers with the models its recordings use, so such clients work
offline too. A recording of the call, when there is one, always wins.
"""

from __future__ import annotations

from typing import Any

from llmreel.store import Cassette

__all__ = ["LIST_PATHS", "models_in", "synthesized_list"]

LIST_PATHS = frozenset({"/v1/models", "/api/tags"})


def models_in(cassette: Cassette) -> list[str]:
    return sorted({e.model for e in cassette.entries() if e.model})


def synthesized_list(path: str, cassette: Cassette) -> dict[str, Any]:
    models = models_in(cassette)
    if path == "/api/tags":
        return {
            "models": [
                {
                    "name": m,
                    "model": m,
                    "modified_at": "1970-01-01T00:00:00Z",
                    "size": 0,
                    "digest": "",
                    "details": {},
                }
                for m in models
            ]
        }
    return {
        "object": "list",
        "data": [{"id": m, "object": "model", "created": 0, "owned_by": "llmreel"} for m in models],
    }
