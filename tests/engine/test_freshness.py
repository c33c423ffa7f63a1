"""Freshness: durations, the age of every kind of recording, and ``max_age`` / ``on_stale``.

The engine is driven through ``use_cassette`` with the real openai SDK against the
in-process fault upstream (``faulty``), whose request log shows what reached it.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import warnings
from pathlib import Path

import openai
import pytest

import llmreel
from llmreel.engine.freshness import Freshness, describe_age, format_duration, parse_duration
from llmreel.exceptions import ConfigError, StaleRecordingWarning
from llmreel.formats import load_file
from llmreel.formats.age import parse_time, recorded_time
from synthetic_corpus import conformance_dir
from upstreams.faulty import FaultyUpstream

CONF = conformance_dir()


# --------------------------------------------------------------------------- durations


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90d", 90 * 86400),
        ("12h", 12 * 3600),
        ("2w", 14 * 86400),
        ("30m", 1800),
        ("45s", 45),
        ("1w2d", 9 * 86400),
        ("1.5h", 5400),
        (" 3 days ", 3 * 86400),
        ("1 week 12 hours", 7 * 86400 + 12 * 3600),
        ("0s", 0),
    ],
)
def test_durations_are_read_with_their_units(text: str, seconds: int) -> None:
    assert parse_duration(text) == dt.timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("90", "'90' needs a unit"),
        ("", "empty duration"),
        ("3 months", "unknown unit 'months' in '3 months' (months and years vary in length"),
        ("2y", "unknown unit 'y'"),
        ("-3d", "is negative"),
        ("d90", "is not a duration"),
        ("90d!", "is not a duration"),
    ],
)
def test_a_bad_duration_says_what_is_accepted(text: str, says: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_duration(text, source="--llmreel-max-age")
    message = str(info.value)
    assert message.startswith("--llmreel-max-age: ") and says in message
    assert "90d (days), 12h (hours), 2w (weeks)" in message


def test_durations_print_the_way_they_are_read() -> None:
    for text in ("90d", "12h", "45s", "2w", "1d2h30m"):
        assert format_duration(parse_duration(text)) == text
    assert format_duration(parse_duration("1w2d")) == "9d"
    assert describe_age(dt.timedelta(days=123, hours=5)) == "123 days"
    assert describe_age(dt.timedelta(hours=1)) == "1 hour"


# --------------------------------------------------------------------------- age


@pytest.mark.skipif(CONF is None, reason="conformance data not available")
def test_every_format_knows_when_it_was_recorded(tmp_path: Path) -> None:
    assert CONF is not None
    v02 = load_file(CONF / "llama-stack" / "v0.2" / "3ca695048bee.json")
    when = recorded_time(v02)
    # Answered by Ollama in August 2025: its chunks' "created" says so.
    assert when is not None and when.source == "created"
    assert when.when.date() == dt.date(2025, 8, 1)
    ollama = recorded_time(load_file(CONF / "llama-stack" / "v0.2" / "dd9e7d5913e9.json"))
    assert ollama is not None and ollama.source == "created"
    assert ollama.when == parse_time("2025-08-04T22:55:41.559883Z")
    # The 2026 generation writes created=0, which says nothing: the file's date is used.
    name = "37e10e6ac4dccb3a91333fcfe9a17806950b21da9470c98960495f3b9fe94ecd.json"
    copy = Path(shutil.copy(CONF / "llama-stack" / "2026" / name, tmp_path / name))
    stamp = dt.datetime(2024, 2, 3, tzinfo=dt.UTC).timestamp()
    os.utime(copy, (stamp, stamp))
    by_mtime = recorded_time(load_file(copy))
    assert by_mtime is not None and by_mtime.source == "mtime"
    assert by_mtime.when == dt.datetime(2024, 2, 3, tzinfo=dt.UTC)


def test_times_are_read_from_iso_text_and_unix_seconds() -> None:
    assert parse_time("2025-08-04T22:55:41Z") == dt.datetime(2025, 8, 4, 22, 55, 41, tzinfo=dt.UTC)
    assert parse_time(1754081852) == dt.datetime(2025, 8, 1, 20, 57, 32, tzinfo=dt.UTC)
    assert parse_time(0) is None  # llama-stack's normalized "created"
    assert parse_time("yesterday") is None
    assert parse_time(True) is None


# --------------------------------------------------------------------------- the engine


@pytest.fixture
def aged(faulty: FaultyUpstream, tmp_path: Path) -> Path:
    """A cassette with one chat recording whose recorded_at is 200 days ago."""
    path = tmp_path / "cassette"
    with llmreel.use_cassette(path, mode="record"), client(faulty) as c:
        ask(c)
    [file] = list(path.glob("*.json"))
    when = (dt.datetime.now(dt.UTC) - dt.timedelta(days=200)).isoformat(timespec="seconds")
    file.write_text(re.sub(r'"recorded_at":"[^"]*"', f'"recorded_at":"{when}"', file.read_text()))
    return path


def client(faulty: FaultyUpstream) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{faulty.base_url}/v1", api_key="sk-test", max_retries=0)


def ask(c: openai.OpenAI) -> str:
    reply = c.chat.completions.create(
        model="tiny", messages=[{"role": "user", "content": "hello there"}]
    )
    return reply.choices[0].message.content or ""


def test_a_stale_recording_is_replayed_with_a_warning_when_the_block_ends(
    aged: Path, faulty: FaultyUpstream
) -> None:
    seen = len(faulty.received)
    with (
        pytest.warns(StaleRecordingWarning) as caught,
        llmreel.use_cassette(aged, max_age="90d", on_exhausted="repeat") as session,
        client(faulty) as c,
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # nothing is raised inside the HTTP call
            assert ask(c) and ask(c)
        assert len(session.stale) == 1  # one line per file, however often replayed
    assert len(faulty.received) == seen
    [warning] = caught
    text = str(warning.message)
    assert "was recorded" in text and "200 days ago: older than max_age 90d" in text


def test_a_fresh_enough_recording_says_nothing(aged: Path, faulty: FaultyUpstream) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with llmreel.use_cassette(aged, max_age="300d") as session, client(faulty) as c:
            ask(c)
    assert session.stale == [] and session.played == 1


def test_on_stale_fail_refuses_the_replay_and_says_how_to_re_record(
    aged: Path, faulty: FaultyUpstream
) -> None:
    before = {p.name: p.read_bytes() for p in aged.glob("*.json")}
    with (
        # The 404 itself is the point here; by default the block would fail at its end too.
        llmreel.use_cassette(aged, max_age="90d", on_stale="fail", on_miss="respond") as session,
        client(faulty) as c,
        pytest.raises(openai.NotFoundError) as info,
    ):
        ask(c)
    message = str(info.value)
    assert "stale recording: POST /v1/chat/completions (model tiny)" in message
    assert "on_stale is 'fail'" in message
    assert f"llmreel rerecord {aged} --upstream URL --stale 90d" in message
    [miss] = session.misses
    assert miss.startswith("stale recording: POST /v1/chat/completions")
    assert {p.name: p.read_bytes() for p in aged.glob("*.json")} == before


def test_on_stale_record_re_records_in_place_when_the_mode_may_record(
    aged: Path, faulty: FaultyUpstream
) -> None:
    [file] = list(aged.glob("*.json"))
    old = load_file(file)
    seen = len(faulty.received)
    with (
        llmreel.use_cassette(
            aged, mode="record-if-missing", max_age="90d", on_stale="record"
        ) as session,
        client(faulty) as c,
    ):
        ask(c)
    assert len(faulty.received) == seen + 1 and session.recorded == 1
    assert [p.name for p in aged.glob("*.json")] == [file.name]
    new = load_file(file)
    assert (new.key, new.position) == (old.key, old.position)
    assert recorded_time(new) is not None
    assert Freshness(parse_duration("1d")).check(new) is None  # fresh again


def test_on_stale_record_only_warns_in_replay_mode(aged: Path, faulty: FaultyUpstream) -> None:
    seen = len(faulty.received)
    with (
        pytest.warns(StaleRecordingWarning, match="mode replay never records"),
        llmreel.use_cassette(aged, max_age="90d", on_stale="record"),
        client(faulty) as c,
    ):
        ask(c)
    assert len(faulty.received) == seen


def test_max_age_comes_from_the_environment_when_not_given(
    aged: Path, faulty: FaultyUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMREEL_MAX_AGE", "90d")
    monkeypatch.setenv("LLMREEL_ON_STALE", "fail")
    with (
        pytest.raises(llmreel.ReplayMissError, match="refused as stale"),
        llmreel.use_cassette(aged),
        client(faulty) as c,
        pytest.raises(openai.NotFoundError, match="stale recording"),
    ):
        ask(c)
    monkeypatch.setenv("LLMREEL_MAX_AGE", "ninety days")
    with pytest.raises(ConfigError, match=r"\$LLMREEL_MAX_AGE: 'ninety days' is not a duration"):
        llmreel.use_cassette(aged)


def test_bad_freshness_settings_fail_where_they_are_written(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="max_age: '90' needs a unit"):
        llmreel.use_cassette(tmp_path, max_age="90")
    with pytest.raises(ConfigError, match="'later' is not one of warn"):
        llmreel.use_cassette(tmp_path, max_age="90d", on_stale="later")
    with pytest.raises(ConfigError, match="is not a duration"):
        llmreel.open_engine(tmp_path, max_age=90)  # type: ignore[arg-type]
    engine = llmreel.open_engine(tmp_path, max_age=dt.timedelta(days=1), on_stale="fail")
    assert engine.freshness == Freshness(dt.timedelta(days=1), "fail")
