"""multipart/form-data bodies as their fields: what an upload means, without its boundary.

SDKs pick a random boundary for every upload (``files.create``, audio
transcriptions), so the bytes of the same form differ on every run. The matcher
keys a form by its fields instead (:mod:`llmreel.matching.rules.multipart`),
and the secret scanner and ``redact:`` normalizers look at a form's fields by
name as they look at a JSON body's. Parsing follows RFC 7578: parts separated
by ``--boundary`` lines (CRLF), each with headers, ``Content-Disposition:
form-data; name=...; filename=...`` naming it.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message
from email.parser import BytesHeaderParser

__all__ = ["Part", "boundary_of", "is_multipart", "parse_form", "replace_text_fields"]

_MULTIPART = "multipart/form-data"


@dataclass(frozen=True, slots=True)
class Part:
    """One form field: a text value or a file (``filename`` set)."""

    name: str
    data: bytes
    filename: str | None = None
    content_type: str | None = None

    @property
    def is_file(self) -> bool:
        return self.filename is not None

    def text(self) -> str | None:
        """The value as text (UTF-8), or None when it is binary."""
        try:
            return self.data.decode("utf-8")
        except UnicodeDecodeError:
            return None


def is_multipart(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == _MULTIPART


def boundary_of(content_type: str) -> str | None:
    """The ``boundary`` parameter of a multipart/form-data content type."""
    if not is_multipart(content_type):
        return None
    msg = Message()
    msg["content-type"] = content_type
    boundary = msg.get_param("boundary")
    return boundary if isinstance(boundary, str) and boundary else None


def _sections(body: bytes, boundary: str) -> list[bytes] | None:
    """The raw parts between the delimiters, or None when the body is not well formed."""
    delimiter = b"--" + boundary.encode("latin-1")
    start = body.find(delimiter)
    if start < 0:
        return None
    rest = body[start + len(delimiter) :]
    chunks = rest.split(b"\r\n" + delimiter)
    last = chunks[-1]
    if not last.startswith(b"--"):
        return None  # no closing delimiter: truncated
    out: list[bytes] = []
    for chunk in chunks[:-1]:
        # After a delimiter: optional transport padding, then CRLF, then the part.
        head, sep, part = chunk.partition(b"\r\n")
        if not sep or head.strip(b" \t"):
            return None
        out.append(part)
    return out


def _part(section: bytes) -> Part | None:
    raw_headers, sep, data = section.partition(b"\r\n\r\n")
    if not sep:
        if not section.startswith(b"\r\n"):
            return None
        raw_headers, data = b"", section[2:]
    headers = BytesHeaderParser().parsebytes(raw_headers + b"\r\n\r\n")
    name = headers.get_param("name", header="content-disposition")
    if not isinstance(name, str):
        return None
    filename = headers.get_filename()
    ctype = headers.get("content-type")
    return Part(
        name=name,
        data=data,
        filename=filename,
        content_type=str(ctype).strip() if ctype is not None else None,
    )


def parse_form(body: bytes, content_type: str) -> list[Part] | None:
    """The fields of a multipart/form-data body, in order; None when it is not one."""
    boundary = boundary_of(content_type)
    if boundary is None:
        return None
    sections = _sections(body, boundary)
    if sections is None:
        return None
    parts: list[Part] = []
    for section in sections:
        part = _part(section)
        if part is None:
            return None
        parts.append(part)
    return parts


def replace_text_fields(body: bytes, content_type: str, values: dict[str, str]) -> bytes:
    """The same form with the text fields named in ``values`` set to those values.

    Used to write a form with a ``redact:`` normalizer applied; the boundary and
    every other byte stay as they were.
    """
    boundary = boundary_of(content_type)
    if boundary is None or not values:
        return body
    sections = _sections(body, boundary)
    if sections is None:
        return body
    delimiter = b"--" + boundary.encode("latin-1")
    out = bytearray(body[: body.find(delimiter)])
    for section in sections:
        part = _part(section)
        if part is not None and not part.is_file and part.name in values:
            head = section[: section.find(b"\r\n\r\n") + 4]
            section = head + values[part.name].encode("utf-8")
        out += delimiter + b"\r\n" + section + b"\r\n"
    out += delimiter + b"--\r\n"
    return bytes(out)
