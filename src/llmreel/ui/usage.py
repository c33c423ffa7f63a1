"""The Usage page: tokens by model and endpoint, added up from the recorded usage fields.

Only what the recordings say is counted: a recording without a usage object
(many streams, llama-stack embeddings, errors) counts as a recording, not as
zero tokens, and the page says how many had one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from llmreel.ui.rows import Row

__all__ = ["usage_table"]


def _blank() -> dict[str, int]:
    return {"recordings": 0, "with_usage": 0, "in": 0, "out": 0, "total": 0}


def _add(acc: dict[str, int], row: Row) -> None:
    acc["recordings"] += 1
    if row.tokens_total is None:
        return
    acc["with_usage"] += 1
    acc["in"] += row.tokens_in or 0
    acc["out"] += row.tokens_out or 0
    acc["total"] += row.tokens_total


def usage_table(rows: Iterable[Row]) -> dict[str, Any]:
    """``{"groups": [...per model and endpoint...], "models": [...], "total": {...}}``."""
    groups: dict[tuple[str, str], dict[str, int]] = {}
    models: dict[str, dict[str, int]] = {}
    total = _blank()
    for row in rows:
        if row.error.startswith("unreadable"):
            continue
        _add(groups.setdefault((row.model, row.endpoint), _blank()), row)
        _add(models.setdefault(row.model, _blank()), row)
        _add(total, row)
    return {
        "groups": [
            {"model": m, "endpoint": e, **v}
            for (m, e), v in sorted(groups.items(), key=lambda kv: (-kv[1]["total"], kv[0]))
        ],
        "models": [
            {"model": m, **v} for m, v in sorted(models.items(), key=lambda kv: -kv[1]["total"])
        ],
        "total": total,
    }
