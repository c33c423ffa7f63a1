"""Canonical JSON: one byte form for bodies that mean the same, the base of every key."""

from __future__ import annotations

from typing import Any

import orjson

__all__ = ["canonical", "canonical_json"]


def canonical(value: Any) -> Any:
    # Integral floats compare equal to ints in every client we know (0.0 vs 0),
    # so the canonical form does not let that spelling split a key.
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2**53:
            return int(value)
        return value
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    return value


def canonical_json(value: Any) -> bytes:
    """Sorted-key compact JSON with integral floats written as ints."""
    return orjson.dumps(canonical(value), option=orjson.OPT_SORT_KEYS)
