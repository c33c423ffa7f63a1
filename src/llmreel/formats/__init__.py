"""Reading and writing recording files: the native format and llama-stack's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from llmreel.exceptions import RecordingFileError
from llmreel.formats import llama_stack, native
from llmreel.model.interaction import Interaction

__all__ = ["load_file", "parse_document"]


def parse_document(doc: Any, path: str) -> Interaction:
    """Turn a parsed JSON document of either format into an interaction."""
    if not isinstance(doc, dict):
        raise RecordingFileError(path, f"expected a JSON object, found {type(doc).__name__}")
    try:
        if native.VERSION_FIELD in doc:
            return native.from_document(doc, path)
        if "request" in doc and "response" in doc:
            return llama_stack.from_document(doc, path)
    except RecordingFileError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
        # A shape no reader expected must not take the rest of the cassette down.
        raise RecordingFileError(
            path, f"unexpected structure ({type(exc).__name__}: {exc})"
        ) from exc
    raise RecordingFileError(
        path,
        "not a recording: neither an llmreel file (no 'llmreel' version field) nor a "
        "llama-stack one (no 'request'/'response')",
    )


def load_file(path: str | Path) -> Interaction:
    """Read one recording file of either format; errors name the file."""
    p = str(path)
    try:
        data = Path(p).read_bytes()
    except OSError as exc:
        raise RecordingFileError(p, f"cannot be read ({exc.strerror or exc})") from exc
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        what = "is empty" if not data.strip() else f"is not valid JSON ({exc})"
        if data.strip() and not data.rstrip().endswith(b"}"):
            what = f"is truncated (not valid JSON: {exc})"
        raise RecordingFileError(p, what) from exc
    return parse_document(doc, p)
