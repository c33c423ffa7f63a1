"""The bodies of vcrpy cassettes, in every form suites store them, as bytes: or a refusal by name.

vcrpy itself writes a request body as a string (``!!binary`` when it is not
UTF-8) and a response body as ``{"string": ...}``; suites' own serializers add
other forms, most often ``parsed_body`` (the JSON body parsed, stored beside or
instead of ``body``) and the typed ``{"type": "json", "content": ...}``. Each
form is converted here; a form nobody knows is refused with
:class:`~llmreel.exceptions.RecordingFileError` naming the field and its keys,
never dropped: an import that silently loses bodies reports success and writes
recordings that can never match.

Compressed response bodies (``content-encoding``: gzip, deflate, zstd, br) are
decompressed; one that cannot be decompressed here (brotli without a brotli
package) is refused by name. A body that says gzip but is not gzip data is taken
as already decompressed, as vcrpy's own ``decode_compressed_response`` does.
"""

from __future__ import annotations

import base64
import binascii
import importlib
import io
import zlib
from collections.abc import Callable
from typing import Any

import orjson

from llmreel.exceptions import RecordingFileError

__all__ = ["BODY_FORMS", "body_bytes", "decompress"]

BODY_FORMS = "body (a string), body.string, body.base64_string, body {type, content} or parsed_body"


def _fail(path: str, reason: str) -> RecordingFileError:
    return RecordingFileError(path, f"vcrpy cassette: {reason}")


def _as_bytes(value: Any, path: str, where: str) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    if isinstance(value, io.BytesIO):
        return value.getvalue()
    if isinstance(value, list) and all(isinstance(v, str | bytes | int) for v in value):
        # An iterator body (chunks), kept by old vcrpy versions as a list.
        if all(isinstance(v, int) for v in value):
            return bytes(value)
        return b"".join(v.encode() if isinstance(v, str) else bytes(v) for v in value)
    raise _fail(
        path,
        f"{where} is a {type(value).__name__}, which is none of the body forms llmreel reads "
        f"({BODY_FORMS}); convert it, or register the serializer that wrote it",
    )


def _typed(body: dict[str, Any], path: str, where: str) -> bytes:
    """``{type: json | text | binary | none, content: ...}`` (the typed form some suites'
    recorders write)."""
    kind, content = body.get("type"), body.get("content")
    if kind == "none" or (content is None and kind in ("json", "text", "binary")):
        return b""
    if kind == "json":
        return orjson.dumps(content)
    if kind == "text" and isinstance(content, str):
        return content.encode("utf-8", "surrogateescape")
    if kind == "binary" and isinstance(content, bytes | bytearray):
        return bytes(content)
    if kind == "binary" and isinstance(content, str):
        try:
            return base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _fail(path, f"{where}.content is binary but not base64 ({exc})") from exc
    raise _fail(
        path,
        f"{where} has type {kind!r} with a {type(content).__name__} content; llmreel reads "
        f"the types json, text, binary and none",
    )


def _from_mapping(body: dict[str, Any], path: str, where: str) -> bytes:
    if set(body) <= {"type", "content"} and "type" in body:
        return _typed(body, path, where)
    if "string" in body:
        return _as_bytes(body["string"], path, f"{where}.string")
    if "base64_string" in body:
        try:
            return base64.b64decode(str(body["base64_string"]), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _fail(path, f"{where}.base64_string is not valid base64 ({exc})") from exc
    keys = ", ".join(sorted(map(str, body))) or "none"
    raise _fail(
        path,
        f"{where} is a mapping with keys {keys}, which is none of the body forms llmreel "
        f"reads ({BODY_FORMS}); nothing was imported from this file",
    )


def body_bytes(doc: dict[str, Any], path: str, where: str) -> bytes:
    """The body of a request or response mapping as the bytes that went over the wire.

    ``parsed_body`` (suites' serializers) becomes compact JSON; when ``body`` is
    there too it must be empty or say the same thing, else the file is refused.
    """
    parsed_present = "parsed_body" in doc
    raw: Any = doc.get("body")
    if isinstance(raw, dict):
        data = _from_mapping(raw, path, f"{where}.body")
    else:
        data = _as_bytes(raw, path, f"{where}.body")
    if not parsed_present:
        return data
    parsed = doc["parsed_body"]
    from_parsed = b"" if parsed is None else orjson.dumps(parsed)
    if not data:
        return from_parsed
    try:
        same = orjson.loads(data) == parsed
    except orjson.JSONDecodeError:
        same = False
    if not same:
        raise _fail(
            path,
            f"{where} has both parsed_body and a body that says something else; keep one",
        )
    return data


def _zstd() -> Callable[[bytes], bytes] | None:
    try:
        zstandard = importlib.import_module("zstandard")
    except ImportError:
        return None

    def decode(data: bytes) -> bytes:
        with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)) as reader:
            return bytes(reader.read())

    return decode


def _brotli() -> Callable[[bytes], bytes] | None:
    for name in ("brotli", "brotlicffi"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        return module.decompress  # type: ignore[no-any-return]
    return None


def _gzip(data: bytes) -> bytes:
    return zlib.decompress(data, 16 + zlib.MAX_WBITS)


def _deflate(data: bytes) -> bytes:
    try:
        return zlib.decompress(data)
    except zlib.error:
        return zlib.decompress(data, -zlib.MAX_WBITS)


def decompress(data: bytes, encoding: str, path: str, where: str) -> tuple[bytes, bool]:
    """``(body, decoded)`` for a body sent with ``content-encoding: encoding``.

    ``decoded`` is False when there was nothing to decode (no encoding, identity,
    an empty body, or a body stored already decompressed).
    """
    codings = [c.strip().lower() for c in encoding.split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    if not data or not codings:
        return data, False
    decoded = False
    for coding in reversed(codings):  # the last coding applied is undone first
        decoder: Callable[[bytes], bytes] | None
        errors: tuple[type[BaseException], ...] = (zlib.error,)
        if coding in ("gzip", "x-gzip"):
            decoder = _gzip
        elif coding == "deflate":
            decoder = _deflate
        elif coding == "zstd":
            decoder, errors = _zstd(), (Exception,)
            if decoder is None:
                raise _fail(path, f"{where} is zstd-compressed; install `zstandard` to read it")
        elif coding == "br":
            decoder, errors = _brotli(), (Exception,)
            if decoder is None:
                raise _fail(path, f"{where} is brotli-compressed; install `brotli` to read it")
        else:
            raise _fail(path, f"{where} has content-encoding {coding!r}, which llmreel cannot read")
        try:
            data = decoder(data)
            decoded = True
        except errors:
            # Stored already decompressed (a serializer or decode_compressed_response did it).
            return data, decoded
    return data, decoded
