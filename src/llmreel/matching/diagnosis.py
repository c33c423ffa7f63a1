"""Explaining a miss: a readable body diff with changed words marked, and similarity.

Similarity only ranks candidates in a miss message; it never answers a request.
"""

from __future__ import annotations

import difflib
from typing import Any

import orjson

from llmreel.matching.canonical import canonical, canonical_json

__all__ = ["body_diff", "similarity"]


def _pretty(value: Any) -> list[str]:
    return (
        orjson.dumps(canonical(value), option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2)
        .decode()
        .splitlines()
    )


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
    """A unified diff of two bodies (recorded vs. this request), with changed words marked."""
    old, new = _pretty(recorded), _pretty(requested)
    lines = list(difflib.unified_diff(old, new, "recorded", "this request", n=context, lineterm=""))
    minus = [ln[1:] for ln in lines if ln.startswith("-") and not ln.startswith("---")]
    plus = [ln[1:] for ln in lines if ln.startswith("+") and not ln.startswith("+++")]
    words = [
        "  changed words: " + _word_marks(m.strip(), p.strip())
        for m, p in zip(minus, plus, strict=False)
        if m.strip() != p.strip()
    ][:5]
    if len(lines) > limit:
        lines = [*lines[:limit], f"... ({len(lines) - limit} more diff lines)"]
    return "\n".join(lines + words)


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
