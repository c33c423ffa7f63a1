"""Writing a llama-stack recording directory of one generation, file by file.

Each file is written to a temporary name and renamed into place; the v0.2
generation can also get the ``index.sqlite`` its first recorder needed.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from llmreel.formats.llama_stack.export import dumps_document, to_document
from llmreel.formats.llama_stack.naming import Generation, request_hash
from llmreel.model.interaction import Interaction

__all__ = ["ExportResult", "LlamaStackWriter"]


@dataclass(slots=True)
class ExportResult:
    written: list[Path] = field(default_factory=list)
    collisions: list[str] = field(default_factory=list)  # "<source> -> <name> (taken by <other>)"


class LlamaStackWriter:
    """Writes interactions into a llama-stack recording directory of one generation.

    ``2026`` writes ``<dst>/<name>``; ``v0.2`` writes ``<dst>/responses/<name>`` and,
    with ``sqlite=True``, the ``<dst>/index.sqlite`` version A needs. A second
    interaction with the same llama-stack name (llama-stack cannot hold a
    sequence) is not written and is reported in :attr:`result`.
    """

    def __init__(
        self, dst: str | os.PathLike[str], generation: Generation, *, sqlite: bool = False
    ):
        self.dst = Path(dst)
        self.generation = generation
        self.sqlite = sqlite and generation == "v0.2"
        self.result = ExportResult()
        self._claimed: dict[Path, str] = {}
        self._rows: list[tuple[str, str, str, str, str, bool]] = []

    def folder(self, subdir: str = "") -> Path:
        base = self.dst / subdir if subdir else self.dst
        return base / "responses" if self.generation == "v0.2" else base

    def add(self, inter: Interaction, *, subdir: str = "", source: str = "") -> Path | None:
        name, doc = to_document(inter, self.generation)
        target = self.folder(subdir) / name
        if target in self._claimed:
            self.result.collisions.append(
                f"{source or inter.path} -> {name} (already written from {self._claimed[target]})"
            )
            return None
        self._claimed[target] = source or str(inter.path or name)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{name}.{uuid.uuid4().hex[:8]}.partial")
        tmp.write_bytes(dumps_document(doc))
        os.replace(tmp, target)
        self.result.written.append(target)
        if self.sqlite:
            req = doc["request"]
            self._rows.append(
                (
                    request_hash(req, generation="v0.2"),
                    name,
                    str(req.get("endpoint") or urlsplit(str(req.get("url", ""))).path),
                    str(req.get("model") or ""),
                    inter.recorded_at,
                    bool(doc["response"].get("is_streaming")),
                )
            )
        return target

    def add_all(self, items: Iterable[tuple[Interaction, str, str]]) -> ExportResult:
        for inter, subdir, source in items:
            self.add(inter, subdir=subdir, source=source)
        self.close()
        return self.result

    def close(self) -> None:
        if not self.sqlite or not self._rows:
            return
        self.dst.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.dst / "index.sqlite")
        try:
            db.execute(
                "CREATE TABLE IF NOT EXISTS recordings (request_hash TEXT PRIMARY KEY, "
                "response_file TEXT, endpoint TEXT, model TEXT, timestamp TEXT, "
                "is_streaming BOOLEAN)"
            )
            with db:
                db.executemany("INSERT OR REPLACE INTO recordings VALUES (?,?,?,?,?,?)", self._rows)
        finally:
            with contextlib.suppress(sqlite3.Error):
                db.close()
        self._rows.clear()
