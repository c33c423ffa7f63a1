"""The one-pass gates never hide a secret the exact patterns find, wherever it sits.

The scanner reads a whole text once through a combined RE2 pattern and only looks
field by field when that pass finds a candidate. That is only safe if each gate is
a superset of the exact patterns: these tests put every secret shape of the corpus
into JSON the ways recordings are written (Python's ``json`` with ASCII escapes and
indent, orjson's raw UTF-8, JSON inside a JSON string up to three levels deep,
after a newline, a quote, non-ASCII text) and require the one-pass verdict to equal
the field-by-field one. Real llama-stack recordings, which hold no secret, pass the
gate without a candidate.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hostile import SECRETS, Secret
from llmreel.redaction import SecretScanner
from llmreel.redaction.patterns import JSON_GATE, PATTERNS, TEXT_GATE

SHARED = Path(__file__).resolve().parents[3] / "shared"
REAL = sorted(
    [
        *SHARED.glob("conformance/llama-stack/*/*.json"),
        *(Path(__file__).parents[1] / "formats" / "data" / "llama_stack_names").rglob("*.json"),
    ]
)

_PREFIXES = ["", "\n", "\t", '"', "é ", "\u00a0", "\u2003", "x=", "(", "<p>", "\\"]


def _writers(doc: Any) -> list[str | bytes]:
    return [
        json.dumps(doc),
        json.dumps(doc, indent=2),
        json.dumps(doc, ensure_ascii=False),
        orjson.dumps(doc),
        orjson.dumps(doc, option=orjson.OPT_INDENT_2),
    ]


def _docs(secret: Secret, prefix: str) -> list[Any]:
    """``secret`` placed the ways a recording can hold it, up to three levels of JSON-in-JSON."""
    field = secret.needs_field or "note"
    inner: Any = {field: prefix + secret.value}
    docs = [inner, {"messages": [{"content": f"{prefix}{secret.value} ok"}]}]
    for _ in range(3):
        inner = {"data": json.dumps(inner), "n": 1.5}
        docs.append(inner)
    return docs


@pytest.mark.parametrize("secret", SECRETS, ids=[s.name for s in SECRETS])
def test_the_json_gate_finds_every_shape_however_the_file_was_written(secret: Secret) -> None:
    scanner = SecretScanner()
    for prefix in _PREFIXES:
        for doc in _docs(secret, prefix):
            exact = scanner._walk_exact(doc, "x")
            if exact is None:
                assert secret.needs_field is not None  # only found in its own field
                continue
            for text in _writers(doc):
                assert JSON_GATE.search(text) is not None, (secret.name, prefix, text)
                # The one-pass scan gives exactly the field-by-field finding.
                assert scanner.scan_json(text, doc, "x") == exact


@pytest.mark.parametrize("secret", SECRETS, ids=[s.name for s in SECRETS])
def test_one_pass_scan_of_a_value_equals_the_field_by_field_walk(secret: Secret) -> None:
    scanner = SecretScanner()
    for prefix in _PREFIXES:
        for doc in _docs(secret, prefix):
            assert scanner.scan(doc, "x") == scanner._walk_exact(doc, "x"), secret.name
    assert scanner.scan(_docs(secret, "")[0], "x") is not None


_ANY_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30
) | st.sampled_from(["\n", "\\n", '\\"', "api_key", "Bearer ", "aws secret=", "://u:p@"])


@settings(max_examples=400, deadline=None)
@given(
    secret=st.sampled_from(SECRETS),
    before=_ANY_TEXT,
    after=_ANY_TEXT,
    depth=st.integers(0, 2),
    ascii_only=st.booleans(),
)
def test_gates_are_supersets_of_the_exact_patterns(
    secret: Secret, before: str, after: str, depth: int, ascii_only: bool
) -> None:
    text = before + secret.value + after
    scanner = SecretScanner()
    exact = scanner._exact(text, "t")
    if exact is not None:
        assert TEXT_GATE.search(text) is not None
    doc: Any = {secret.needs_field or "v": text}
    for _ in range(depth):
        doc = {"v": json.dumps(doc, ensure_ascii=ascii_only)}
    walked = scanner._walk_exact(doc, "d")
    if walked is not None:
        for written in _writers(doc):
            assert JSON_GATE.search(written) is not None, (written, walked)
        assert scanner.scan(doc, "d") == walked


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",))))
def test_text_gate_misses_nothing_any_exact_pattern_matches(text: str) -> None:
    if any(p.search(text) for _, p, _ in PATTERNS):
        assert TEXT_GATE.search(text) is not None


@pytest.mark.skipif(not REAL, reason="no real recordings next to this checkout")
def test_real_llama_stack_recordings_raise_no_candidate() -> None:
    # Clean real traffic must take the one-pass path: no field walk at all.
    for path in REAL:
        assert JSON_GATE.search(path.read_bytes()) is None, path.name
        assert SecretScanner().scan_json(path.read_bytes(), None, "file") is None
