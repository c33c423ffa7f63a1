"""Cassette names and recording file names: what is allowed, and where it lands on disk."""

from __future__ import annotations

import os
import re
from pathlib import Path

from llmreel.exceptions import InvalidCassetteNameError
from llmreel.model.interaction import Interaction

__all__ = ["cassette_path", "recording_file_name", "validate_cassette_name"]

# Brackets, '=', ',' and '+' let a name hold a parametrized test's id (``test_x[gpt-4o]``, as
# pytest-recording names cassettes); none of them means anything to a path.
_PART = r"[A-Za-z0-9._\-\[\]=,+]+"
_NAME_OK = re.compile(rf"^{_PART}(/{_PART})*$")


def validate_cassette_name(name: str) -> str:
    """A relative cassette name that cannot escape its directory, or an error saying why."""
    text = name.strip().replace("\\", "/").rstrip("/")
    if (
        not text
        or len(text) > 200
        or not _NAME_OK.match(text)
        or any(part in ("", ".", "..") or part.startswith(".") for part in text.split("/"))
    ):
        raise InvalidCassetteNameError(
            f"invalid cassette name {name!r}: use letters, digits, '.', '_', '-', brackets, "
            f"'=', ',', '+' and '/' between parts, no '..' and no leading '.' (e.g. "
            f"'tests/test_chat' or 'test_chat/test_x[gpt-4o]')."
        )
    return text


def cassette_path(root: str | os.PathLike[str], name: str) -> Path:
    base = Path(root).resolve()
    target = (base / validate_cassette_name(name)).resolve()
    if target != base and base not in target.parents:
        raise InvalidCassetteNameError(f"cassette name {name!r} resolves outside {base}.")
    return target


def _slug(path: str) -> str:
    parts = [p for p in re.split(r"[^A-Za-z0-9]+", path) if p and p not in ("v1", "api", "v1beta")]
    return "-".join(parts)[:40].strip("-").lower() or "root"


def recording_file_name(inter: Interaction, pos: int) -> str:
    """``<endpoint>-<key12>-<position>.json``, e.g. ``chat-completions-3fa2b1c9d0e1-0.json``."""
    return f"{_slug(inter.request.path)}-{inter.key[:12]}-{pos}.json"
