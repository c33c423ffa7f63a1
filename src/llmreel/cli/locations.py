"""Command-line arguments that may name an object store instead of a directory.

The read-only commands (``ls``, ``show``, ``check``, ``diff``, ``key``, ``export``)
take ``s3://BUCKET/PREFIX`` (or ``gs://``, ``az://``) wherever they take a
directory: the store is pulled into a local copy under the cache (only what
changed since the last time) and the command reads that copy. Commands that
write (``import --to``, ``export --to``) stage locally and push what changed.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

import typer

from llmreel.cli.output import err
from llmreel.exceptions import LlmreelError
from llmreel.store import is_remote
from llmreel.tools.sync import local_view, push

__all__ = ["read_location", "written_location"]


def read_location(value: str | Path) -> Path:
    """A typer parser: a directory as given, or a local copy of an object-store prefix."""
    text = str(value)
    if not is_remote(text):
        return Path(text)
    try:
        where = local_view(text)
    except LlmreelError as exc:
        raise typer.BadParameter(str(exc)) from None
    err().print(f"reading {text} from its local copy in {where}")
    return where


@contextlib.contextmanager
def written_location(value: str) -> Iterator[Path]:
    """Where a command writes: the directory itself, or a staging one pushed at the end."""
    if not is_remote(value):
        yield Path(value)
        return
    with tempfile.TemporaryDirectory(prefix="llmreel-stage-") as stage:
        yield Path(stage)
        try:
            result = push(Path(stage), value)
        except LlmreelError as exc:
            raise typer.BadParameter(str(exc)) from None
        err().print(f"pushed {len(result.copied)} file(s) to {value}")
