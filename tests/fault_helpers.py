"""Helpers for the fault tests: recordings nobody here wrote, and how a stream arrived.

Cassettes are copies of the seed (an openai chat stream of 46 chunks + ``[DONE]``),
the Anthropic ``/v1/messages`` stream and the Ollama ``/api/generate`` stream of
the llama-stack conformance sample. ``Arrival`` times every chunk an SDK yields,
so tests compare a shaped replay with an unshaped one in the same test (only
lower bounds: delays can only make things later, never earlier).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anthropic

from server_helpers import SEED_MESSAGES, SEED_MODEL, SEED_NAME

ANTHROPIC_FILE = "f22657bfd86db6348c0a0d0b17332dcfc038b345d2a7be8da4b880a433d36a52.json"
OLLAMA_FILE = "dd9e7d5913e9.json"
SEED_CHUNKS = 46  # chat.completion.chunk events; the 47th event is [DONE]

# anthropic >= 0.50 raises OverloadedError for 529; older ones an InternalServerError with 529.
OVERLOADED: type[Exception] = getattr(anthropic, "OverloadedError", anthropic.InternalServerError)

__all__ = [
    "ANTHROPIC_FILE",
    "OLLAMA_FILE",
    "OVERLOADED",
    "SEED_CHUNKS",
    "SEED_MESSAGES",
    "SEED_MODEL",
    "Arrival",
    "anthropic_cassette",
    "anthropic_payload",
    "ollama_cassette",
    "ollama_payload",
    "seed_cassette",
]


def seed_cassette(shared: Path, target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(shared / "seed" / SEED_NAME, target / SEED_NAME)
    return target


def anthropic_cassette(shared: Path, target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(shared / "conformance" / "llama-stack" / "2026" / ANTHROPIC_FILE, target)
    return target


def anthropic_payload(shared: Path) -> dict[str, Any]:
    doc = json.loads((shared / "conformance" / "llama-stack" / "2026" / ANTHROPIC_FILE).read_text())
    payload: dict[str, Any] = doc["request"]["payload"]
    return payload


def ollama_cassette(shared: Path, target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(shared / "conformance" / "llama-stack" / "v0.2" / OLLAMA_FILE, target)
    return target


def ollama_payload(shared: Path) -> dict[str, Any]:
    doc = json.loads((shared / "conformance" / "llama-stack" / "v0.2" / OLLAMA_FILE).read_text())
    body: dict[str, Any] = doc["request"]["body"]
    return body


@dataclass
class Arrival:
    """When each chunk of a stream reached the caller, in seconds after the call began."""

    times: list[float] = field(default_factory=list)
    items: list[Any] = field(default_factory=list)
    error: BaseException | None = None

    @classmethod
    def of(cls, call: Callable[[], Iterable[Any]]) -> Arrival:
        out = cls()
        start = time.perf_counter()
        try:
            for item in call():
                out.times.append(time.perf_counter() - start)
                out.items.append(item)
        except Exception as exc:
            out.error = exc
        return out

    @property
    def gaps(self) -> list[float]:
        """The wait before each chunk (the first one's counts from the call)."""
        return [b - a for a, b in zip([0.0, *self.times], self.times, strict=False)]

    def longest_gap_before(self) -> int:
        """The 1-based number of the chunk that came after the longest wait."""
        gaps = self.gaps
        return gaps.index(max(gaps)) + 1
