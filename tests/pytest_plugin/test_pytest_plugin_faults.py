"""Faults in the pytest plugin: ``@pytest.mark.llmreel(faults=...)``, ``--llmreel-fault``,
the ini key, the fault header in server mode, and the session summary's count.

Inner projects (``pytester``) call the faulty OpenAI upstream through the real openai
SDK; they record once, then replay with the upstream gone while faults are injected.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import openai  # noqa: F401  (kept in pytester's module snapshot between inner runs)
import pytest

from llmreel.engine.faults import GRAMMAR
from upstreams.faulty import FaultyUpstream
from upstreams.serving import free_port

pytest_plugins = ["pytester"]

INNER_INI = """
[pytest]
addopts = -p no:hypothesispytest -p no:langsmith_plugin -p no:recording -p no:cacheprovider
asyncio_default_fixture_loop_scope = function
"""

SUITE = """
import os

import openai
import pytest


def ask(prompt, retries=0):
    client = openai.OpenAI(
        base_url=os.environ["UPSTREAM"] + "/v1", api_key="k", max_retries=retries
    )
    with client:
        messages = [{"role": "user", "content": prompt}]
        r = client.chat.completions.create(model="m", messages=messages)
    return r.choices[0].message.content


@pytest.mark.llmreel(faults="http=429,retry-after=0.1,first=1")
def test_retried(llmreel_cassette):
    assert "alpha" in ask("say alpha", retries=1)
    assert [e.outcome for e in llmreel_cassette.journal][0] == "fault"
    assert llmreel_cassette.faults == 1


@pytest.mark.llmreel(faults=["http=503"])
def test_unavailable():
    with pytest.raises(openai.InternalServerError):
        ask("say beta")


@pytest.mark.llmreel
def test_plain(llmreel_cassette):
    assert "gamma" in ask("say gamma")
"""


@pytest.fixture
def suite(
    pytester: pytest.Pytester, faulty: FaultyUpstream, monkeypatch: pytest.MonkeyPatch
) -> pytest.Pytester:
    for var in (
        "LLMREEL_MODE",
        "LLMREEL_DIR",
        "LLMREEL_ALL",
        "LLMREEL_PRUNE",
        "LLMREEL_SERVER",
        "LLMREEL_FAULTS",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("UPSTREAM", faulty.base_url)
    pytester.makeini(INNER_INI)
    pytester.makepyfile(test_suite=SUITE)
    return pytester


def test_marker_faults_apply_while_recording_and_replaying_and_the_summary_counts_them(
    suite: pytest.Pytester, faulty: FaultyUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = suite.runpytest("--llmreel-mode=record")
    result.assert_outcomes(passed=3)
    # The 503 and the first 429 were answered by llmreel: only two calls reached the upstream.
    assert [r.json["messages"][0]["content"] for r in faulty.received] == [
        "say alpha",
        "say gamma",
    ]
    result.stdout.fnmatch_lines(
        [
            "*0 replayed, 2 recorded, 0 missed, 2 with an injected fault",
            "injected faults (as the tests asked):",
            "  test_suite.py::test_retried: 1 request(s)",
            "  test_suite.py::test_unavailable: 1 request(s)",
        ]
    )
    monkeypatch.setenv("UPSTREAM", f"http://127.0.0.1:{free_port()}")
    result = suite.runpytest()
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*2 replayed, 0 recorded, 0 missed, 2 with an injected fault"])


def test_a_session_wide_fault_from_the_command_line_or_the_ini_reaches_every_test(
    suite: pytest.Pytester, faulty: FaultyUpstream
) -> None:
    suite.runpytest("--llmreel-mode=record").assert_outcomes(passed=3)
    result = suite.runpytest("--llmreel-fault", "http=500,on=/v1/chat/completions")
    # test_unavailable expects an error and still gets one; the others now fail.
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["*0 replayed, 0 recorded, 0 missed, 4 with an injected fault"])
    suite.makeini(INNER_INI + "llmreel_faults = http=500\n")
    suite.runpytest().assert_outcomes(passed=1, failed=2)


def test_a_bad_marker_spec_is_a_usage_error_naming_the_test_and_the_part(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini(INNER_INI)
    pytester.makepyfile(
        test_bad="""
        import pytest

        @pytest.mark.llmreel(faults="cut=ten")
        def test_x():
            pass
        """
    )
    result = pytester.runpytest()
    assert result.ret != 0
    assert (
        "@pytest.mark.llmreel(faults=...) of test_bad.py::test_x: fault spec 'cut=ten': "
        "cut='ten' is not a whole number." in result.stdout.str()
    )
    bad_option = pytester.runpytest("--llmreel-fault", "htp=1")
    assert bad_option.ret == pytest.ExitCode.USAGE_ERROR
    bad_option.stderr.fnmatch_lines(["*--llmreel-fault: fault spec 'htp=1': unknown part*"])


def test_server_mode_sends_the_tests_faults_as_a_header(
    pytester: pytest.Pytester, faulty: FaultyUpstream
) -> None:
    # The faulty upstream stands in for `llmreel serve`: it shows which headers arrive.
    pytester.makeini(INNER_INI)
    pytester.makepyfile(
        test_srv="""
        import openai, pytest

        @pytest.mark.llmreel(faults="cut=3")
        def test_tagged(llmreel_server):
            with openai.OpenAI(base_url=llmreel_server.url("v1"), api_key="k") as client:
                client.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": "x"}]
                )
        """
    )
    pytester.runpytest(f"--llmreel-server={faulty.base_url}").assert_outcomes(passed=1)
    assert faulty.last.headers["x-llmreel-fault"] == "cut=3"


# ---------------------------------------------------------------------------- the recipes

ROOT = Path(__file__).resolve().parents[2]
RECIPES = ROOT / "examples" / "testing-failure-paths"


def test_the_failure_path_recipes_run_green_offline(tmp_path: Path) -> None:
    """docs/testing-failure-paths.md's recipes, replayed with no model server at all."""
    project = tmp_path / "recipes"
    shutil.copytree(RECIPES, project, ignore=shutil.ignore_patterns(".llmreel", "__pycache__"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMREEL_")}
    env["LLM_BASE_URL"] = "http://192.0.2.1:8080"  # TEST-NET-1: nothing there, and not loopback
    env.pop("PYTEST_ADDOPTS", None)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-W", "error"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "9 passed" in result.stdout
    assert "6 replayed, 0 recorded, 0 missed, 17 with an injected fault" in result.stdout


def test_every_code_block_of_the_recipes_page_is_code_the_suite_runs() -> None:
    page = (ROOT / "docs" / "testing-failure-paths.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", page, flags=re.DOTALL)
    sources = (RECIPES / "app.py").read_text() + (
        RECIPES / "tests" / "test_failure_paths.py"
    ).read_text()
    assert len(blocks) >= 8
    for block in blocks:
        assert block in sources, f"this block of the docs is not in the example:\n{block}"
    # The grammar shown on the page is the one the parser prints.
    assert GRAMMAR in page
