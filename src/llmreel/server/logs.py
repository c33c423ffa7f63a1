"""One structured line per request: method, path, cassette, outcome, status, duration.

Text lines are logfmt (``key=value``, quoted when needed) so they read well in a
terminal and parse with any logfmt tool; ``--log-format json`` writes one JSON
object per line instead. The fields are also attached to the log record as
``record.llmreel`` for handlers that want them.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson

__all__ = ["REQUEST_LOGGER", "format_fields", "log_request"]

REQUEST_LOGGER = logging.getLogger("llmreel.server")


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.1f}"
    text = str(value)
    if not text or any(c in text for c in ' "=\n\t'):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text


def format_fields(fields: dict[str, Any], fmt: str = "text") -> str:
    if fmt == "json":
        return orjson.dumps(fields).decode()
    return " ".join(f"{k}={_value(v)}" for k, v in fields.items() if v is not None)


def log_request(fields: dict[str, Any], fmt: str = "text") -> None:
    status = fields.get("status")
    level = logging.INFO
    if fields.get("outcome") in ("miss", "error") or (isinstance(status, int) and status >= 500):
        level = logging.WARNING
    if REQUEST_LOGGER.isEnabledFor(level):
        REQUEST_LOGGER.log(level, "%s", format_fields(fields, fmt), extra={"llmreel": fields})
