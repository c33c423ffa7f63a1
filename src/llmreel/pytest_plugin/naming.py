"""Cassette directory names from pytest node ids: safe on every filesystem, unique per test.

``test_chat[gpt-4]`` becomes ``test_chat-gpt-4``; ids with characters outside
``[A-Za-z0-9._-]`` are cleaned and get a short hash so they stay unique.
:func:`recording_style_name` is the name pytest-recording gives the same test
(``test_chat[gpt-4]``, ``TestClass.test_chat``), which cassettes imported from it keep.
"""

from __future__ import annotations

import hashlib
import re

import pytest

__all__ = ["cassette_dir_name", "module_name", "recording_style_name"]

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _clean(text: str, limit: int = 80) -> str:
    cleaned = _SAFE.sub("_", text).strip("._")
    if cleaned != text or len(cleaned) > limit or not cleaned:
        digest = hashlib.sha1(text.encode()).hexdigest()[:8]
        cleaned = f"{cleaned[:limit]}-{digest}" if cleaned else digest
    return cleaned


def cassette_dir_name(nodeid: str) -> str:
    """The filesystem-safe directory name of a test, from its node id (file part dropped)."""
    tail = nodeid.split("::", 1)[1] if "::" in nodeid else nodeid
    base, bracket, params = tail.partition("[")
    name = _clean(base.replace("::", "."), limit=120)
    if bracket:
        name += "-" + _clean(params[:-1] if params.endswith("]") else params)
    return name


def module_name(item: pytest.Item) -> str:
    return _clean(item.path.stem, limit=120)


_FORBIDDEN = r"<>?%*:|\"'/\\"


def recording_style_name(item: pytest.Item) -> str:
    """pytest-recording's cassette name for ``item``: ``[Class.]name[params]``, with the
    characters file names cannot hold replaced by '-' (so never a path separator)."""
    cls = getattr(item, "cls", None)
    name = f"{cls.__name__}.{item.name}" if cls is not None else item.name
    for ch in _FORBIDDEN:
        name = name.replace(ch, "-")
    return name
