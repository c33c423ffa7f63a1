"""How a test fails on llmreel's account: its misses and network escapes, and the fix.

A replay miss fails only its test, with the engine's full explanation (closest
recordings, body diff) and the exact pytest command that records it; in replay
mode a connection to anything but loopback (and the allowed hosts) raises
:class:`~llmreel.exceptions.NetworkBlockedError` and fails the test too, even
when the code under test swallowed the error.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest

from llmreel.intercept.guard import DEFAULT_ALLOW, NetworkGuard
from llmreel.pytest_plugin.bookkeeping import Running
from llmreel.pytest_plugin.settings import Settings

__all__ = ["problems", "record_command", "replay_guard"]


def record_command(item: pytest.Item, settings: Settings, invocation: Path) -> str:
    """The exact pytest command that records what ``item`` missed."""
    try:
        rel = os.path.relpath(item.path, invocation)
    except ValueError:
        rel = str(item.path)
    tail = item.nodeid.split("::", 1)[1] if "::" in item.nodeid else ""
    target = f"{Path(rel).as_posix()}::{tail}" if tail else Path(rel).as_posix()
    # Always quoted: parametrized ids hold brackets and spaces that shells would eat.
    quoted = f"'{target}'" if "'" not in target else shlex.quote(target)
    parts = ["pytest", quoted, "--llmreel-mode=record-if-missing"]
    if settings.dir is not None and settings.dir_source == "--llmreel-dir":
        parts.append(shlex.quote(f"--llmreel-dir={settings.dir}"))
    return " ".join(parts)


def replay_guard(nodeid: str, hint: str, allowed: set[str]) -> NetworkGuard:
    """The replay-mode guard: loopback and ``allowed`` only; an escape names the test
    and the pytest command that records it."""

    def describe(where: str) -> str:
        return (
            f"llmreel blocked a network connection to {where} during {nodeid}: in replay "
            f"mode a test may only reach loopback (127.0.0.1, ::1, localhost); its LLM "
            f"calls are answered from the cassette."
        )

    advice = (
        f" If this call should be recorded, record it with `{hint}`; if it must reach the "
        f"network, add the host to @pytest.mark.llmreel(passthrough_hosts=[...]) or run "
        f"in live mode."
    )
    return NetworkGuard((*DEFAULT_ALLOW, *allowed), describe, advice=advice)


def problems(run: Running) -> str | None:
    """Misses and escapes not reported yet, as one failure message (or None)."""
    messages: list[str] = []
    if run.engine is not None:
        new = run.engine.miss_messages[run.base_messages + run.reported_misses :]
        run.reported_misses += len(new)
        messages.extend(new)
    escapes = run.guard.escapes[run.reported_escapes :] if run.guard is not None else []
    run.reported_escapes += len(escapes)
    if not messages and not escapes:
        return None
    lines = []
    if messages:
        stale = (
            " (or only one older than max_age)"
            if any(m.startswith("stale recording:") for m in messages)
            else ""
        )
        lines.append(
            f"llmreel: {len(messages)} request(s) of {run.usage.nodeid} had no recording"
            f"{stale} in {run.usage.cassette} (mode {run.usage.mode}); the client got an HTTP "
            f"404 saying so."
        )
        for text in messages:
            lines.append("")
            lines.append(text)
    if escapes:
        lines.append(
            f"llmreel: blocked network access around the cassette (replay mode): "
            f"{', '.join(escapes)}."
        )
    lines.append("")
    lines.append(f"To record what is missing, run:\n    {run.hint}")
    return "\n".join(lines)
