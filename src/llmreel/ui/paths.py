"""Keeping the inspector inside DIR: the one check every file it reads goes through.

A name from the index is joined to DIR, resolved (symlinks followed) and must
still be under DIR's own resolved path; anything else is refused. The index
already leaves out links that point elsewhere; this check is repeated at read
time because a file can be swapped for a link after it was indexed.
"""

from __future__ import annotations

import os
from pathlib import Path

from llmreel.exceptions import OutsideDirError

__all__ = ["RAW_LIMIT", "inside", "read_inside"]

# A raw file is shown whole up to this size; past it, only its beginning.
RAW_LIMIT = 4 * 1024 * 1024


def inside(real_root: Path, path: Path) -> bool:
    """Whether ``path``, with every symlink resolved, is ``real_root`` or under it."""
    try:
        real = Path(os.path.realpath(path))
    except (OSError, ValueError):
        return False
    return real == real_root or real_root in real.parents


def read_inside(root: Path, rel: str, limit: int = RAW_LIMIT) -> tuple[bytes, int]:
    """The first ``limit`` bytes of ``root/rel`` and the file's whole size.

    Raises :class:`OutsideDirError` for absolute names, ``..`` parts, or a path that
    resolves outside ``root``.
    """
    parts = Path(rel).parts
    if not rel or Path(rel).is_absolute() or ".." in parts or "\x00" in rel:
        raise OutsideDirError(f"{rel!r} is not a file name inside {root}; nothing was read.")
    real_root = Path(os.path.realpath(root))
    path = root / rel
    if not inside(real_root, path):
        raise OutsideDirError(
            f"{rel!r} resolves outside {root} (a symlink pointing elsewhere?); "
            "the inspector only shows files inside the directory it was given."
        )
    with open(os.path.realpath(path), "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        return fh.read(limit), size
