"""``max_age`` in the pytest plugin (pytester): a stale cassette warns, fails or re-records.

The inner project's test asks the in-process fault upstream through the real openai SDK;
its recording is then made 200 days old on disk, and the inner suite is run again with
the option, environment variable, ini key or marker under test.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

# Imported here so pytester's sys.modules snapshot keeps it between inner runs.
import openai  # noqa: F401
import pytest

from llmreel.formats import load_file
from upstreams.faulty import FaultyUpstream

pytest_plugins = ["pytester"]

INNER_INI = """
[pytest]
addopts = -p no:hypothesispytest -p no:langsmith_plugin -p no:recording -p no:cacheprovider
asyncio_default_fixture_loop_scope = function
filterwarnings = default::llmreel.exceptions.StaleRecordingWarning
"""

TEST = """
import os

import openai
import pytest


@pytest.mark.llmreel{marker}
def test_ask():
    with openai.OpenAI(
        base_url=os.environ["UPSTREAM"] + "/v1", api_key="test-key", max_retries=0
    ) as client:
        reply = client.chat.completions.create(
            model="tiny", messages=[{{"role": "user", "content": "hello Paris"}}]
        )
    assert reply.choices[0].message.content
"""

ENV = ("LLMREEL_MODE", "LLMREEL_DIR", "LLMREEL_MAX_AGE", "LLMREEL_ON_STALE")


@pytest.fixture
def project(
    pytester: pytest.Pytester, faulty: FaultyUpstream, monkeypatch: pytest.MonkeyPatch
) -> pytest.Pytester:
    for var in ENV:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("UPSTREAM", faulty.base_url)
    pytester.makeini(INNER_INI)
    return pytester


def recordings(project: pytest.Pytester) -> list[Path]:
    root = project.path / "cassettes"
    return [p for p in root.rglob("*.json") if ".llmreel" not in p.relative_to(root).parts]


def recorded(project: pytest.Pytester, marker: str = "", days: int = 200) -> Path:
    """Record the inner test, then make its recording ``days`` old; returns the file."""
    project.makepyfile(test_stale=TEST.format(marker=marker))
    project.runpytest("--llmreel-mode=record").assert_outcomes(passed=1)
    [file] = recordings(project)
    when = (dt.datetime.now(dt.UTC) - dt.timedelta(days=days)).isoformat(timespec="seconds")
    file.write_text(re.sub(r'"recorded_at":"[^"]*"', f'"recorded_at":"{when}"', file.read_text()))
    return file


def test_a_stale_recording_warns_and_still_replays(
    project: pytest.Pytester, faulty: FaultyUpstream
) -> None:
    recorded(project)
    seen = len(faulty.received)
    result = project.runpytest("--llmreel-max-age=90d")
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(
        [
            "*StaleRecordingWarning: llmreel: test_stale.py::test_ask replayed a stale "
            "recording: chat-completions-*.json was recorded *, 200 days ago: older than "
            "max_age 90d*"
        ]
    )
    assert len(faulty.received) == seen
    # Younger than max_age: nothing to say.
    project.runpytest("--llmreel-max-age=300d").assert_outcomes(passed=1)


def test_on_stale_fail_fails_the_test_and_says_how_to_re_record(
    project: pytest.Pytester,
) -> None:
    file = recorded(project)
    before = file.read_bytes()
    result = project.runpytest("--llmreel-max-age=90d", "--llmreel-on-stale=fail")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*llmreel: 1 request(s) of test_stale.py::test_ask had no recording (or only one "
            "older than max_age) in *",
            "*stale recording: POST /v1/chat/completions (model tiny) matches "
            "chat-completions-*.json was recorded *, 200 days ago: older than max_age 90d, and "
            "on_stale is 'fail'*",
            "*Re-record it with `pytest 'test_stale.py::test_ask' "
            "--llmreel-mode=record-if-missing --llmreel-on-stale=record`*",
        ]
    )
    assert file.read_bytes() == before


def test_on_stale_record_re_records_the_stale_cassette_in_place(
    project: pytest.Pytester, faulty: FaultyUpstream
) -> None:
    file = recorded(project)
    old = load_file(file)
    seen = len(faulty.received)
    result = project.runpytest(
        "--llmreel-mode=record-if-missing", "--llmreel-max-age=90d", "--llmreel-on-stale=record"
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*0 replayed, 1 recorded, 0 missed*"])
    assert len(faulty.received) == seen + 1
    assert recordings(project) == [file]
    new = load_file(file)
    assert (new.key, new.position, new.test_id) == (old.key, old.position, old.test_id)
    assert new.recorded_at > old.recorded_at
    # Fresh now: the next replay neither warns nor records.
    result = project.runpytest("--llmreel-max-age=90d", "--llmreel-on-stale=fail")
    result.assert_outcomes(passed=1)


def test_the_marker_sets_max_age_and_on_stale_for_its_test(project: pytest.Pytester) -> None:
    recorded(project, marker='(max_age="90d", on_stale="fail")')
    project.runpytest().assert_outcomes(failed=1)
    # The command line wins over the marker, as for the mode.
    project.runpytest("--llmreel-max-age=1000d").assert_outcomes(passed=1)


def test_the_ini_and_the_environment_set_max_age(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded(project)
    project.makeini(INNER_INI + "llmreel_max_age = 90d\nllmreel_on_stale = fail\n")
    project.runpytest().assert_outcomes(failed=1)
    monkeypatch.setenv("LLMREEL_ON_STALE", "warn")
    project.runpytest().assert_outcomes(passed=1, warnings=1)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--llmreel-max-age=90"], "*llmreel: --llmreel-max-age: '90' needs a unit, e.g. 90d*"),
        (
            ["--llmreel-max-age=90d", "--llmreel-on-stale=panic"],
            "*llmreel: --llmreel-on-stale: 'panic' is not one of warn*",
        ),
    ],
)
def test_bad_freshness_options_are_usage_errors(
    project: pytest.Pytester, args: list[str], message: str
) -> None:
    project.makepyfile(test_x="def test_x(): pass")
    result = project.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
