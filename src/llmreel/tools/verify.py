"""``llmreel verify``: send recorded requests to the live upstream, compare the structure.

Each recording under the given paths (llmreel files, llama-stack recordings,
vcrpy cassettes) is sent again with :class:`~llmreel.tools.resend.Sender`; the
live answer and the recorded one are reduced to their structure
(:mod:`.shape`) and compared (:mod:`.drift`). Text that differs is reported
(``text_changed``) but is never drift. Nothing is written unless ``update`` is
set: then each drifted llmreel recording gets the live answer in place
(:mod:`.rewrite`), under the same rules as recording, and never an error answer
in place of a good one unless ``allow_errors``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from llmreel.exceptions import LlmreelError
from llmreel.model.interaction import Interaction, Response
from llmreel.tools.catalog import find_files, load_many
from llmreel.tools.drift import Drift, compare
from llmreel.tools.resend import Sender
from llmreel.tools.rewrite import InPlaceWriter, read_only_reason
from llmreel.tools.shape import shape_of
from llmreel.tools.summary import summarize

__all__ = [
    "Checked",
    "Target",
    "VerifyReport",
    "answer_text",
    "check",
    "checked_for",
    "group_drifts",
    "sample_targets",
    "targets",
    "verify",
    "write_back",
]

Outcome = Literal["clean", "drift", "error", "skipped"]
Progress = Callable[[int, int, "Checked"], None]


@dataclass(slots=True)
class Target:
    """One recorded interaction to send again (a vcrpy file holds several)."""

    name: str  # relative to the directory given, with #N for the Nth of a multi-file
    path: Path
    format: str
    inter: Interaction
    shared: bool = False  # the file holds other interactions too (a vcrpy cassette)


@dataclass(slots=True)
class Checked:
    """What sending one recording again found."""

    name: str
    format: str
    method: str = ""
    endpoint: str = ""
    model: str = ""
    streamed: bool = False
    outcome: Outcome = "clean"
    drifts: list[Drift] = field(default_factory=list)
    text_changed: bool | None = None
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    written: bool = False
    not_written: str | None = None  # why an update or re-record did not write

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.name,
            "format": self.format,
            "method": self.method,
            "endpoint": self.endpoint,
            "model": self.model,
            "streamed": self.streamed,
            "outcome": self.outcome,
            "drift": [d.text for d in self.drifts],
            "text_changed": self.text_changed,
            "notes": self.notes,
            "error": self.error,
            "written": self.written,
            "not_written": self.not_written,
        }


@dataclass(slots=True)
class VerifyReport:
    checked: list[Checked]
    total: int  # recordings found (before sampling)
    seed: int | None = None

    def count(self, outcome: Outcome) -> int:
        return sum(1 for c in self.checked if c.outcome == outcome)


def targets(paths: Iterable[Path]) -> tuple[list[Target], list[Checked]]:
    """Every recorded interaction under ``paths``, and the files that could not be read."""
    found: list[Target] = []
    unreadable: list[Checked] = []
    for item in load_many(find_files(paths, include_yaml=True)):
        if item.error is not None:
            unreadable.append(Checked(item.rel, item.format, outcome="error", error=item.error))
            continue
        many = len(item.interactions) > 1
        for i, inter in enumerate(item.interactions):
            name = f"{item.rel}#{i}" if many else item.rel
            found.append(Target(name, item.path, item.format, inter, shared=many))
    return found, unreadable


def sample_targets(found: list[Target], n: int, seed: int) -> list[Target]:
    """``n`` recordings at random, every kind (endpoint, model, streamed or not) first."""
    rng = random.Random(seed)
    groups: dict[tuple[str, str, bool], list[Target]] = {}
    for t in found:
        req = t.inter.request
        groups.setdefault((req.path, req.model, t.inter.response.stream is not None), []).append(t)
    pools = [rng.sample(g, len(g)) for _, g in sorted(groups.items())]
    rng.shuffle(pools)
    picked: list[Target] = []
    while len(picked) < n and any(pools):
        for pool in pools:
            if pool and len(picked) < n:
                picked.append(pool.pop())
    return sorted(picked, key=lambda t: t.name)


def answer_text(inter: Interaction) -> str:
    """The words of an answer (text, reasoning, tool calls): what may change without drift."""
    s = summarize(inter)
    calls = "".join(f"{c.name}({c.arguments})" for c in s.tool_calls)
    return f"{s.text}\x00{s.reasoning}\x00{calls}\x00{'|'.join(s.extra)}"


def checked_for(target: Target) -> Checked:
    """A :class:`Checked` naming ``target`` (nothing found yet)."""
    req, resp = target.inter.request, target.inter.response
    return Checked(
        target.name,
        target.format,
        method=req.method,
        endpoint=req.path,
        model=req.model,
        streamed=resp.stream is not None,
    )


def check(sender: Sender, target: Target) -> tuple[Checked, Response | None]:
    """Send one recording again and compare; never raises for what one recording does."""
    out = checked_for(target)
    old = target.inter
    if old.response.status == 0:
        out.outcome = "skipped"
        out.notes.append("it records a connection that failed: there is no answer to compare")
        return out, None
    try:
        prepared = sender.prepare(old.request)
        out.notes.extend(prepared.notes)
        live = sender.send(old.request, prepared)
    except LlmreelError as exc:
        out.outcome = "error"
        out.error = str(exc)
        return out, None
    if not live.complete:
        # A cut answer says nothing about the API: its missing tail is not drift.
        out.outcome = "error"
        out.error = f"the live answer was cut: {live.error}"
        return out, live
    out.drifts = compare(shape_of(old.response), shape_of(live))
    out.outcome = "drift" if out.drifts else "clean"
    fresh = Interaction(request=old.request, response=live)
    out.text_changed = answer_text(old) != answer_text(fresh)
    return out, live


def write_back(
    writer: InPlaceWriter, target: Target, checked: Checked, live: Response, allow_errors: bool
) -> None:
    """Put ``live`` in ``target``'s file, or say in ``checked.not_written`` why not."""
    old = target.inter
    reason = read_only_reason(old)
    if reason is None and target.shared:
        reason = "the file holds several interactions"
    if reason is None and not live.complete:
        reason = f"the live answer was cut ({live.error})"
    if reason is None and not allow_errors and live.status >= 400 > old.response.status:
        reason = (
            f"the upstream answered {live.status} where the recording has "
            f"{old.response.status}; check the credentials and the upstream, or pass "
            f"--allow-errors to record the error"
        )
    if reason is not None:
        checked.not_written = reason
        return
    try:
        writer.write(old, live)
    except LlmreelError as exc:
        checked.not_written = str(exc)
        return
    checked.written = True


def verify(
    paths: Iterable[Path],
    sender: Sender,
    *,
    sample: int | None = None,
    seed: int | None = None,
    update: bool = False,
    allow_errors: bool = False,
    allow_secrets: tuple[str, ...] = (),
    progress: Progress | None = None,
) -> VerifyReport:
    """Verify every recording under ``paths`` (or a sample) against ``sender``'s upstream."""
    found, checked = targets(paths)
    total = len(found)
    if sample is not None and sample < len(found):
        seed = seed if seed is not None else random.randrange(2**32)
        found = sample_targets(found, sample, seed)
    else:
        seed = None
    writer = InPlaceWriter(allow_secrets)
    try:
        for i, target in enumerate(found, 1):
            result, live = check(sender, target)
            if update and live is not None and result.outcome == "drift":
                write_back(writer, target, result, live, allow_errors)
            checked.append(result)
            if progress is not None:
                progress(i, len(found), result)
    finally:
        writer.close()
    return VerifyReport(checked, total, seed)


def group_drifts(checked: Iterable[Checked]) -> list[tuple[str, list[str]]]:
    """Identical drifts across recordings: (sentence, recordings), most frequent first."""
    groups: dict[str, list[str]] = {}
    for c in checked:
        for d in c.drifts:
            groups.setdefault(d.text, []).append(c.name)
    return sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
