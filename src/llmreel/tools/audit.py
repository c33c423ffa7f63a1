"""``llmreel check``: validate recording files and say what is wrong with each bad one.

Per file: it reads and parses, its format version is known, its name/key
matches its request, and it holds no key-shaped secret. Across files: no two
files claim the same key and sequence position (llmreel) or the same
llama-stack name (a stale file next to a fresh one of the same request).

- llmreel files: the stored ``key`` and the key prefix and position in the
  file name are compared with the key recomputed from the request under the
  file's own normalizers and canonical rules (a stale key means the file was
  edited by hand).
- llama-stack files: the name is compared with the name the current recorder of
  the name's generation gives the request
  (:mod:`llmreel.formats.llama_stack.naming`); llama-stack itself never finds a
  file whose name is stale.

Secrets are looked for in the file as written first (one combined RE2 pass),
and only a file with a candidate is walked field by field, so a clean corpus
costs one pass over its bytes.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmreel.exceptions import ConfigError
from llmreel.formats.llama_stack.naming import check_name
from llmreel.matching import Matcher
from llmreel.matching.rules import rules_off_for
from llmreel.redaction import SecretScanner
from llmreel.tools.catalog import Loaded, load

__all__ = ["CheckReport", "Problem", "check_files"]

_NATIVE_NAME = re.compile(r"-([0-9a-f]{12})-(\d+)\.json$")


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    kind: str  # unreadable | invalid | version | stale-key | stale-name | duplicate | secret
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"file": self.file, "kind": self.kind, "message": self.message}


@dataclass(slots=True)
class CheckReport:
    files: int = 0
    by_format: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)  # not errors: e.g. custom normalizers

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def bad_files(self) -> int:
        return len({p.file for p in self.problems})

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for p in self.problems:
            out[p.kind] = out.get(p.kind, 0) + 1
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "files": self.files,
            "bad_files": self.bad_files,
            "formats": self.by_format,
            "counts": self.counts(),
            "problems": [p.as_dict() for p in self.problems],
            "notes": [p.as_dict() for p in self.notes],
        }


def _secret(item: Loaded, data: bytes, scanner: SecretScanner) -> Problem | None:
    # One RE2 pass over the file as written; the fields are walked only on a candidate.
    found = scanner.scan_json(data, item.doc, "file")
    if found is None:
        return None
    return Problem(
        str(item.path),
        "secret",
        f"{found.where} holds what looks like a {found.kind} ({found.excerpt}); remove or "
        f"redact it and rotate the credential",
    )


def _native(
    item: Loaded, claims: dict[tuple[Path, str, int], list[str]], report: CheckReport
) -> None:
    inter = item.interaction
    if inter is None:
        return
    name = str(item.path)
    # The stored key is checked under the rules the file says keyed it (none: from before).
    off = rules_off_for(inter.rules)
    try:
        matcher = Matcher(inter.normalizers, canonical_off=off or ())
    except ConfigError as exc:
        report.problems.append(Problem(name, "invalid", f"its normalizers cannot be used: {exc}"))
        return
    if any(n.startswith("custom:") for n in inter.normalizers):
        report.notes.append(
            Problem(name, "note", "key not verified: recorded with a custom normalizer")
        )
        key = inter.key
    elif off is None:
        rules = ", ".join(inter.rules)
        report.notes.append(
            Problem(
                name, "note", f"key not verified: keyed by canonical rules unknown here: {rules}"
            )
        )
        key = inter.key
    else:
        key = matcher.key(inter.request)
        if inter.key != key:
            report.problems.append(
                Problem(
                    name,
                    "stale-key",
                    f"stored key {inter.key[:12] or '(none)'} does not match its request "
                    f"(key {key[:12]}); the request was edited after recording — re-record it, "
                    f"or run `llmreel import` on it to re-key it",
                )
            )
    m = _NATIVE_NAME.search(item.path.name)
    if m is not None:
        if m.group(1) != key[:12]:
            report.problems.append(
                Problem(
                    name,
                    "stale-name",
                    f"file name says key {m.group(1)} but its request's key is {key[:12]}",
                )
            )
        if int(m.group(2)) != inter.position:
            report.problems.append(
                Problem(
                    name,
                    "stale-name",
                    f"file name says position {m.group(2)} but the file says {inter.position}",
                )
            )
    claims.setdefault((item.path.parent, key, inter.position), []).append(name)


def _llama(
    item: Loaded, claims: dict[tuple[Path, str, int], list[str]], report: CheckReport
) -> None:
    doc = item.doc
    if not isinstance(doc, dict):
        return
    name = item.path.name
    result = check_name(name, doc)
    if not result.ok:
        report.problems.append(
            Problem(
                str(item.path),
                "stale-name",
                f"name does not match its request: llama-stack looks this request up as "
                f"{result.expected}, so it never finds this file (rename it, or re-record)",
            )
        )
    claims.setdefault((item.path.parent, result.expected, -1), []).append(str(item.path))


_Claims = dict[tuple[Path, str, int], list[str]]


def _check_chunk(
    files: list[tuple[Path, Path]], allow: tuple[str, ...]
) -> tuple[CheckReport, _Claims]:
    scanner = SecretScanner(allow)
    report = CheckReport()
    claims: _Claims = {}
    for path, root in files:
        item = load(path, root, keep_doc=True)
        report.files += 1
        report.by_format[item.format] = report.by_format.get(item.format, 0) + 1
        try:
            _check_one(item, scanner, claims, report)
        except Exception as exc:  # the checker itself must never stop on a strange file
            report.problems.append(
                Problem(str(path), "invalid", f"could not be checked ({type(exc).__name__}: {exc})")
            )
    return report, claims


def _workers(n_files: int) -> int:
    # A file costs about half a millisecond now (one RE2 pass, one parse, one hash): a
    # second process only pays for its start-up (~0.5 s of imports, more when the
    # machine is busy) on very large corpora, and never on a machine already loaded.
    cpus = os.cpu_count() or 1
    if n_files < 20_000 or os.getloadavg()[0] >= cpus:
        return 1
    return max(1, min(cpus, 4))


def _check_parallel(
    chunks: list[list[tuple[Path, Path]]],
    allow: tuple[str, ...],
    processes: int,
    merge: Callable[[CheckReport, _Claims], None],
) -> None:
    """Check ``chunks`` in this process and ``processes - 1`` workers.

    Workers take chunks from the back while this process works from the front and
    takes over every chunk no worker has started yet, so workers that start late (a
    loaded machine) or not at all cost nothing: this process never waits for a chunk
    it could have checked itself.
    """
    ctx = multiprocessing.get_context("forkserver" if sys.platform != "win32" else "spawn")
    with ProcessPoolExecutor(max_workers=processes - 1, mp_context=ctx) as pool:
        futures = [pool.submit(_check_chunk, c, allow) for c in reversed(chunks)]
        futures.reverse()
        for chunk, future in zip(chunks, futures, strict=True):
            if future.cancel():
                merge(*_check_chunk(chunk, allow))
            else:
                merge(*future.result())


def check_files(
    files: Iterable[tuple[Path, Path]],
    *,
    allow_secrets: Iterable[str] = (),
    on_progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> CheckReport:
    """Check every file; never raises on file content. ``on_progress(n)``: n more files done.

    ``workers``: how many processes check (this one included); by default the cores
    (at most 4) for 20,000 files or more on a machine that is not already busy, else 1.
    """
    todo = list(files)
    allow = tuple(allow_secrets)
    n = workers if workers is not None else _workers(len(todo))
    # Small chunks in parallel: this process and the workers share them out as they go.
    size = 50 if n > 1 else 200
    chunks = [todo[i : i + size] for i in range(0, len(todo), size)]
    report = CheckReport()
    claims: _Claims = {}

    def merge(part: CheckReport, part_claims: _Claims) -> None:
        report.files += part.files
        for k, v in part.by_format.items():
            report.by_format[k] = report.by_format.get(k, 0) + v
        report.problems.extend(part.problems)
        report.notes.extend(part.notes)
        for key, names in part_claims.items():
            claims.setdefault(key, []).extend(names)
        if on_progress is not None:
            on_progress(part.files)

    if n <= 1 or len(chunks) <= 1:
        for chunk in chunks:
            merge(*_check_chunk(chunk, allow))
    else:
        _check_parallel(chunks, allow, n, merge)
    for (_, key, pos), names in claims.items():
        if len(names) < 2:
            continue
        names.sort()  # chunks may come back in any order
        what = f"key {key[:12]} position {pos}" if pos >= 0 else f"llama-stack name {key}"
        for name in names:
            others = ", ".join(Path(o).name for o in names if o != name)
            report.problems.append(
                Problem(name, "duplicate", f"fights over {what} with {others}; keep one of them")
            )
    report.problems.sort(key=lambda p: (p.file, p.kind))
    return report


def _check_one(
    item: Loaded,
    scanner: SecretScanner,
    claims: dict[tuple[Path, str, int], list[str]],
    report: CheckReport,
) -> None:
    name = str(item.path)
    if item.error is not None:
        kind = "version" if "format version" in item.error else "invalid"
        if item.error.startswith(("cannot be read", "is not UTF-8")):
            kind = "unreadable"
        report.problems.append(Problem(name, kind, item.error))
    elif item.format == "llmreel":
        _native(item, claims, report)
    elif item.format == "llama-stack":
        _llama(item, claims, report)
    if item.data:
        found = _secret(item, item.data, scanner)
        if found is not None:
            report.problems.append(found)
