"""A fake Ollama server speaking Ollama's native ``/api/*`` wire format, deterministically.

There is no Ollama binary in the test environment, so this stands in for one. Field names and
shapes follow the real server (checked against the ``ollama`` Python client's ``_types.py`` and
``_client.py``, and proved by tests that drive ``ollama.Client`` / ``ollama.AsyncClient``):

- ``POST /api/chat``, ``POST /api/generate``: ``stream`` defaults to true, as in Ollama. Streaming
  answers are NDJSON (``application/x-ndjson``), one JSON object per line, ``delay`` seconds apart,
  the last with ``done: true``, ``done_reason``, durations (ns) and eval counts; ``/api/generate``'s
  last line also carries ``context``. ``stream: false`` gives that final object with the whole text.
- ``POST /api/embed`` (``{"model", "embeddings": [[...]], ...}``, L2-normalised) and the legacy
  ``POST /api/embeddings`` (``{"embedding": [...]}``).
- ``GET /api/tags``, ``GET /api/ps``, ``POST /api/show``, ``GET /api/version``, ``POST /api/pull``
  (NDJSON progress lines unless ``stream: false``), and ``GET /`` ("Ollama is running").

Answers are derived from the request only: the reply is ``"You said: "`` plus the last user
message (or prompt), one word per token, capped by ``options.num_predict`` (then
``done_reason: "length"``). Timestamps are fixed unless ``real_time=True``, so identical requests
give byte-identical responses. A model whose name starts with ``missing`` gets Ollama's 404.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from .streams import NDJSON_MEDIA_TYPE, ChunkStream

FIXED_TIME = "2025-01-01T00:00:00.000000000Z"
VERSION = "0.12.6"
EMBED_DIM = 8

# name -> (family, parameter size, quantization, capabilities, size in bytes)
DEFAULT_MODELS: dict[str, tuple[str, str, str, list[str], int]] = {
    "smollm2:135m": ("llama", "134.52M", "F16", ["completion", "tools"], 270_898_464),
    "llama3.2:1b": ("llama", "1.2B", "Q8_0", ["completion", "tools"], 1_321_098_329),
    "all-minilm:latest": ("bert", "23M", "F16", ["embedding"], 45_960_996),
}


def _json(content: Any, status_code: int = 200) -> Response:
    # Ollama (Go) labels its JSON bodies with an explicit charset.
    return JSONResponse(content, status_code, media_type="application/json; charset=utf-8")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def embedding_for(text: str, dim: int = EMBED_DIM) -> list[float]:
    """A deterministic unit vector for ``text`` (same text, same vector, across processes)."""
    raw = b""
    counter = 0
    while len(raw) < 4 * dim:
        raw += hashlib.sha256(f"{counter}:{text}".encode()).digest()
        counter += 1
    values = [((v % 2001) - 1000) / 1000 for v in struct.unpack(f"<{dim}I", raw[: 4 * dim])]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [round(v / norm, 6) for v in values]


def _last_user_text(messages: Any) -> str:
    if not isinstance(messages, list):
        return ""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return str(message.get("content") or "")
    return ""


@dataclass
class FakeOllama:
    """The app and its knobs. Serve ``.app`` with :func:`upstreams.serving.run_app`."""

    delay: float = 0.01  # seconds between NDJSON lines, like tokens arriving from a model
    real_time: bool = False
    base_url: str = ""  # set by whoever serves ``.app`` (the ``fake_ollama`` fixture does)
    models: dict[str, tuple[str, str, str, list[str], int]] = field(
        default_factory=lambda: dict(DEFAULT_MODELS)
    )
    received: list[dict[str, Any]] = field(default_factory=list)  # (path, json body) per request

    def __post_init__(self) -> None:
        self.app = Starlette(
            routes=[
                Route("/", self._root, methods=["GET", "HEAD"]),
                Route("/api/chat", self._chat, methods=["POST"]),
                Route("/api/generate", self._generate, methods=["POST"]),
                Route("/api/embed", self._embed, methods=["POST"]),
                Route("/api/embeddings", self._embeddings, methods=["POST"]),
                Route("/api/tags", self._tags, methods=["GET"]),
                Route("/api/ps", self._ps, methods=["GET"]),
                Route("/api/show", self._show, methods=["POST"]),
                Route("/api/version", self._version, methods=["GET"]),
                Route("/api/pull", self._pull, methods=["POST"]),
            ]
        )

    # -- helpers ----------------------------------------------------------------------------

    def _now(self) -> str:
        if not self.real_time:
            return FIXED_TIME
        return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")

    async def _body(self, request: Request) -> dict[str, Any]:
        raw = await request.body()
        body = json.loads(raw) if raw else {}
        self.received.append({"path": request.url.path, "body": body})
        return body if isinstance(body, dict) else {}

    @staticmethod
    def _not_found(model: str) -> Response:
        return _json({"error": f'model "{model}" not found, try pulling it first'}, status_code=404)

    def _details(self, name: str) -> dict[str, Any]:
        family, size, quant, _, _ = self.models.get(name, DEFAULT_MODELS["smollm2:135m"])
        return {
            "parent_model": "",
            "format": "gguf",
            "family": family,
            "families": [family],
            "parameter_size": size,
            "quantization_level": quant,
        }

    def _lines(self, objects: list[dict[str, Any]], stream: bool) -> Response | ChunkStream:
        if not stream:
            return _json(objects[-1])
        chunks = [json.dumps(o, separators=(",", ":")).encode() + b"\n" for o in objects]
        return ChunkStream(chunks, media_type=NDJSON_MEDIA_TYPE, delay=self.delay)

    @staticmethod
    def _tokens(body: dict[str, Any], text: str) -> tuple[list[str], str]:
        words = f"You said: {text}".split()
        tokens = [(" " if i else "") + w for i, w in enumerate(words)]
        limit = (body.get("options") or {}).get("num_predict")
        if isinstance(limit, int) and 0 <= limit < len(tokens):
            return tokens[:limit], "length"
        return tokens, "stop"

    def _stats(self, prompt_text: str, n_tokens: int) -> dict[str, int]:
        prompt_count = len(prompt_text.split()) + 10  # + chat template tokens, roughly
        load, prompt_ns, eval_ns = 1_000_000, prompt_count * 100_000, n_tokens * 10_000_000
        return {
            "total_duration": load + prompt_ns + eval_ns,
            "load_duration": load,
            "prompt_eval_count": prompt_count,
            "prompt_eval_duration": prompt_ns,
            "eval_count": n_tokens,
            "eval_duration": eval_ns,
        }

    # -- endpoints --------------------------------------------------------------------------

    async def _root(self, request: Request) -> Response:
        return PlainTextResponse("Ollama is running")

    async def _chat(self, request: Request) -> Response | ChunkStream:
        body = await self._body(request)
        model = str(body.get("model", ""))
        if model.startswith("missing"):
            return self._not_found(model)
        text = _last_user_text(body.get("messages"))
        tokens, reason = self._tokens(body, text)
        head = {"model": model, "created_at": self._now()}
        lines: list[dict[str, Any]] = [
            {**head, "message": {"role": "assistant", "content": t}, "done": False} for t in tokens
        ]
        stream = body.get("stream", True) is not False
        final_content = "" if stream else "".join(tokens)
        lines.append(
            {
                **head,
                "message": {"role": "assistant", "content": final_content},
                "done_reason": reason,
                "done": True,
                **self._stats(text, len(tokens)),
            }
        )
        return self._lines(lines, stream)

    async def _generate(self, request: Request) -> Response | ChunkStream:
        body = await self._body(request)
        model = str(body.get("model", ""))
        if model.startswith("missing"):
            return self._not_found(model)
        prompt = str(body.get("prompt") or "")
        stream = body.get("stream", True) is not False
        head = {"model": model, "created_at": self._now()}
        if not prompt:
            # Ollama answers an empty prompt by just loading the model.
            return _json({**head, "response": "", "done": True, "done_reason": "load"})
        tokens, reason = self._tokens(body, prompt)
        lines: list[dict[str, Any]] = [{**head, "response": t, "done": False} for t in tokens]
        lines.append(
            {
                **head,
                "response": "" if stream else "".join(tokens),
                "done": True,
                "done_reason": reason,
                # Ollama's opaque conversation state: token ids; any stable ints will do here.
                "context": [len(w) for w in (prompt + " " + "".join(tokens)).split()],
                **self._stats(prompt, len(tokens)),
            }
        )
        return self._lines(lines, stream)

    async def _embed(self, request: Request) -> Response:
        body = await self._body(request)
        model = str(body.get("model", ""))
        if model.startswith("missing"):
            return self._not_found(model)
        inputs = body.get("input", [])
        texts = [inputs] if isinstance(inputs, str) else [str(t) for t in inputs]
        dim = body.get("dimensions") or EMBED_DIM
        return _json(
            {
                "model": model,
                "embeddings": [embedding_for(t, dim) for t in texts],
                "total_duration": 2_000_000,
                "load_duration": 1_000_000,
                "prompt_eval_count": sum(len(t.split()) for t in texts),
            }
        )

    async def _embeddings(self, request: Request) -> Response:
        body = await self._body(request)
        model = str(body.get("model", ""))
        if model.startswith("missing"):
            return self._not_found(model)
        return _json({"embedding": embedding_for(str(body.get("prompt") or ""))})

    async def _tags(self, request: Request) -> Response:
        models = [
            {
                "name": name,
                "model": name,
                "modified_at": "2025-01-01T00:00:00.000000000Z",
                "size": size,
                "digest": _digest(name),
                "details": self._details(name),
            }
            for name, (*_, size) in self.models.items()
        ]
        return _json({"models": models})

    async def _ps(self, request: Request) -> Response:
        name = next(iter(self.models))
        size = self.models[name][4]
        running = {
            "name": name,
            "model": name,
            "size": size,
            "digest": _digest(name),
            "details": self._details(name),
            "expires_at": "2025-01-01T00:05:00.000000000Z",
            "size_vram": 0,
            "context_length": 4096,
        }
        return _json({"models": [running]})

    async def _show(self, request: Request) -> Response:
        body = await self._body(request)
        name = str(body.get("model") or body.get("name") or "")
        if name not in self.models:
            return self._not_found(name)
        family, _, _, capabilities, _ = self.models[name]
        return _json(
            {
                "license": "Apache License 2.0",
                "modelfile": f"FROM {name}\nTEMPLATE {{{{ .Prompt }}}}\n",
                "parameters": 'stop "<|im_end|>"',
                "template": "{{ .Prompt }}",
                "details": self._details(name),
                "model_info": {
                    "general.architecture": family,
                    "general.parameter_count": 134_515_008,
                    f"{family}.context_length": 8192,
                },
                "capabilities": capabilities,
                "modified_at": "2025-01-01T00:00:00.000000000Z",
            }
        )

    async def _version(self, request: Request) -> Response:
        return _json({"version": VERSION})

    async def _pull(self, request: Request) -> Response | ChunkStream:
        body = await self._body(request)
        name = str(body.get("model") or body.get("name") or "")
        digest = f"sha256:{_digest(name)}"
        total = 1000
        lines: list[dict[str, Any]] = [
            {"status": "pulling manifest"},
            {"status": f"pulling {digest[7:19]}", "digest": digest, "total": total},
            {
                "status": f"pulling {digest[7:19]}",
                "digest": digest,
                "total": total,
                "completed": total,
            },
            {"status": "verifying sha256 digest"},
            {"status": "writing manifest"},
            {"status": "success"},
        ]
        return self._lines(lines, body.get("stream", True) is not False)
