"""Modes are validated where they enter; environment variables fill in what is not given."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

import llmreel
from llmreel.engine.modes import Mode, resolve_mode
from upstreams.faulty import FaultyUpstream


def test_mode_names_and_aliases_parse() -> None:
    assert Mode.parse("record_if_missing") is Mode.RECORD_IF_MISSING
    assert Mode.parse(" REPLAY ") is Mode.REPLAY
    assert Mode.parse("new_episodes") is Mode.RECORD_IF_MISSING  # vcrpy's name


def test_unknown_mode_lists_the_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(llmreel.ConfigError) as err:
        Mode.parse("recrod")
    assert "record-if-missing" in str(err.value)
    monkeypatch.setenv("LLMREEL_MODE", "bogus")
    with pytest.raises(llmreel.ConfigError) as err:
        resolve_mode(None)
    assert "$LLMREEL_MODE" in str(err.value)


def test_explicit_mode_beats_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMREEL_MODE", "record")
    assert resolve_mode(None) is Mode.RECORD
    assert resolve_mode("replay") is Mode.REPLAY
    monkeypatch.delenv("LLMREEL_MODE")
    assert resolve_mode(None) is Mode.REPLAY


def test_environment_chooses_mode_and_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, faulty: FaultyUpstream
) -> None:
    monkeypatch.setenv("LLMREEL_DIR", str(tmp_path))
    monkeypatch.setenv("LLMREEL_MODE", "record-if-missing")
    client = openai.OpenAI(base_url=f"{faulty.base_url}/v1", api_key="x")
    with llmreel.use_cassette("chat") as session:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert session.mode is Mode.RECORD_IF_MISSING and session.recorded == 1
    assert len(list((tmp_path / "chat").glob("*.json"))) == 1


def test_live_mode_passes_through_and_writes_nothing(
    tmp_path: Path, faulty: FaultyUpstream
) -> None:
    client = openai.OpenAI(base_url=f"{faulty.base_url}/v1", api_key="x")
    with llmreel.use_cassette(tmp_path / "c", mode="live") as session:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert session.stats.passed_through == 1 and len(faulty.received) == 1
    assert not (tmp_path / "c").exists()


def test_decorator_works_on_sync_and_async_functions(
    tmp_path: Path, faulty: FaultyUpstream
) -> None:
    import asyncio

    @llmreel.use_cassette(tmp_path, mode="record-if-missing")
    def sync_call() -> str:
        c = openai.OpenAI(base_url=f"{faulty.base_url}/v1", api_key="x")
        r = c.chat.completions.create(model="m", messages=[{"role": "user", "content": "a"}])
        return str(r.choices[0].message.content)

    @llmreel.use_cassette(tmp_path, mode="replay")
    async def async_call() -> str:
        async with openai.AsyncOpenAI(base_url=f"{faulty.base_url}/v1", api_key="x") as c:
            msgs = [{"role": "user", "content": "a"}]
            r = await c.chat.completions.create(model="m", messages=msgs)  # type: ignore[arg-type]
        return str(r.choices[0].message.content)

    first = sync_call()
    assert asyncio.run(async_call()) == first
    assert len(faulty.received) == 1
