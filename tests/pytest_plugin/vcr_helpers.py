"""Shared pieces of the vcrpy-compatibility tests: inner projects written for pytest-recording.

An inner project's tests call the fault-injecting upstream (``tests/upstreams/faulty.py``,
which answers with the words of the prompt) through the real openai SDK, at ``$UPSTREAM``.
``pytest-recording`` is installed in this environment: an inner run with
``RECORDING_ON`` lets it serve the vcr marks (and write the cassettes, with vcrpy
itself), one with ``RECORDING_OFF`` (``-p no:recording``) hands them to llmreel.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from upstreams.faulty import FaultyUpstream

__all__ = [
    "HELPERS",
    "LLMREEL_ENV",
    "RECORDING_OFF",
    "RECORDING_ON",
    "cassette_files",
    "make_project",
]

_COMMON = "-p no:hypothesispytest -p no:langsmith_plugin -p no:cacheprovider"
RECORDING_ON = f"""
[pytest]
addopts = {_COMMON}
asyncio_default_fixture_loop_scope = function
"""
RECORDING_OFF = f"""
[pytest]
addopts = {_COMMON} -p no:recording
asyncio_default_fixture_loop_scope = function
"""

LLMREEL_ENV = (
    "LLMREEL_MODE",
    "LLMREEL_DIR",
    "LLMREEL_ALL",
    "LLMREEL_PRUNE",
    "LLMREEL_SERVER",
    "LLMREEL_STRICT",
)

HELPERS = """
import os

import openai


def client(**kwargs):
    return openai.OpenAI(
        base_url=os.environ["UPSTREAM"] + "/v1", api_key="test-key", max_retries=0, **kwargs
    )


def ask(prompt, **extra):
    with client() as c:
        reply = c.chat.completions.create(
            model="tiny", messages=[{"role": "user", "content": prompt}], **extra
        )
    return reply.choices[0].message.content


def stream(prompt):
    with client() as c:
        chunks = c.chat.completions.create(
            model="tiny", messages=[{"role": "user", "content": prompt}], stream=True
        )
        deltas = [ch.choices[0].delta.content for ch in chunks if ch.choices]
        return [d for d in deltas if d]
"""


def make_project(
    pytester: pytest.Pytester,
    faulty: FaultyUpstream,
    monkeypatch: pytest.MonkeyPatch,
    ini: str = RECORDING_OFF,
) -> pytest.Pytester:
    for var in LLMREEL_ENV:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("UPSTREAM", faulty.base_url)
    pytester.makeini(ini)
    pytester.makepyfile(helpers=HELPERS)
    return pytester


def cassette_files(root: Path) -> dict[str, bytes]:
    """Every cassette file under ``root/cassettes`` and its bytes."""
    base = root / "cassettes"
    return {
        p.relative_to(base).as_posix(): p.read_bytes()
        for p in sorted(base.rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(base).parts)
    }
