"""Recording into pytest-recording cassettes under llmreel: record modes, precedence, secrets.

Each inner project is written for pytest-recording and run with ``-p no:recording``; llmreel
records through the real openai SDK from the faulty upstream (``received`` counts what reached
it) into the suite's YAML files, applying the suite's ``vcr_config``.
"""

from __future__ import annotations

import openai  # noqa: F401  (kept imported across pytester's inner runs)
import pytest
import yaml
from vcr_helpers import make_project

from upstreams.faulty import FaultyUpstream

pytest_plugins = ["pytester"]

ONE_CALL = """
import pytest
from helpers import ask

@pytest.mark.vcr{args}
def test_one(vcr):
    assert ask({prompt!r}).startswith({prompt!r})
"""


@pytest.fixture
def project(
    pytester: pytest.Pytester, faulty: FaultyUpstream, monkeypatch: pytest.MonkeyPatch
) -> pytest.Pytester:
    return make_project(pytester, faulty, monkeypatch)


def _interactions(project: pytest.Pytester, name: str = "test_rec/test_one.yaml") -> list[str]:
    doc = yaml.safe_load((project.path / "cassettes" / name).read_text())
    return [
        yaml.safe_load(i["request"]["body"])["messages"][0]["content"] for i in doc["interactions"]
    ]


def test_record_mode_none_misses_with_the_cassette_and_the_command_that_records(
    project: pytest.Pytester, faulty: FaultyUpstream
) -> None:
    project.makepyfile(test_rec=ONE_CALL.format(args="", prompt="hello there"))
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*replay miss: no interaction in cassette *cassettes/test_rec/test_one.yaml matches "
            "POST http://127.0.0.1:*/v1/chat/completions (record mode none; match_on: method, "
            "scheme, host, port, path, query).",
            "*The cassette does not exist yet or holds no interactions.",
            "*To record it: `pytest 'test_rec.py::test_one' --llmreel-mode=record-if-missing`.",
        ]
    )
    assert faulty.received == []
    assert not (project.path / "cassettes").exists()


def test_once_records_a_new_cassette_then_only_replays(
    project: pytest.Pytester, faulty: FaultyUpstream
) -> None:
    project.makepyfile(test_rec=ONE_CALL.format(args="", prompt="first words"))
    project.runpytest("--record-mode=once").assert_outcomes(passed=1)
    assert len(faulty.received) == 1
    assert _interactions(project) == ["first words"]
    project.runpytest("--record-mode=once").assert_outcomes(passed=1)
    assert len(faulty.received) == 1
    # With the cassette written, "once" records nothing new: a new request misses.
    project.makepyfile(
        test_rec=ONE_CALL.format(args="(match_on=['method', 'body'])", prompt="other words")
    )
    project.runpytest("--record-mode=once").assert_outcomes(failed=1)
    assert len(faulty.received) == 1


def test_new_episodes_all_and_rewrite_record_as_their_names_say(
    project: pytest.Pytester, faulty: FaultyUpstream
) -> None:
    by_body = "(match_on=['method', 'path', 'body'])"
    project.makepyfile(test_rec=ONE_CALL.format(args=by_body, prompt="alpha"))
    project.runpytest("--record-mode=new_episodes").assert_outcomes(passed=1)
    project.makepyfile(test_rec=ONE_CALL.format(args=by_body, prompt="beta"))
    project.runpytest("--record-mode=new_episodes").assert_outcomes(passed=1)
    assert _interactions(project) == ["alpha", "beta"]  # the new episode joins the end
    assert len(faulty.received) == 2

    # all: never replays; a re-recorded interaction replaces the one it matches.
    project.runpytest("--record-mode=all").assert_outcomes(passed=1)
    assert len(faulty.received) == 3
    assert _interactions(project) == ["alpha", "beta"]

    # rewrite (pytest-recording's): the cassette starts empty.
    project.runpytest("--record-mode=rewrite").assert_outcomes(passed=1)
    assert _interactions(project) == ["beta"]
    assert len(faulty.received) == 4


def test_vcr_config_record_mode_beats_the_option_and_llmreel_mode_beats_both(
    project: pytest.Pytester, faulty: FaultyUpstream
) -> None:
    project.makeconftest(
        """
        import pytest

        @pytest.fixture(scope="module")
        def vcr_config():
            return {"record_mode": "new_episodes"}
        """
    )
    project.makepyfile(test_rec=ONE_CALL.format(args="", prompt="gamma"))
    # As in pytest-recording, vcr_config's record_mode wins over --record-mode.
    project.runpytest("--record-mode=none").assert_outcomes(passed=1)
    assert len(faulty.received) == 1
    (project.path / "cassettes" / "test_rec" / "test_one.yaml").unlink()
    # An explicit llmreel mode wins over every vcr setting: replay means nothing is recorded.
    result = project.runpytest("--llmreel-mode=replay")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*(record mode none; match_on*"])
    assert len(faulty.received) == 1


def test_a_secret_in_the_traffic_is_refused_and_nothing_is_written(
    project: pytest.Pytester, faulty: FaultyUpstream
) -> None:
    key = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0K1l2"
    project.makepyfile(test_rec=ONE_CALL.format(args="", prompt=f"my key is {key}"))
    result = project.runpytest("--record-mode=once")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*refused to write a recording to *test_one.yaml*"])
    assert faulty.received == []  # refused before it cost an upstream call
    assert not (project.path / "cassettes").exists()
