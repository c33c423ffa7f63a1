"""``llmreel rerecord``: record chosen recordings again, in place, and say what changed.

The recordings are chosen by age (``stale``: older than a duration, by
:func:`~llmreel.formats.age.recorded_time`), by test id or by model (all
given filters must hold), or all of them. Each is sent to the upstream again
(:mod:`.resend`), its new answer compared with the old one (structure drift,
and whether the text changed) and written over the old file
(:mod:`.rewrite`): same name, same sequence position, atomically, under the
same redaction and secret rules as recording. Files not chosen are not
touched; a file that cannot be written keeps its old bytes.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from llmreel.formats.age import recorded_time
from llmreel.tools.resend import Sender
from llmreel.tools.rewrite import InPlaceWriter, read_only_reason
from llmreel.tools.verify import Checked, Target, check, checked_for, targets, write_back

__all__ = ["Selection", "rerecord", "select"]


@dataclass(frozen=True, slots=True)
class Selection:
    """Which recordings to re-record; every filter given must hold."""

    stale: _dt.timedelta | None = None
    test: str | None = None
    model: str | None = None
    everything: bool = False

    @property
    def empty(self) -> bool:
        return self.stale is None and not self.test and not self.model and not self.everything

    def wants(self, target: Target, now: _dt.datetime) -> bool:
        inter = target.inter
        if self.test and self.test not in (inter.test_id or ""):
            return False
        if self.model and self.model.lower() not in inter.request.model.lower():
            return False
        if self.stale is not None:
            when = recorded_time(inter)
            if when is None or when.age(now) <= self.stale:
                return False
        return True


def select(
    paths: Iterable[Path], selection: Selection, now: _dt.datetime | None = None
) -> tuple[list[Target], int, list[Checked]]:
    """The chosen recordings, how many were looked at, and the files that could not be read."""
    found, unreadable = targets(paths)
    moment = now or _dt.datetime.now(_dt.UTC)
    return [t for t in found if selection.wants(t, moment)], len(found), unreadable


def rerecord(
    chosen: list[Target],
    sender: Sender,
    *,
    allow_errors: bool = False,
    allow_secrets: tuple[str, ...] = (),
    dry_run: bool = False,
    progress: Callable[[int, int, Checked], None] | None = None,
) -> list[Checked]:
    """Re-record each of ``chosen`` in place; one :class:`Checked` each (``written`` or why not)."""
    results: list[Checked] = []
    writer = InPlaceWriter(allow_secrets)
    try:
        for i, target in enumerate(chosen, 1):
            reason = read_only_reason(target.inter)
            if reason is not None or dry_run:
                # Nothing is sent that could not be written: a live call may cost money.
                result = checked_for(target)
                result.outcome = "skipped"
                result.not_written = reason
                if reason is None:
                    result.notes.append("dry run: not sent")
            else:
                result, live = check(sender, target)
                if live is not None:
                    write_back(writer, target, result, live, allow_errors)
            results.append(result)
            if progress is not None:
                progress(i, len(chosen), result)
    finally:
        writer.close()
    return results
