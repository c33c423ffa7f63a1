"""multipart/form-data fields for the secret scanner and ``redact:`` normalizers.

A form field named ``api_key`` is a credential by its name, as a JSON field is:
the scanner sees each text field with its name (:func:`form_text_fields`), and
a ``redact:NAME`` normalizer replaces the field's value in what is written
(:func:`redact_form`), keeping the boundary and every other byte.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from llmreel.matching import Normalizer
from llmreel.model.multipart import parse_form, replace_text_fields

__all__ = ["form_text_fields", "redact_form"]


def _content_type(headers: Mapping[str, str]) -> str:
    return next((v for k, v in headers.items() if k.lower() == "content-type"), "")


def form_text_fields(raw: bytes, headers: Mapping[str, str]) -> list[tuple[str, str]] | None:
    """The text fields of a multipart body as (name, value); None when it is not a form."""
    parts = parse_form(raw, _content_type(headers))
    if parts is None:
        return None
    out: list[tuple[str, str]] = []
    for part in parts:
        text = part.text()
        if not part.is_file and text is not None:
            out.append((part.name, text))
    return out


def redact_form(raw: bytes, headers: Mapping[str, str], redactions: Iterable[Normalizer]) -> bytes:
    """``raw`` with the ``redact:`` normalizers applied to its text fields, by name."""
    fields = form_text_fields(raw, headers)
    if not fields:
        return raw
    view: dict[str, str] = dict(fields)
    redacted: object = dict(view)
    for normalizer in redactions:
        redacted = normalizer(redacted)
    if not isinstance(redacted, dict):
        return raw
    changed = {
        name: value
        for name, value in redacted.items()
        if isinstance(value, str) and view.get(name) != value
    }
    return replace_text_fields(raw, _content_type(headers), changed) if changed else raw
