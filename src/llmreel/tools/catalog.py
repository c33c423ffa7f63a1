"""Finding and reading recording files in bulk, for the command-line tools.

Every file is read once, parsed with orjson and turned into an interaction of
whichever format it holds (llmreel, llama-stack, or a vcrpy cassette holding
several). Nothing here raises on a bad file: each :class:`Loaded` carries
either its interactions or the reason it could not be read, so ``ls`` and
``check`` can go through thousands of files and report the broken ones by name.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson

from llmreel.exceptions import RecordingFileError
from llmreel.formats import llama_stack, native, vcr
from llmreel.model.interaction import Interaction
from llmreel.store.index import INDEX_DIR

__all__ = ["FileFormat", "Loaded", "find_files", "load", "load_many"]

FileFormat = Literal["llmreel", "llama-stack", "vcrpy", "unknown"]
RECORDING_SUFFIXES = (".json", ".txt")
VCR_SUFFIXES = (".yaml", ".yml")


def find_files(
    paths: Iterable[str | os.PathLike[str]], *, include_yaml: bool = False
) -> list[tuple[Path, Path]]:
    """``(file, root)`` for every recording file under ``paths`` (files are taken as given).

    Hidden files and directories (``.llmreel`` index, ``.git``...) are skipped;
    the result is sorted so output is stable.
    """
    suffixes = RECORDING_SUFFIXES + (VCR_SUFFIXES if include_yaml else ())
    out: list[tuple[Path, Path]] = []
    for top in paths:
        p = Path(top)
        if p.is_file():
            out.append((p, p.parent))
            continue
        found: list[Path] = []
        for dirpath, dirnames, filenames in os.walk(p):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != INDEX_DIR)
            for name in filenames:
                if name.startswith(".") or not name.endswith(suffixes):
                    continue
                found.append(Path(dirpath) / name)
        found.sort()
        out.extend((f, p) for f in found)
    return out


@dataclass(slots=True)
class Loaded:
    """One file: its bytes' size, its format, and its interactions or why it failed."""

    path: Path
    root: Path
    size: int = 0
    format: FileFormat = "unknown"
    doc: Any = None
    data: bytes | None = None  # the raw bytes, kept with ``keep_doc``
    interactions: list[Interaction] = field(default_factory=list)
    error: str | None = None

    @property
    def rel(self) -> str:
        try:
            return self.path.relative_to(self.root).as_posix()
        except ValueError:
            return self.path.as_posix()

    @property
    def interaction(self) -> Interaction | None:
        return self.interactions[0] if self.interactions else None


def _json_error(data: bytes, exc: Exception) -> str:
    if not data.strip():
        return "is empty"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        return f"is not UTF-8 text (invalid byte at offset {err.start})"
    msg = str(exc).split("\n")[0]
    if not data.rstrip().endswith((b"}", b"]")):
        return f"is truncated (not valid JSON: {msg})"
    return f"is not valid JSON ({msg})"


def load(path: Path, root: Path, *, keep_doc: bool = False) -> Loaded:
    """Read one file of any supported format; never raises."""
    item = Loaded(path=path, root=root)
    try:
        data = path.read_bytes()
    except OSError as exc:
        item.error = f"cannot be read ({exc.strerror or exc})"
        return item
    item.size = len(data)
    if keep_doc:
        item.data = data
    p = str(path)
    try:
        if p.endswith(VCR_SUFFIXES):
            item.format = "vcrpy"
            item.interactions = vcr.load_cassette(path)
            return item
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            item.error = _json_error(data, exc)
            return item
        if keep_doc:
            item.doc = doc
        if vcr.is_vcr_document(doc):
            item.format = "vcrpy"
            item.interactions = vcr.parse_cassette(doc, p)
        elif isinstance(doc, dict) and native.VERSION_FIELD in doc:
            item.format = "llmreel"
            item.interactions = [native.from_document(doc, p)]
        elif isinstance(doc, dict) and "request" in doc and "response" in doc:
            item.format = "llama-stack"
            item.interactions = [llama_stack.from_document(doc, p)]
        else:
            found = type(doc).__name__ if not isinstance(doc, dict) else "an object"
            item.error = (
                f"is not a recording: {found} without an 'llmreel' version field "
                f"or llama-stack 'request'/'response'"
            )
    except RecordingFileError as exc:
        item.error = exc.reason
    except Exception as exc:  # a file of the wrong shape must never stop a bulk run
        item.error = f"cannot be parsed ({type(exc).__name__}: {exc})"
    return item


def load_many(files: Iterable[tuple[Path, Path]], *, keep_doc: bool = False) -> Iterator[Loaded]:
    for path, root in files:
        yield load(path, root, keep_doc=keep_doc)
