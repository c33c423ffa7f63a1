"""``--llmreel-dir s3://bucket/prefix``: a test suite records into object storage and replays
from it on another machine (an empty cache), through the real openai SDK."""

from __future__ import annotations

from pathlib import Path

import openai  # noqa: F401  (kept in pytester's module snapshot between inner runs)
import pytest

from upstreams.faulty import FaultyUpstream
from upstreams.s3 import MotoS3
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


def ask(prompt):
    client = openai.OpenAI(base_url=os.environ["UPSTREAM"] + "/v1", api_key="k", max_retries=0)
    with client:
        messages = [{"role": "user", "content": prompt}]
        r = client.chat.completions.create(model="m", messages=messages)
    return r.choices[0].message.content


@pytest.mark.llmreel
@pytest.mark.parametrize("word", ["alpha", "beta"])
def test_echo(word):
    assert word in ask(f"say {word}")


@pytest.mark.llmreel
def test_unused_later():
    if os.environ.get("SKIP_UNUSED"):
        return
    assert "gamma" in ask("say gamma")
"""


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    for var in ("LLMREEL_MODE", "LLMREEL_DIR", "LLMREEL_ALL", "LLMREEL_PRUNE", "LLMREEL_SERVER"):
        monkeypatch.delenv(var, raising=False)
    pytester.makeini(INNER_INI)
    pytester.makepyfile(test_suite=SUITE)
    return pytester


def test_a_suite_records_into_the_store_and_replays_from_it_with_an_empty_cache(
    suite: pytest.Pytester,
    s3: MotoS3,
    faulty: FaultyUpstream,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    bucket = s3.bucket()
    where = f"--llmreel-dir=s3://{bucket}/ci"
    monkeypatch.setenv("UPSTREAM", faulty.base_url)
    recorded = suite.runpytest_inprocess(where, "--llmreel-mode=record-if-missing")
    recorded.assert_outcomes(passed=3)
    keys = sorted(s3.objects(bucket))
    assert [k.rsplit("/", 1)[0] for k in keys] == [
        "ci/test_suite/test_echo-alpha",
        "ci/test_suite/test_echo-beta",
        "ci/test_suite/test_unused_later",
    ]
    # Another runner: nothing cached, no upstream at all.
    monkeypatch.setenv("LLMREEL_CACHE_DIR", str(tmp_path / "runner-2"))
    monkeypatch.setenv("UPSTREAM", f"http://127.0.0.1:{free_port()}")
    replayed = suite.runpytest_inprocess(where)
    replayed.assert_outcomes(passed=3)
    assert "3 replayed, 0 recorded, 0 missed" in replayed.stdout.str()

    # A test that no longer calls: its recording is unused, and --llmreel-prune deletes it
    # from the store.
    monkeypatch.setenv("SKIP_UNUSED", "1")
    pruned = suite.runpytest_inprocess(where, "--llmreel-prune")
    pruned.assert_outcomes(passed=3)
    assert f"s3://{bucket}/ci/test_suite/test_unused_later/" in pruned.stdout.str()
    assert len(s3.objects(bucket)) == 2
