"""The session summary: replayed, recorded, missed (with test ids), unused and pruned files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from llmreel.pytest_plugin.bookkeeping import TestUsage
from llmreel.pytest_plugin.prune import Accounting
from llmreel.pytest_plugin.settings import Settings
from llmreel.store import is_remote

__all__ = ["write_summary"]


def write_summary(
    tr: Any,
    usages: list[TestUsage],
    settings: Settings,
    accounting: Accounting,
    rel: Callable[[str | Path], str],
) -> None:
    """The ``llmreel`` section of the terminal summary."""
    hits = sum(u.hits for u in usages)
    recorded = sum(u.recorded for u in usages)
    misses = sum(u.misses for u in usages)
    faults = sum(u.faults for u in usages)
    s = settings
    tr.write_sep("-", "llmreel")
    where = f"server {s.server}" if s.server else "in-process"
    tr.write_line(
        f"llmreel: mode {s.mode.value} (from {s.mode_source}), {where}; "
        f"{len({u.nodeid for u in usages})} test(s) with cassettes: {hits} replayed, "
        f"{recorded} recorded, {misses} missed"
        + (f", {faults} with an injected fault" if faults else "")
    )
    faulted = [u for u in usages if u.faults]
    if faulted:
        tr.write_line("injected faults (as the tests asked):")
        for u in faulted[:20]:
            tr.write_line(f"  {u.nodeid}: {u.faults} request(s)")
        if len(faulted) > 20:
            tr.write_line(f"  ... and {len(faulted) - 20} more test(s)")
    missed = [u for u in usages if u.misses or u.escapes]
    if missed:
        tr.write_line("missed (replay found no recording):")
        for u in missed:
            first = u.missed[0].splitlines()[0] if u.missed else ""
            escaped = f"blocked network access to {', '.join(u.escapes)}" if u.escapes else ""
            tr.write_line(f"  {u.nodeid}: {first or escaped}")
    if accounting.unused:
        count = sum(len(v) for v in accounting.unused.values())
        tr.write_line(f"unused recordings ({count} in {len(accounting.unused)} cassette(s)):")
        for path, names in accounting.unused.items():
            for name in names[:20]:
                tr.write_line(f"  {rel(_join(path, name))}")
            if len(names) > 20:
                tr.write_line(f"  ... and {len(names) - 20} more in {rel(path)}")
    if accounting.pruned:
        tr.write_line(f"pruned {len(accounting.pruned)} unused recording(s) of passing tests:")
        for name in accounting.pruned[:20]:
            tr.write_line(f"  {rel(name)}")
        if len(accounting.pruned) > 20:
            tr.write_line(f"  ... and {len(accounting.pruned) - 20} more")
    elif accounting.prunable:
        count = sum(len(v) for v in accounting.prunable.values())
        tr.write_line(f"{count} of them from tests that passed: --llmreel-prune deletes them")


def _join(path: str, name: str) -> str | Path:
    return f"{path}/{name}" if is_remote(path) else Path(path) / name
