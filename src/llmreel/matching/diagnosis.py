"""Explaining a miss: a bounded, readable diff of what was keyed, and similarity.

Diffs compare the keyed forms (after normalizers and canonical rules: base64
payloads are already digests there), and every long string is cut to a window
around the first place it differs from its counterpart, with its length and
digest, so a miss message stays a few KB whatever the bodies hold.
Similarity only ranks candidates in a miss message; it never answers a request.
"""

from __future__ import annotations

import difflib
import hashlib
import math
from typing import Any

import orjson

from llmreel.matching.canonical import canonical, canonical_json

__all__ = ["LONG_STRING", "body_diff", "bounded_pair", "format_similarity", "similarity"]

LONG_STRING = 200  # longer strings are shown as a window with their length and digest
_HEAD = 60  # characters shown before the first difference (or at the start)
_WINDOW = 100  # characters shown from the first difference on
_LINE = 300  # a diff line longer than this is cut
_DIFF_BUDGET = 3000  # characters of diff lines in one message


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def _elide(text: str, start: int, stop: int) -> str:
    head = "…" if start > 0 else ""
    tail = "…" if stop < len(text) else ""
    return f"{head}{text[start:stop]}{tail} <{len(text)} chars, sha256 {_digest(text)}>"


def _first_difference(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    # Compare in blocks first: long equal prefixes are the common case.
    step = 256
    while i + step <= n and a[i : i + step] == b[i : i + step]:
        i += step
    while i < n and a[i] == b[i]:
        i += 1
    return i


_MISSING = object()


def bounded_pair(old: Any, new: Any) -> tuple[Any, Any]:
    """Both values with long strings cut to a window around where they first differ."""
    if isinstance(old, str) and isinstance(new, str):
        if len(old) <= LONG_STRING and len(new) <= LONG_STRING:
            return old, new
        if old == new:
            shown = _elide(old, 0, _HEAD)
            return shown, shown
        at = _first_difference(old, new)
        start = max(0, at - _HEAD)
        return _elide(old, start, at + _WINDOW), _elide(new, start, at + _WINDOW)
    if isinstance(old, dict) and isinstance(new, dict):
        a: dict[str, Any] = {}
        b: dict[str, Any] = {}
        for k in old.keys() | new.keys():
            x, y = old.get(k, _MISSING), new.get(k, _MISSING)
            if x is _MISSING:
                b[k] = bounded(y)
            elif y is _MISSING:
                a[k] = bounded(x)
            else:
                a[k], b[k] = bounded_pair(x, y)
        return a, b
    if isinstance(old, list) and isinstance(new, list):
        la: list[Any] = []
        lb: list[Any] = []
        for i in range(max(len(old), len(new))):
            if i >= len(old):
                lb.append(bounded(new[i]))
            elif i >= len(new):
                la.append(bounded(old[i]))
            else:
                x, y = bounded_pair(old[i], new[i])
                la.append(x)
                lb.append(y)
        return la, lb
    return bounded(old), bounded(new)


def bounded(value: Any) -> Any:
    """``value`` with every long string cut to its start, its length and its digest."""
    if isinstance(value, str):
        return value if len(value) <= LONG_STRING else _elide(value, 0, _HEAD)
    if isinstance(value, dict):
        return {k: bounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [bounded(v) for v in value]
    return value


def _pretty(value: Any) -> list[str]:
    return (
        orjson.dumps(
            canonical(value),
            option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS,
        )
        .decode()
        .splitlines()
    )


def _cut(line: str) -> str:
    return line if len(line) <= _LINE else line[: _LINE - 1] + "…"


def _word_marks(old: str, new: str) -> str:
    """Show which words changed between two lines: -[old]- {+new+}."""
    a, b = old.split(" "), new.split(" ")
    out: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(" ".join(a[i1:i2]))
        else:
            if i2 > i1:
                out.append("[-" + " ".join(a[i1:i2]) + "-]")
            if j2 > j1:
                out.append("{+" + " ".join(b[j1:j2]) + "+}")
    return " ".join(out)


def body_diff(recorded: Any, requested: Any, *, context: int = 2, limit: int = 60) -> str:
    """A unified diff of two bodies (recorded vs. this request), bounded, changed words marked.

    Long strings are cut around their first difference, lines are cut at a few hundred
    characters and the whole diff at a few KB (``limit`` lines at most).
    """
    old, new = bounded_pair(recorded, requested)
    lines = list(
        difflib.unified_diff(
            _pretty(old), _pretty(new), "recorded", "this request", n=context, lineterm=""
        )
    )
    minus = [ln[1:] for ln in lines if ln.startswith("-") and not ln.startswith("---")]
    plus = [ln[1:] for ln in lines if ln.startswith("+") and not ln.startswith("+++")]
    words = [
        _cut("  changed words: " + _word_marks(m.strip(), p.strip()))
        for m, p in zip(minus, plus, strict=False)
        if m.strip() != p.strip()
    ][:5]
    shown: list[str] = []
    used = 0
    for line in lines:
        line = _cut(line)
        if len(shown) >= limit or used + len(line) > _DIFF_BUDGET:
            break
        shown.append(line)
        used += len(line) + 1
    if len(shown) < len(lines):
        shown.append(f"... ({len(lines) - len(shown)} more diff lines)")
    return "\n".join(shown + words)


def similarity(a: Any, b: Any) -> float:
    """How alike two request bodies are, 0..1, only to rank candidates in a miss message."""
    sa = canonical_json(a).decode(errors="replace")
    sb = canonical_json(b).decode(errors="replace")
    if sa == sb:
        return 1.0
    return (
        difflib.SequenceMatcher(None, sa, sb, autojunk=False).quick_ratio() * 0.5
        + difflib.SequenceMatcher(None, sa[:4000], sb[:4000], autojunk=False).ratio() * 0.5
    )


def format_similarity(score: float) -> str:
    """``score`` as a percentage that never reads 100% unless the two are identical."""
    if score >= 1.0:
        return "100%"
    return f"{math.floor(score * 1000) / 10:.1f}%"
