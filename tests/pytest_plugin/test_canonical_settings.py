"""The plugin's canonical rules: on by default, switched off by ini key, option or marker.

An inner project records ``ask("hi", stream=False)`` and replays ``ask("hi")``: the same
request to the API (``stream`` at its default), so it replays, unless ``api-defaults`` is
switched off, in which case it is a miss that fails the test.
"""

from __future__ import annotations

import openai  # noqa: F401  (kept in sys.modules between inner runs)
import pytest

from upstreams.faulty import FaultyUpstream
from upstreams.serving import free_port

pytest_plugins = ["pytester"]

INNER_INI = """
[pytest]
addopts = -p no:hypothesispytest -p no:langsmith_plugin -p no:recording -p no:cacheprovider
asyncio_default_fixture_loop_scope = function
{extra}
"""

TESTS = """
import os

import openai
import pytest


def ask(prompt, **extra):
    with openai.OpenAI(
        base_url=os.environ["UPSTREAM"] + "/v1", api_key="test-key", max_retries=0
    ) as c:
        reply = c.chat.completions.create(
            model="tiny", messages=[{"role": "user", "content": prompt}], **extra
        )
    return reply.choices[0].message.content


@pytest.mark.llmreel(name="shared")
def test_record():
    assert ask("hi there", stream=False)


@pytest.mark.llmreel(name="shared")
def test_replay_without_the_default():
    assert ask("hi there")


@pytest.mark.llmreel(name="shared", canonical_off=["api-defaults"])
def test_replay_with_api_defaults_off():
    assert ask("hi there")
"""


@pytest.fixture
def project(
    pytester: pytest.Pytester, faulty: FaultyUpstream, monkeypatch: pytest.MonkeyPatch
) -> pytest.Pytester:
    for var in ("LLMREEL_MODE", "LLMREEL_DIR", "LLMREEL_ALL", "LLMREEL_CANONICAL_OFF"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("UPSTREAM", faulty.base_url)
    pytester.makepyfile(test_canon=TESTS)
    pytester.makeini(INNER_INI.format(extra=""))
    pytester.runpytest("-k", "test_record", "--llmreel-mode", "record").assert_outcomes(passed=1)
    # From here on nothing may reach an upstream.
    monkeypatch.setenv("UPSTREAM", f"http://127.0.0.1:{free_port()}")
    return pytester


def test_rules_on_by_default_and_a_marker_switches_one_off(project: pytest.Pytester) -> None:
    result = project.runpytest("-k", "replay")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*test_replay_with_api_defaults_off*", "*replay miss*"])


def test_the_ini_key_switches_rules_off_for_every_test(project: pytest.Pytester) -> None:
    project.makeini(INNER_INI.format(extra="llmreel_canonical_off = api-defaults, text-blocks"))
    project.runpytest("-k", "replay").assert_outcomes(failed=2)


def test_the_option_and_env_switch_rules_off(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.runpytest("-k", "without", "--llmreel-canonical-off", "all").assert_outcomes(failed=1)
    monkeypatch.setenv("LLMREEL_CANONICAL_OFF", "api-defaults")
    project.runpytest("-k", "without").assert_outcomes(failed=1)


def test_an_unknown_rule_name_is_a_usage_error(project: pytest.Pytester) -> None:
    project.makeini(INNER_INI.format(extra="llmreel_canonical_off = api-default"))
    result = project.runpytest("-k", "replay")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*ini llmreel_canonical_off*unknown canonical rule*"])
