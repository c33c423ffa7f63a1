"""Local-disk plumbing of a cassette: listing recording files and writing one atomically.

A write goes to a hidden temporary file first, is flushed to disk, and then
claims its final name with ``link()`` (a new sequence position: fails if the
name exists) or ``rename()`` (overwrite); nobody ever sees a half-written file.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import logging
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from llmreel.exceptions import WriteFailedError

__all__ = [
    "STALE_TEMP_SECONDS",
    "TEMP_SUFFIX",
    "bulk",
    "remove_if_stale",
    "write_atomically",
    "write_error",
]

log = logging.getLogger("llmreel")

# Temp files of writes in flight are ".<name>.<random>.partial"; one left behind by a
# writer that died (SIGKILL, power loss) is removed once it is older than this.
TEMP_SUFFIX = ".partial"
STALE_TEMP_SECONDS = 60.0


@contextlib.contextmanager
def bulk() -> Iterator[None]:
    """Pause the cyclic garbage collector while a large map is built.

    Building the map of a 100k-recording cassette allocates a few hundred thousand small
    objects that all stay alive; every allocation threshold crossed then triggers a
    collection that walks the growing heap for nothing (about a third of a warm open,
    bench/NOTES.md). Reference counting still frees everything; the collector is
    re-enabled afterwards only if it was on (a caller's ``gc.disable()`` is kept).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def remove_if_stale(d: os.DirEntry[str]) -> None:
    """Delete a writer's leftover temp file; a fresh one may belong to a live writer."""
    try:
        if time.time() - d.stat(follow_symlinks=False).st_mtime > STALE_TEMP_SECONDS:
            os.unlink(d.path)
    except OSError:
        pass  # read-only directory or already gone: it is ignored either way


def write_atomically(folder: Path, name: str, data: bytes, *, overwrite: bool) -> bool:
    """Write ``data`` to ``folder/name`` whole or not at all.

    ``overwrite`` replaces an existing file; otherwise the name is claimed only if it
    is free: False when another writer holds it (nothing is written then). An
    OSError becomes :class:`~llmreel.exceptions.WriteFailedError` naming the file.
    """
    final = folder / name
    tmp = folder / f".{name}.{uuid.uuid4().hex[:8]}{TEMP_SUFFIX}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            os.fsync(fd)
        finally:
            os.close(fd)
        if overwrite:
            os.replace(tmp, final)
            return True
        try:
            os.link(tmp, final)
        except FileExistsError:
            os.unlink(tmp)
            return False
        os.unlink(tmp)
        return True
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise write_error(final, exc) from exc


def write_error(path: Path, exc: OSError) -> WriteFailedError:
    if exc.errno == errno.ENOSPC:
        what = "the disk is full"
        todo = "free some space and run again"
    elif exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        what = "the directory is not writable"
        todo = "make it writable, or use --mode replay to only read it"
    elif exc.errno == errno.EDQUOT:
        what = "the disk quota is exhausted"
        todo = "free some space and run again"
    else:
        what = exc.strerror or str(exc)
        todo = "check the directory and run again"
    return WriteFailedError(
        f"could not write recording {path}: {what} ({errno.errorcode.get(exc.errno or 0, '?')}). "
        f"Nothing was written and existing recordings are untouched; {todo}."
    )
