"""Everything the Recording page shows of one interaction.

The conversation as a person reads it comes from :func:`llmreel.tools.summary.summarize`
(the same reading as ``llmreel show``); the request and response as recorded,
the stream's timeline, and the file itself (the "raw" view) are added here.
The file is read through :func:`.paths.read_inside`, so only files inside DIR
are ever opened.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from llmreel.model.interaction import Interaction
from llmreel.tools.catalog import load
from llmreel.tools.summary import summarize
from llmreel.ui.paths import RAW_LIMIT, read_inside
from llmreel.ui.rows import Row
from llmreel.ui.timeline import timeline

__all__ = ["detail"]


def _request(inter: Interaction) -> dict[str, Any]:
    req = inter.request
    return {
        "method": req.method,
        "url": req.url,
        "path": req.path,
        "query": [list(q) for q in req.query],
        "headers": req.headers,
        "body": req.body,
        "raw": None if req.raw is None else req.raw[:RAW_LIMIT].decode("utf-8", "replace"),
    }


def _response(inter: Interaction) -> dict[str, Any]:
    resp = inter.response
    out: dict[str, Any] = {
        "status": resp.status,
        "headers": resp.headers,
        "stream": resp.stream,
        "complete": resp.complete,
        "error": resp.error,
    }
    if resp.stream is not None:
        out["events"] = len(resp.events)
    elif resp.content is not None:
        out["binary_bytes"] = len(resp.content)
    elif resp.text is not None:
        out["text"] = resp.text[:RAW_LIMIT]
    else:
        out["body"] = resp.body
    return out


def detail(root: Path, row: Row) -> dict[str, Any]:
    """The page's data for ``row`` (raises OutsideDirError for a path outside ``root``)."""
    data, size = read_inside(root, row.file)
    real = Path(os.path.realpath(root / row.file))
    item = load(real, real.parent)
    out: dict[str, Any] = {
        "row": row.public(),
        "raw": data.decode("utf-8", "replace"),
        "raw_truncated": size > len(data),
        "raw_size": size,
    }
    if item.error is not None or row.index >= len(item.interactions):
        out["error"] = item.error or "the file no longer holds this interaction"
        return out
    inter = item.interactions[row.index]
    out.update(
        summary=summarize(inter).as_dict(),
        request=_request(inter),
        response=_response(inter),
        timeline=timeline(inter.response),
        key=inter.key,
        position=inter.position,
        normalizers=list(inter.normalizers),
        test=inter.test_id,
        recorded_at=inter.recorded_at,
        interactions_in_file=len(item.interactions),
    )
    return out
