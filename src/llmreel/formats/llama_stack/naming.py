"""The file names llama-stack's recorder gives its recordings, recomputed from their content.

llama-stack finds a recording by hashing the request and opening ``<hash>.json``;
a file whose name no longer matches its request is silently never used. This
module recomputes the name the recorder gives a document (the hash itself is
:mod:`.hashing`), so ``llmreel check`` can name the stale files and ``llmreel
export`` can write files llama-stack will find. See docs/llama-stack-format.md,
section 1.

- **v0.2** (versions A/A′/B): ``<hash[:12]>.json``; model lists in B
  ``models-<hash12>-<sha1(ids)[:8]>.json``, in A/A′ plain.
- **2026**: the full 64 hex digits; model lists (logical endpoint ``/api/tags``,
  ``/v1/models``, ``/v1/openai/v1/models``: ``store_recording``) are
  ``models-<hash64>-<sha256(ids)[:8]>.json`` (``_model_identifiers_digest``).

**Stale or not.** A file is fresh when the current recorder of its generation
looks it up under its name: for 2026, the May 2026 recorder's hash of its
content. Model lists are looked up by ``models-<hash>-*.json``
(``_model_list_responses``), so only the hash part counts. One more name is
right: in server mode the recorder stores ``test_id`` from a fallback
(``_get_test_context_with_fallback``) while it hashed the context it had, which
may have been none; such a file is found by a run in the same mode.
Names from older 2026 recorders (version C hashed the raw body) are listed by
:func:`candidate_names` (``export`` keeps such a name) but are stale: the current
recorder never opens them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Literal

from llmreel.formats.llama_stack.hashing import (
    hash_text,
    hash_texts,
    normalize_body_for_hash,
    sha256_hex,
)

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

# Logical endpoints whose files are named models-<hash>-<digest>.json.
_MODEL_LIST_ENDPOINTS = frozenset({"/api/tags", "/v1/models", "/v1/openai/v1/models"})


def request_hash(
    request: dict[str, Any],
    *,
    generation: Generation,
    test_id: str | None = None,
    normalize: bool = True,
) -> str:
    """The full sha256 hex digest llama-stack computes for a recorded request document.

    ``normalize`` applies the 2026 body normalization (v0.2 never normalized).
    """
    return sha256_hex(
        hash_text(request, current=generation == "2026", test_id=test_id, normalize=normalize)
    )


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


def _model_list_endpoint(request: dict[str, Any]) -> str | None:
    endpoint = request.get("endpoint")
    return endpoint if isinstance(endpoint, str) and endpoint in _MODEL_LIST_ENDPOINTS else None


def _request(doc: dict[str, Any]) -> dict[str, Any]:
    request = doc.get("request")
    return request if isinstance(request, dict) else {}


def _name(doc: dict[str, Any], h: str, generation: Generation, *, plain: bool = False) -> str:
    """The file name for hash ``h`` (``plain``: version A's model lists, no digest)."""
    endpoint = _model_list_endpoint(_request(doc))
    if endpoint is not None and not plain:
        response = doc.get("response")
        ids = model_ids(endpoint, response.get("body") if isinstance(response, dict) else None)
        if generation == "2026":
            return f"models-{h}-{_digest(ids, 'sha256')}.json"
        return f"models-{h[:12]}-{_digest(ids, 'sha1')}.json"
    return f"{h}.json" if generation == "2026" else f"{h[:12]}.json"


def expected_name(doc: dict[str, Any], generation: Generation, *, normalize: bool = True) -> str:
    """The file name the current recorder of ``generation`` gives this document."""
    h = request_hash(
        _request(doc), generation=generation, test_id=_test_id(doc), normalize=normalize
    )
    return _name(doc, h, generation)


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
    request = _request(doc)
    out: dict[str, str] = {}
    is_2026 = "test_id" in doc or "id_normalization_mapping" in doc
    test_ids: list[str | None] = [_test_id(doc)]
    if test_ids[0] is not None:
        test_ids.append(None)  # the server-mode fallback (see the module docstring)
    gens: tuple[Generation, ...] = ("2026", "v0.2") if is_2026 else ("v0.2", "2026")
    for gen in gens:
        for normalize in (True, False) if gen == "2026" else (False,):
            for tid in test_ids if gen == "2026" else [None]:
                h = request_hash(request, generation=gen, test_id=tid, normalize=normalize)
                label = f"{gen}{'' if normalize or gen == 'v0.2' else ' (raw body)'}"
                if tid is None and test_ids[0] is not None:
                    label += " (test_id null)"
                out.setdefault(_name(doc, h, gen), label)
                if gen == "v0.2" and _model_list_endpoint(request) is not None:
                    out.setdefault(_name(doc, h, gen, plain=True), label + " (version A)")
    return out


@dataclass(frozen=True, slots=True)
class NameCheck:
    """Whether a llama-stack file's name matches its request."""

    ok: bool
    name: str
    expected: str  # what the file should be called (its generation's current recorder)
    variant: str  # which recorder variant the name matched, or "" when none did


def _generation_of(base: str, doc: dict[str, Any]) -> Generation:
    """The generation a name's shape says wrote it (64 hex digits: 2026)."""
    stem = base.removesuffix(".json").removeprefix("models-")
    head = stem.split("-", 1)[0]
    if len(head) == 64:
        return "2026"
    if len(head) == 12:
        return "v0.2"
    return "2026" if "test_id" in doc or "id_normalization_mapping" in doc else "v0.2"


def _hash_part(name: str) -> str:
    """``models-<hash>-<digest>.json`` → ``<hash>``; other names → their stem."""
    stem = name.removesuffix(".json")
    if stem.startswith("models-"):
        return stem.removeprefix("models-").split("-", 1)[0]
    return stem


def check_name(name: str, doc: dict[str, Any]) -> NameCheck:
    """Whether the current recorder of the name's generation finds ``doc`` as ``name``."""
    base = name.rsplit("/", 1)[-1]
    gen = _generation_of(base, doc)
    request = _request(doc)
    tids: list[str | None] = [_test_id(doc)] if gen == "2026" else [None]
    if tids[0] is not None:
        tids.append(None)  # the server-mode fallback
    texts = hash_texts(request, current=gen == "2026", test_ids=tids)
    names = [_name(doc, sha256_hex(t), gen) for t in texts]
    is_models = base.startswith("models-") and _model_list_endpoint(request) is not None
    for i, candidate in enumerate(names):
        if base == candidate or (is_models and _hash_part(base) == _hash_part(candidate)):
            return NameCheck(True, base, names[0], gen if i == 0 else f"{gen} (test_id null)")
    plain = f"{sha256_hex(texts[0])[:12]}.json"
    if gen == "v0.2" and _model_list_endpoint(request) is not None and base == plain:
        return NameCheck(True, base, names[0], "v0.2 (version A)")  # A/A′: no models- name
    return NameCheck(False, base, names[0], "")
