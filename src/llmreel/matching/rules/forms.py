"""The ``multipart-form`` rule: an upload keyed by its fields, never by its random boundary.

A multipart/form-data body (``files.create``, ``audio.transcriptions.create``)
is keyed as an object of its fields: a text field by its value, a file by its
file name, content type, size and SHA-256; a field sent more than once becomes
a list in the order sent. The boundary, the order of different fields and
the framing bytes do not count (servers read a form as named fields); any change
of a value or of a file's bytes, name or type does. Normalizers see this object
as they see a JSON body, so ``redact:api_key`` or ``ignore:prompt`` name fields.
"""

from __future__ import annotations

import hashlib
from typing import Any

from llmreel.matching.rules.base import Rule
from llmreel.model.multipart import Part, is_multipart, parse_form

__all__ = ["MULTIPART_FORM", "form_view"]


def _value(part: Part) -> Any:
    digest = hashlib.sha256(part.data).hexdigest()
    if part.is_file:
        return {
            "filename": part.filename,
            "content_type": part.content_type,
            "size": len(part.data),
            "sha256": digest,
        }
    text = part.text()
    if text is None:  # a binary value in a text field: keyed like a file's bytes
        return {"bytes": len(part.data), "sha256": digest}
    return text


def form_view(raw: bytes, content_type: str) -> dict[str, Any] | None:
    """A multipart body as ``{field: value}``; None when it is not a well-formed form."""
    if not is_multipart(content_type):
        return None
    parts = parse_form(raw, content_type)
    if parts is None:
        return None
    view: dict[str, Any] = {}
    repeated: set[str] = set()
    for part in parts:
        value = _value(part)
        if part.name not in view:
            view[part.name] = value
        elif part.name in repeated:
            view[part.name].append(value)
        else:
            view[part.name] = [view[part.name], value]
            repeated.add(part.name)
    return view


MULTIPART_FORM = Rule(
    "multipart-form",
    1,
    merges="the same multipart/form-data upload sent with different boundaries (every SDK "
    "picks a random one per request) or with its fields in another order",
    safe="text fields are keyed by value and files by name, content type, size and SHA-256; "
    "a field sent twice keeps its order; with the rule off a form is keyed by its raw bytes",
)
