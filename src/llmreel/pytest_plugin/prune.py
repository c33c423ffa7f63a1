"""The end of a session: which recordings went unused, usage records, and ``--llmreel-prune``.

``--llmreel-prune`` deletes, right away, the unused recordings of tests that
ran and passed: the whole unused part of a test's own cassette, and in shared
cassettes only unused files whose recorded ``test_id`` is one of those tests.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

from llmreel.engine import Mode
from llmreel.pytest_plugin.bookkeeping import TestUsage
from llmreel.store import Cassette, RemoteCassette, is_remote
from llmreel.store.usage import write_usage

__all__ = ["Accounting", "account"]


@dataclass
class Accounting:
    """Per cassette path: unused and prunable file names; the files pruned and usage written."""

    unused: dict[str, list[str]] = field(default_factory=dict)
    prunable: dict[str, list[str]] = field(default_factory=dict)
    pruned: list[str] = field(default_factory=list)
    usage_files: list[Path] = field(default_factory=list)


def account(
    usages: list[TestUsage],
    *,
    interrupted: bool,
    prune: bool,
    partial_selection: bool,
    run_id: str,
) -> Accounting:
    """Which recordings the run left unused, which of them may go, and prune if asked.

    Every cassette the run touched gets ``.llmreel/last-run.json``; ``complete`` is
    true only when every test that used it ran and passed and it cannot belong to
    tests that were not selected.
    """
    result = Accounting()
    by_cassette: dict[str, list[TestUsage]] = {}
    for u in usages:
        if not u.server:
            by_cassette.setdefault(u.cassette, []).append(u)
    for path, used_by in sorted(by_cassette.items()):
        if is_remote(path):
            _account_remote(path, used_by, interrupted=interrupted, prune=prune, result=result)
            continue
        root = Path(path)
        if not root.is_dir():
            continue
        cassette = Cassette(root)
        try:
            entries = {e.name: e for e in cassette.entries()}
        finally:
            cassette.close()
        used: set[str] = set()
        for u in used_by:
            used.update(u.used)
        unused = sorted(set(entries) - used)
        active = [u for u in used_by if u.mode != Mode.LIVE.value]
        all_passed = bool(active) and all(u.outcome == "passed" for u in used_by)
        if unused and active:
            result.unused[path] = unused
        owned = len({u.nodeid for u in used_by}) == 1 and all(u.owned for u in used_by)
        complete = all_passed and not interrupted and (owned or not partial_selection)
        if all_passed and not interrupted:
            if owned:
                prunable = unused
            else:
                ran = {u.nodeid for u in used_by}
                prunable = [n for n in unused if entries[n].test_id in ran]
            if prunable:
                result.prunable[path] = prunable
        pruned: set[str] = set()
        if prune:
            for name in result.prunable.get(path, ()):
                with contextlib.suppress(FileNotFoundError):
                    (root / name).unlink()
                pruned.add(name)
                result.pruned.append(str(root / name))
        if pruned:
            left = [n for n in unused if n not in pruned]
            if left:
                result.unused[path] = left
            else:
                result.unused.pop(path, None)
        if active:
            files = set(entries) - pruned
            result.usage_files.append(
                write_usage(root, used & files, files, run_id=run_id, complete=complete)
            )
    return result


def _account_remote(
    url: str, used_by: list[TestUsage], *, interrupted: bool, prune: bool, result: Accounting
) -> None:
    """An object-store cassette: unused files from its listing (nothing is fetched), and
    ``--llmreel-prune`` deletes the unused files of a passing test's own cassette there.
    No usage record is written into a store (``llmreel prune`` works on a local copy)."""
    cassette = RemoteCassette(url)
    try:
        names = cassette.names()
        used = {n for u in used_by for n in u.used}
        unused = [n for n in names if n not in used]
        active = [u for u in used_by if u.mode != Mode.LIVE.value]
        if not (unused and active):
            return
        result.unused[url] = unused
        owned = len({u.nodeid for u in used_by}) == 1 and all(u.owned for u in used_by)
        if owned and not interrupted and all(u.outcome == "passed" for u in used_by):
            result.prunable[url] = unused
            if prune:
                cassette.remove(unused)
                result.pruned.extend(f"{url}/{name}" for name in unused)
                result.unused.pop(url, None)
    finally:
        cassette.close()
