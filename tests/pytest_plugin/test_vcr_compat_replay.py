"""A suite written for pytest-recording runs unedited on llmreel (``-p no:recording``).

The cassettes are written by pytest-recording itself (vcrpy, with its own file names:
brackets of parametrized tests, ``Class.test`` names), in the first inner run; llmreel then
replays them, with the same ``vcr`` fixture values, and says how many replays strict matching
would miss. The inner tests reach the faulty upstream through the real openai SDK; its
``received`` list proves a replay did not reach it.
"""

from __future__ import annotations

import json

import openai  # noqa: F401  (kept imported across pytester's inner runs)
import pytest
import yaml
from vcr_helpers import RECORDING_OFF, RECORDING_ON, cassette_files, make_project

from upstreams.faulty import FaultyUpstream

pytest_plugins = ["pytester"]

SUITE = """
import json

import pytest
from helpers import ask, stream


@pytest.mark.vcr
@pytest.mark.parametrize("animal", ["cat", "gpt-4o mini"])
def test_ask(animal, vcr):
    assert ask(f"name a {animal}").startswith(f"name a {animal} name")
    assert len(vcr.requests) == 1
    assert json.loads(vcr.requests[0].body)["messages"][0]["content"] == f"name a {animal}"
    assert vcr.play_count == (0 if vcr.record_mode == "once" and not vcr.rewound else 1)


@pytest.mark.vcr
def test_stream():
    assert stream("one two three") == ["one", " two", " three", " one", " two"]


class TestAgent:
    @pytest.mark.vcr
    def test_two_turns(self, vcr):
        assert ask("first turn") == "first turn first turn first"
        assert ask("second turn") == "second turn second turn second"
        assert len(vcr) == 2


def test_unmarked(vcr):
    assert vcr is None
"""


def test_cassettes_written_by_pytest_recording_replay_on_llmreel_unedited(
    pytester: pytest.Pytester, faulty: FaultyUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(pytester, faulty, monkeypatch, ini=RECORDING_ON)
    project.makepyfile(test_chat=SUITE)
    result = project.runpytest("--record-mode=once")
    result.assert_outcomes(passed=5)
    # pytest-recording served the marks; llmreel stood aside and said so once.
    result.stdout.fnmatch_lines(
        ["llmreel: pytest-recording is active, so it served the 4 @pytest.mark.vcr test(s)*"]
    )
    files = cassette_files(project.path)
    assert sorted(files) == [
        "test_chat/TestAgent.test_two_turns.yaml",
        "test_chat/test_ask[cat].yaml",
        "test_chat/test_ask[gpt-4o mini].yaml",
        "test_chat/test_stream.yaml",
    ]
    sent = len(faulty.received)
    assert sent == 5

    project.makeini(RECORDING_OFF)
    result = project.runpytest()
    result.assert_outcomes(passed=5)
    assert len(faulty.received) == sent  # every answer came from the cassettes
    assert cassette_files(project.path) == files  # replay writes nothing
    result.stdout.fnmatch_lines(
        [
            "*llmreel: mode replay*4 test(s) with cassettes: 5 replayed, 0 recorded, 0 missed",
            "llmreel served 4 @pytest.mark.vcr test(s) from pytest-recording cassettes, "
            "matching as vcr_config says.",
            "all 5 replay(s) would also match under --llmreel-strict.",
        ]
    )
    assert "pytest-recording is active" not in result.stdout.str()

    result = project.runpytest("--llmreel-strict")
    result.assert_outcomes(passed=5)
    assert len(faulty.received) == sent


def test_a_reworded_prompt_still_replays_as_vcr_config_matches_and_the_report_says_so(
    pytester: pytest.Pytester, faulty: FaultyUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(pytester, faulty, monkeypatch, ini=RECORDING_ON)
    test = """
        import pytest
        from helpers import ask

        @pytest.mark.vcr
        def test_capital():
            assert ask({prompt!r}).startswith("what")
        """
    project.makepyfile(test_geo=test.format(prompt="what is the capital of France"))
    project.runpytest("--record-mode=once").assert_outcomes(passed=1)
    sent = len(faulty.received)

    project.makeini(RECORDING_OFF)
    project.makepyfile(test_geo=test.format(prompt="what is the capital city of France"))
    # vcrpy's default match_on (method, scheme, host, port, path, query) ignores the body.
    result = project.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "under --llmreel-strict, 1 of 1 replay(s) in 1 test(s) would miss; what differs: "
            ".llmreel/strict-misses.txt"
        ]
    )
    assert (project.path / ".llmreel" / ".gitignore").read_text().endswith("*\n")
    report = (project.path / ".llmreel" / "strict-misses.txt").read_text()
    assert "test_geo.py::test_capital" in report
    assert "cassettes/test_geo/test_capital.yaml, interaction #0" in report
    assert "[-capital-] {+capital city+}" in report or "{+city+}" in report

    # Under pytest-xdist the workers' checks reach the controller's summary and file.
    (project.path / ".llmreel" / "strict-misses.txt").unlink()
    result = project.runpytest("-n", "1")  # one worker: its checks still travel to the controller
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["under --llmreel-strict, 1 of 1 replay(s) in 1 test(s)*"])
    assert (
        "test_geo.py::test_capital" in (project.path / ".llmreel" / "strict-misses.txt").read_text()
    )

    result = project.runpytest("--llmreel-strict")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*replay miss: no interaction in cassette *test_capital.yaml matches POST "
            "/v1/chat/completions (model tiny*",
            "*similarity*",
        ]
    )
    assert len(faulty.received) == sent

    # Back to the recorded prompt: nothing would miss, and the stale report is gone.
    project.makepyfile(test_geo=test.format(prompt="what is the capital of France"))
    project.runpytest().assert_outcomes(passed=1)
    assert not (project.path / ".llmreel" / "strict-misses.txt").exists()


PARSED_BODY_CONFTEST = """
import json

import pytest
import yaml


class ParsedBodySerializer:
    '''Keeps JSON bodies parsed in the YAML (parsed_body), as many LLM suites do.'''

    @staticmethod
    def serialize(cassette):
        for interaction in cassette["interactions"]:
            for kind, data in interaction.items():
                types = data.get("headers", {}).get("content-type", [])
                body = data.get("body")
                text = body.get("string") if isinstance(body, dict) else body
                if any("application/json" in t for t in types) and text:
                    data["parsed_body"] = json.loads(text)
                    del data["body"]
        return yaml.safe_dump(cassette, sort_keys=True)

    @staticmethod
    def deserialize(text):
        cassette = yaml.safe_load(text)
        for interaction in cassette["interactions"]:
            for kind, data in interaction.items():
                parsed = data.pop("parsed_body", None)
                if parsed is not None:
                    dumped = json.dumps(parsed)
                    data["body"] = {"string": dumped} if kind == "response" else dumped
        return cassette


def pytest_recording_configure(config, vcr):
    vcr.register_serializer("yaml", ParsedBodySerializer())


@pytest.fixture(scope="module")
def vcr_config():
    return {"filter_headers": ["authorization"], "decode_compressed_response": True}
"""


def test_a_serializer_registered_in_pytest_recording_configure_writes_and_reads_parsed_body(
    pytester: pytest.Pytester, faulty: FaultyUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(pytester, faulty, monkeypatch)
    project.makeconftest(PARSED_BODY_CONFTEST)
    project.makepyfile(
        test_serial="""
        import json
        import pytest
        from helpers import ask, stream

        @pytest.mark.vcr
        def test_both(vcr):
            assert ask("red green") == "red green red green red"
            assert stream("blue") == ["blue", " blue", " blue", " blue", " blue"]
            assert json.loads(vcr.requests[0].body)["model"] == "tiny"
        """
    )
    result = project.runpytest("--record-mode=once")  # llmreel records, through the serializer
    result.assert_outcomes(passed=1)
    path = project.path / "cassettes" / "test_serial" / "test_both.yaml"
    doc = yaml.safe_load(path.read_text())
    first, second = doc["interactions"]
    assert first["request"]["parsed_body"]["messages"] == [{"role": "user", "content": "red green"}]
    assert "body" not in first["request"] and "body" not in first["response"]
    assert first["response"]["parsed_body"]["choices"][0]["message"]["content"] == (
        "red green red green red"
    )
    assert second["response"]["body"]["string"].startswith("data: {")  # SSE stays one string
    assert "authorization" not in first["request"]["headers"]
    assert "test-key" not in path.read_text()

    # vcrpy itself reads what llmreel wrote, through the same serializer.
    import vcr.serialize

    module = project.path / "conftest.py"
    namespace: dict[str, object] = {}
    exec(compile(module.read_text(), str(module), "exec"), namespace)
    requests, responses = vcr.serialize.deserialize(
        path.read_text(), namespace["ParsedBodySerializer"]()
    )
    assert [json.loads(r.body)["messages"][0]["content"] for r in requests] == ["red green", "blue"]
    assert responses[1]["status"]["code"] == 200

    sent = len(faulty.received)
    project.runpytest().assert_outcomes(passed=1)
    assert len(faulty.received) == sent


def test_each_interaction_plays_once_in_recorded_order_unless_repeats_are_allowed(
    pytester: pytest.Pytester, faulty: FaultyUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(pytester, faulty, monkeypatch)
    body = """
        import pytest
        from helpers import ask

        @pytest.mark.vcr{args}
        def test_polls():
            # The same request {calls} times (an agent polling); the upstream answered
            # differently each time (X-Fault-Events), and so must the cassette.
            answers = [ask("status?", extra_headers={{"X-Fault-Events": str(n)}})
                       for n in range(1, {calls} + 1)]
            assert answers == {expected}
        """
    in_order = ["status?", "status? status?", "status? status? status?"]
    project.makepyfile(test_poll=body.format(args="", calls=3, expected=in_order))
    project.runpytest("--record-mode=once").assert_outcomes(passed=1)
    sent = len(faulty.received)
    project.runpytest().assert_outcomes(passed=1)

    # A fourth call has no fourth recording: it misses, and says the others already played.
    project.makepyfile(test_poll=body.format(args="", calls=4, expected=[*in_order, "-"]))
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*It holds 3 interaction(s), 3 already played (each plays once unless "
            "allow_playback_repeats=True).",
            "*#0 POST */v1/chat/completions ?already played?: matches, but played",
        ]
    )
    # allow_playback_repeats: the first matching interaction answers every time.
    project.makepyfile(
        test_poll=body.format(
            args="(allow_playback_repeats=True)", calls=4, expected=["status?"] * 4
        )
    )
    project.runpytest().assert_outcomes(passed=1)
    assert len(faulty.received) == sent


def test_async_streaming_client_replays_event_by_event(
    pytester: pytest.Pytester, faulty: FaultyUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(pytester, faulty, monkeypatch, ini=RECORDING_ON)
    project.makepyfile(
        test_async="""
        import os
        import openai
        import pytest

        @pytest.mark.vcr
        @pytest.mark.asyncio
        async def test_async_stream():
            client = openai.AsyncOpenAI(
                base_url=os.environ["UPSTREAM"] + "/v1", api_key="k", max_retries=0
            )
            async with client:
                chunks = await client.chat.completions.create(
                    model="tiny", messages=[{"role": "user", "content": "a b"}], stream=True
                )
                words = [
                    c.choices[0].delta.content
                    async for c in chunks
                    if c.choices and c.choices[0].delta.content
                ]
            assert words == ["a", " b", " a", " b", " a"]
        """
    )
    project.runpytest("--record-mode=once").assert_outcomes(passed=1)
    sent = len(faulty.received)
    project.makeini(RECORDING_OFF)
    project.runpytest().assert_outcomes(passed=1)
    assert len(faulty.received) == sent


def test_strict_matching_forgives_what_the_canonical_rules_forgive(
    pytester: pytest.Pytester, faulty: FaultyUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(pytester, faulty, monkeypatch, ini=RECORDING_ON)
    test = """
        import pytest
        from helpers import ask

        @pytest.mark.vcr
        def test_default_sent_or_not():
            assert ask("tell me a fact"{extra}).startswith("tell")
        """
    # Recorded with presence_penalty=0 (the API's default) sent explicitly...
    project.makepyfile(test_rules=test.format(extra=", presence_penalty=0"))
    project.runpytest("--record-mode=once").assert_outcomes(passed=1)
    sent = len(faulty.received)
    # ... replayed by code that leaves it out: the same request to the provider.
    project.makeini(RECORDING_OFF)
    project.makepyfile(test_rules=test.format(extra=""))
    result = project.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["all 1 replay(s) would also match under --llmreel-strict."])
    project.runpytest("--llmreel-strict").assert_outcomes(passed=1)
    # With the canonical rules switched off, strict matching sees the raw bodies differ.
    result = project.runpytest("--llmreel-strict", "--llmreel-canonical-off=all")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(['*-  "presence_penalty": 0*'])
    assert len(faulty.received) == sent
