"""The file names llama-stack's recorder gives its recordings, recomputed from their content.

llama-stack finds a recording by hashing the request and opening ``<hash>.json``;
a file whose name no longer matches its request is silently never used. This
module recomputes the name every recorder generation would have written
(see docs/llama-stack-format.md, section 1), so ``llmreel check`` can name the
stale files and ``llmreel export`` can write files llama-stack will find.

- **v0.2** (versions A/A′/B): ``sha256(json.dumps({method, endpoint: url path,
  body}, sort_keys=True))``; the file is ``<hash[:12]>.json``, model lists in B
  ``models-<hash12>-<sha1(ids)[:8]>.json``.
- **2026** (versions C–E): ``test_id`` joins the hashed dict (except model lists
  whose URL path is a models path), the name is the full 64 hex digits, model
  lists are ``models-<hash64>-<sha256(ids)[:8]>.json``; from D on the body is
  normalized first (floats rounded to 5 places, long decimals inside strings
  rewritten), version C hashed the raw body, so both are tried. Raw HTTP records
  (``payload``) hash ``{test_id, url, method, payload}`` including the host.

Hashing must use Python's ``json.dumps`` (default separators, ``ensure_ascii``)
to reproduce the recorder byte for byte; orjson spells floats and spaces
differently.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlparse

__all__ = [
    "GENERATIONS",
    "Generation",
    "NameCheck",
    "candidate_names",
    "check_name",
    "expected_name",
    "model_ids",
    "normalize_body_for_hash",
    "request_hash",
]

Generation = Literal["v0.2", "2026"]
GENERATIONS: tuple[Generation, ...] = ("v0.2", "2026")

# URL paths hashed without test_id in 2026 (C: the first two; D/E add the third).
_NO_TEST_ID_PATHS = frozenset({"/api/tags", "/v1/models", "/v1/openai/v1/models"})
# Logical endpoints whose files are named models-<hash>-<digest>.json.
_MODEL_LIST_ENDPOINTS = frozenset({"/api/tags", "/v1/models", "/v1/openai/v1/models"})
_DECIMAL_IN_STRING = re.compile(r"-?\d+\.\d{4,}")


def _json_hash(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def normalize_body_for_hash(value: Any, *, root: bool = True) -> Any:
    """Versions D/E's ``_normalize_body_for_hash``: round floats, rewrite long decimals."""
    if isinstance(value, float):
        return round(value, 5)
    if isinstance(value, str):
        if "." not in value:
            return value
        return _DECIMAL_IN_STRING.sub(lambda m: f"{float(m.group(0)):.5f}", value)
    if isinstance(value, dict):
        out = {k: normalize_body_for_hash(v, root=False) for k, v in value.items()}
        if root:
            # E drops the project id of extra_body/extra_query before hashing.
            for name in ("extra_body", "extra_query"):
                inner = out.get(name)
                if isinstance(inner, dict) and "project_id" in inner:
                    out[name] = {k: v for k, v in inner.items() if k != "project_id"}
        return out
    if isinstance(value, list | tuple):
        return [normalize_body_for_hash(v, root=False) for v in value]
    return value


def request_hash(
    request: dict[str, Any],
    *,
    generation: Generation,
    test_id: str | None = None,
    normalize: bool = True,
) -> str:
    """The full sha256 hex digest llama-stack computes for a recorded request document.

    ``normalize`` applies the D/E body normalization (2026 only; v0.2 never normalized).
    """
    url = request.get("url")
    url = url if isinstance(url, str) else ""
    method = str(request.get("method") or "POST").upper()
    if "payload" in request and "body" not in request:
        payload = request.get("payload")
        if generation == "2026" and normalize:
            payload = normalize_body_for_hash(payload)
        return _json_hash({"test_id": test_id, "url": url, "method": "POST", "payload": payload})
    if "tool_name" in request and "provider" in request:
        # Tool records (Tavily): hashed without test_id.
        return _json_hash(
            {
                "provider": request.get("provider"),
                "tool_name": request.get("tool_name"),
                "kwargs": request.get("kwargs"),
            }
        )
    path = urlparse(url).path
    body = request.get("body")
    hashed: dict[str, Any] = {"method": method, "endpoint": path}
    if generation == "2026":
        hashed["body"] = normalize_body_for_hash(body) if normalize else body
        if path not in _NO_TEST_ID_PATHS:
            hashed["test_id"] = test_id
    else:
        hashed["body"] = body
    return _json_hash(hashed)


def model_ids(endpoint: str, body: Any) -> list[str]:
    """The model identifiers a model-list response holds (ids, or ollama model names)."""
    items: list[Any] = []
    if isinstance(body, list):
        items = body
    elif isinstance(body, dict):
        data = body.get("__data__", body)
        if isinstance(data, dict):
            inner = data.get("models") if endpoint == "/api/tags" else data.get("data")
            if isinstance(inner, list):
                items = inner
    ids: list[str] = []
    for item in items:
        data = item.get("__data__", item) if isinstance(item, dict) else item
        if not isinstance(data, dict):
            continue
        name = data.get("model") if endpoint == "/api/tags" else data.get("id")
        if name is None and endpoint == "/api/tags":
            name = data.get("name")
        if isinstance(name, str):
            ids.append(name)
    return ids


def _digest(ids: list[str], algo: str) -> str:
    text = "|".join(sorted(set(ids)))
    return hashlib.new(algo, text.encode()).hexdigest()[:8]


def _is_model_list(request: dict[str, Any]) -> bool:
    endpoint = request.get("endpoint")
    return isinstance(endpoint, str) and endpoint in _MODEL_LIST_ENDPOINTS


def expected_name(doc: dict[str, Any], generation: Generation, *, normalize: bool = True) -> str:
    """The file name the newest recorder of ``generation`` gives this document."""
    request = doc.get("request")
    request = request if isinstance(request, dict) else {}
    test_id = _test_id(doc)
    h = request_hash(request, generation=generation, test_id=test_id, normalize=normalize)
    if _is_model_list(request):
        endpoint = str(request.get("endpoint"))
        response = doc.get("response")
        body = response.get("body") if isinstance(response, dict) else None
        ids = model_ids(endpoint, body)
        if generation == "2026":
            return f"models-{h}-{_digest(ids, 'sha256')}.json"
        return f"models-{h[:12]}-{_digest(ids, 'sha1')}.json"
    return f"{h}.json" if generation == "2026" else f"{h[:12]}.json"


def _test_id(doc: dict[str, Any]) -> str | None:
    test_id = doc.get("test_id")
    if isinstance(test_id, str):
        return test_id
    request = doc.get("request")
    if isinstance(request, dict) and isinstance(request.get("test_id"), str):
        return str(request["test_id"])
    return None


def candidate_names(doc: dict[str, Any]) -> dict[str, str]:
    """Every name some recorder version could have given ``doc``, with the variant's label."""
    request = doc.get("request")
    request = request if isinstance(request, dict) else {}
    out: dict[str, str] = {}
    is_2026 = "test_id" in doc or "id_normalization_mapping" in doc
    test_ids: list[str | None] = [_test_id(doc)]
    if test_ids[0] is not None:
        # E's stored test id may come from a fallback the hash did not use (doc 1.3).
        test_ids.append(None)
    gens: tuple[Generation, ...] = ("2026", "v0.2") if is_2026 else ("v0.2", "2026")
    for gen in gens:
        for normalize in (True, False) if gen == "2026" else (False,):
            for tid in test_ids if gen == "2026" else [None]:
                h = request_hash(request, generation=gen, test_id=tid, normalize=normalize)
                label = f"{gen}{'' if normalize or gen == 'v0.2' else ' (raw body)'}"
                if tid is None and test_ids[0] is not None:
                    label += " (test_id null)"
                if _is_model_list(request):
                    endpoint = str(request.get("endpoint"))
                    response = doc.get("response")
                    body = response.get("body") if isinstance(response, dict) else None
                    ids = model_ids(endpoint, body)
                    if gen == "2026":
                        out.setdefault(f"models-{h}-{_digest(ids, 'sha256')}.json", label)
                    else:
                        out.setdefault(f"models-{h[:12]}-{_digest(ids, 'sha1')}.json", label)
                        out.setdefault(f"{h[:12]}.json", label + " (version A)")
                else:
                    out.setdefault(f"{h}.json" if gen == "2026" else f"{h[:12]}.json", label)
    return out


@dataclass(frozen=True, slots=True)
class NameCheck:
    """Whether a llama-stack file's name matches its request."""

    ok: bool
    name: str
    expected: str  # what the file should be called (the variant its shape suggests)
    variant: str  # which recorder variant the name matched, or "" when none did


def check_name(name: str, doc: dict[str, Any]) -> NameCheck:
    """Compare a file name with the names every recorder version would have given ``doc``."""
    base = name.rsplit("/", 1)[-1]
    candidates = candidate_names(doc)
    if base in candidates:
        return NameCheck(True, base, base, candidates[base])
    # The name's shape says which generation wrote it: report that generation's name.
    stem = base.removesuffix(".json")
    if stem.startswith("models-"):
        stem = stem.split("-")[1] if stem.count("-") >= 2 else stem
    gen: Generation = "2026" if len(stem) == 64 else "v0.2"
    if "test_id" in doc or "id_normalization_mapping" in doc:
        gen = "2026"
    return NameCheck(False, base, expected_name(doc, gen), "")
