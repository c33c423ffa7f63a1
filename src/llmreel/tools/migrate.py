"""Moving recordings between tools: import into llmreel's format, export to llama-stack's.

``import``: llama-stack directories (either generation, recursively), vcrpy /
pytest-recording cassettes (YAML or JSON) and llmreel files become native
llmreel files. The source layout is kept: a llama-stack file lands in the
same relative directory under the destination; a vcrpy cassette ``a/b.yaml``
becomes the cassette directory ``a/b/``. Requests with the same key in one
cassette become a sequence (positions 0, 1, ... in source order, after any
recordings already there). llama-stack files keep what the wire form cannot
express in ``meta["llama_stack"]``, so ``export`` writes them back unchanged.

``export``: every recording under a directory becomes a llama-stack file of
the chosen generation (see :mod:`llmreel.formats.llama_stack.export`).
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from llmreel.exceptions import ConfigError
from llmreel.formats import native
from llmreel.formats.llama_stack.export import PROVENANCE_KEY, provenance
from llmreel.formats.llama_stack.naming import Generation
from llmreel.formats.llama_stack.writer import ExportResult, LlamaStackWriter
from llmreel.matching import Matcher
from llmreel.model.interaction import Interaction
from llmreel.store import Cassette
from llmreel.tools.catalog import Loaded, find_files, load

__all__ = ["ImportResult", "export_recordings", "import_recordings"]

Progress = Callable[[int], None]


@dataclass(slots=True)
class ImportResult:
    files: int = 0
    interactions: int = 0
    written: list[Path] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    formats: dict[str, int] = field(default_factory=dict)


def _target_dir(item: Loaded, dst: Path) -> Path:
    rel = Path(item.rel)
    if item.format == "vcrpy":
        return dst / rel.parent / rel.stem
    return dst / rel.parent


def _prepare(item: Loaded) -> list[Interaction]:
    out: list[Interaction] = []
    for inter in item.interactions:
        if item.format == "llama-stack" and isinstance(item.doc, dict):
            meta = dict(inter.meta)
            meta[PROVENANCE_KEY] = provenance(item.doc, inter)
            inter = dataclasses.replace(inter, meta=meta)
        try:
            matcher = Matcher(inter.normalizers)
        except ConfigError:
            matcher = Matcher()
            inter = dataclasses.replace(inter, normalizers=())
        if not any(n.startswith("custom:") for n in inter.normalizers):
            key = matcher.key(inter.request)
            inter = dataclasses.replace(inter, key=key, rules=matcher.rule_ids)
        out.append(inter)
    return out


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.partial")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def import_recordings(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    on_progress: Progress | None = None,
) -> ImportResult:
    """Convert every recording under ``src`` into llmreel files under ``dst``."""
    src_path, dst_path = Path(src), Path(dst)
    if not src_path.exists():
        raise ConfigError(f"import: {src_path} does not exist; give a directory or a file.")
    result = ImportResult()
    files = find_files([src_path], include_yaml=True)
    cassettes: dict[Path, Cassette] = {}
    taken: dict[tuple[Path, str], int] = {}
    for path, root in files:
        item = load(path, root, keep_doc=True)
        result.files += 1
        if on_progress is not None:
            on_progress(1)
        if item.error is not None:
            result.skipped.append((str(path), item.error))
            continue
        result.formats[item.format] = result.formats.get(item.format, 0) + 1
        folder = _target_dir(item, dst_path)
        try:
            inters = _prepare(item)
        except Exception as exc:  # one odd file must not stop an import of thousands
            result.skipped.append((str(path), f"{type(exc).__name__}: {exc}"))
            continue
        cassette = cassettes.get(folder)
        if cassette is None:
            folder.mkdir(parents=True, exist_ok=True)
            cassette = cassettes[folder] = Cassette(folder, recursive=False)
        for inter in inters:
            slot = (folder, inter.key)
            if slot not in taken:
                taken[slot] = len(cassette.sequence(inter.key))
            pos = taken[slot]
            taken[slot] = pos + 1
            inter.position = pos
            inter.source = "llmreel"
            target = folder / cassette.file_name(inter, pos)
            _write(target, native.dumps(inter))
            result.written.append(target)
            result.interactions += 1
        item.doc = item.data = None
    for cassette in cassettes.values():
        cassette.close()
    return result


def export_recordings(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    generation: Generation,
    *,
    sqlite: bool = False,
    on_progress: Progress | None = None,
) -> tuple[ExportResult, list[tuple[str, str]]]:
    """Write every recording under ``src`` as llama-stack files under ``dst``.

    Returns the writer's result and the files that could not be read.
    """
    src_path = Path(src)
    if not src_path.exists():
        raise ConfigError(f"export: {src_path} does not exist; give a cassette directory.")
    writer = LlamaStackWriter(dst, generation, sqlite=sqlite)
    skipped: list[tuple[str, str]] = []
    items: list[tuple[str, int, str, Interaction, str]] = []
    for path, root in find_files([src_path], include_yaml=True):
        item = load(path, root)
        if on_progress is not None:
            on_progress(1)
        if item.error is not None:
            skipped.append((str(path), item.error))
            continue
        rel_dir = Path(item.rel).parent.as_posix()
        subdir = "" if rel_dir == "." else rel_dir
        for inter in item.interactions:
            items.append((subdir, inter.position, item.rel, inter, str(path)))
    # Position 0 of a sequence first: llama-stack keeps one recording per name.
    items.sort(key=lambda t: (t[0], t[1], t[2]))
    for subdir, _, _, inter, source in items:
        writer.add(inter, subdir=subdir, source=source)
    writer.close()
    return writer.result, skipped
