"""The ``base64-payloads`` rule: images, audio and files in a JSON body keyed by digest and size.

A ``data:...;base64,...`` URL, or a bare base64 string of at least
:data:`MIN_BARE` characters, is replaced in the keyed form by its media type
(for a data URL), its decoded size and the SHA-256 of its decoded bytes. Only
strictly canonical base64 is replaced (it re-encodes to exactly the same text),
so the replacement is one-to-one: it never makes two different payloads match.
What it buys: keys of multi-megabyte bodies are cheap to compute and compare,
and a miss shows ``<base64: 48213 bytes, sha256 …>`` instead of the payload.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from typing import Any

from llmreel.matching.rules.base import Rule
from llmreel.providers.endpoints import Endpoint

__all__ = ["BASE64_PAYLOADS", "MIN_BARE", "payload_digest"]

MIN_BARE = 1024
# A data URL's payload is replaced from this size on (shorter ones are shown as sent).
MIN_DATA_URL = 64
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
# A body may hold a payload when its compact JSON has a data URL or a run of base64
# characters long enough to be one; the run is found with a byte translation and a
# substring search, which is a hundred times faster than a regular expression.
_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_RUNS = bytes(ord("a") if i in _ALPHABET else ord(" ") for i in range(256))
_LONG_RUN = b"a" * MIN_BARE


def _may_hold_payload(dumped: bytes, endpoint: Endpoint | None) -> bool:
    if b";base64," in dumped:
        return True
    return len(dumped) >= MIN_BARE and _LONG_RUN in dumped.translate(_RUNS)


def _decoded(text: str) -> bytes | None:
    """The bytes of strictly canonical base64 (no whitespace, canonical padding), else None."""
    if len(text) % 4 or not _BASE64.fullmatch(text):
        return None
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    if base64.b64encode(raw).decode("ascii") != text:
        return None
    return raw


def _describe(raw: bytes) -> str:
    return f"<base64: {len(raw)} bytes, sha256 {hashlib.sha256(raw).hexdigest()}>"


def payload_digest(text: str) -> str | None:
    """The keyed form of ``text`` when it is a base64 payload, else None."""
    if text.startswith("data:"):
        head, sep, data = text.partition(",")
        if not sep or not head.endswith(";base64") or len(data) < MIN_DATA_URL:
            return None
        raw = _decoded(data)
        return None if raw is None else f"{head},{_describe(raw)}"
    if len(text) >= MIN_BARE:
        raw = _decoded(text)
        return None if raw is None else _describe(raw)
    return None


def _walk(node: Any) -> Any:
    if isinstance(node, str):
        if len(node) < MIN_DATA_URL:
            return node
        digest = payload_digest(node)
        return node if digest is None else digest
    if isinstance(node, dict):
        for k, v in node.items():
            if isinstance(v, str | dict | list):
                node[k] = _walk(v)
        return node
    if isinstance(node, list):
        for i, v in enumerate(node):
            if isinstance(v, str | dict | list):
                node[i] = _walk(v)
        return node
    return node


def _digest(body: Any, endpoint: Endpoint | None) -> Any:
    return _walk(body)


BASE64_PAYLOADS = Rule(
    "base64-payloads",
    1,
    merges="nothing that differs: a base64 payload (data: URL or bare, strictly canonical) is "
    "keyed by its media type, size and SHA-256 instead of its text",
    safe="the replacement is one-to-one (only canonical base64 is replaced), so equal keys "
    "still mean equal payloads; applies to every JSON body",
    apply=_digest,
    wanted=_may_hold_payload,
    any_path=True,
)
