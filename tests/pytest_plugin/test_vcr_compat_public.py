"""Cassettes other projects recorded with vcrpy replay unchanged under llmreel, through real SDKs.

The cassettes in ``public_cassettes/`` come from pydantic-ai (its serializer stores JSON bodies as
``parsed_body``), simonw/llm (a gzip-compressed binary body; an OpenAI Responses stream) and
simonw/llm-anthropic (an Anthropic messages stream); see the README there for sources and
licenses. Each inner test is written for pytest-recording, as those suites write them, names
the cassette through pytest-recording's rules (brackets included) and calls the API through
pydantic-ai, openai or anthropic; it runs with ``-p no:recording``, so llmreel answers from the
files as they are. The hosts are the real APIs: the network guard proves nothing leaves.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import anthropic  # noqa: F401  (kept imported across pytester's inner runs)
import openai  # noqa: F401
import pydantic_ai  # noqa: F401
import pytest
from vcr_helpers import RECORDING_OFF

pytest_plugins = ["pytester"]

PUBLIC = Path(__file__).parent / "public_cassettes"

SUITE_CONFTEST = """
import asyncio
import json

import pytest
import yaml


@pytest.fixture(scope="session", autouse=True)
def loop_for_run_sync():
    # pydantic-ai's run_sync sets an event loop and never closes it; its own suite closes
    # it at the end of the session, and so does this one (it runs inside the outer process).
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    yield
    asyncio.set_event_loop(None)
    loop.close()


class ParsedBodySerializer:
    '''A suite's serializer: JSON bodies kept parsed (parsed_body), headers lower-cased.'''

    @staticmethod
    def serialize(cassette):
        for interaction in cassette["interactions"]:
            for kind, data in interaction.items():
                data["headers"] = {k.lower(): v for k, v in data.get("headers", {}).items()}
                body = data.get("body")
                text = body.get("string") if isinstance(body, dict) else body
                types = data["headers"].get("content-type", [])
                if text and any(t.startswith("application/json") for t in types):
                    data["parsed_body"] = json.loads(text)
                    del data["body"]
        return yaml.safe_dump(cassette)

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


REGISTER = {register}


def pytest_recording_configure(config, vcr):
    if REGISTER:
        vcr.register_serializer("yaml", ParsedBodySerializer())


@pytest.fixture(scope="module")
def vcr_config():
    return {
        "ignore_localhost": True,
        "filter_headers": ["authorization", "x-api-key"],
        "decode_compressed_response": True,
    }
"""

PYDANTIC_AI_TESTS = """
import pytest
from pydantic_ai import Agent
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider
from pydantic_ai.settings import ModelSettings


@pytest.mark.vcr()
@pytest.mark.parametrize("model_name", ["gpt-4o-mini"])
def test_max_completion_tokens(model_name):
    model = OpenAIChatModel(model_name, provider=OpenAIProvider(api_key="mock-api-key"))
    agent = Agent(model, model_settings=ModelSettings(max_tokens=100))
    result = agent.run_sync("hello")
    assert result.output == "Hello! How can I assist you today?"
"""

LLM_TESTS = """
import openai
import pytest


def client():
    return openai.OpenAI(api_key="sk-placeholder", max_retries=0)


@pytest.mark.vcr
@pytest.mark.parametrize("options", [{"max_output_tokens": 24}])
def test_options(options):
    with client() as c:
        response = c.responses.create(
            model="gpt-4o-mini",
            input=[{"role": "user", "content": "say hi"}],
            stream=False,
            **options,
        )
    assert response.output_text == "Hi there! How can I assist you today?"
    assert response.usage is not None


@pytest.mark.vcr
def test_responses_basic_streaming(vcr):
    with client() as c:
        events = c.responses.create(
            model="gpt-5.5",
            input=[{"role": "user", "content": "Reply with exactly: pong"}],
            include=["reasoning.encrypted_content"],
            reasoning={"effort": "low"},
            store=False,
            stream=True,
        )
        kinds = [event.type for event in events]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert kinds.count("response.output_text.delta") == 1
    assert vcr.play_count == 1 and vcr.all_played
"""

ANTHROPIC_TESTS = """
import anthropic
import pytest


@pytest.mark.vcr
def test_prompt():
    with anthropic.Anthropic(api_key="sk-ant-placeholder", max_retries=0) as client:
        stream = client.messages.create(
            model="claude-sonnet-4-5",
            max_tokens=8192,
            messages=[
                {"role": "user", "content": [
                    {"type": "text", "text": "Two names for a pet pelican, be brief"}
                ]}
            ],
            stream=True,
            extra_body={"temperature": 1.0},  # this SDK no longer takes it as an argument
        )
        text = "".join(
            event.delta.text for event in stream if event.type == "content_block_delta"
        )
    assert text == "- Captain\\n- Scoop"
"""


def _project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, *, register: bool) -> None:
    for var in ("LLMREEL_MODE", "LLMREEL_STRICT", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    pytester.makeini(RECORDING_OFF)
    pytester.makeconftest(SUITE_CONFTEST.replace("{register}", str(register)))
    layout = {
        "test_openai": ("pydantic-ai", PYDANTIC_AI_TESTS),
        "test_openai_responses": ("llm", LLM_TESTS),
        "test_anthropic": ("llm-anthropic", ANTHROPIC_TESTS),
    }
    for module, (source, tests) in layout.items():
        pytester.makepyfile(**{module: tests})
        shutil.copytree(PUBLIC / source, pytester.path / "cassettes" / module)


@pytest.mark.parametrize("register", [True, False], ids=["suite-serializer", "no-serializer"])
def test_public_cassettes_replay_unchanged_through_the_real_sdks(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, register: bool
) -> None:
    _project(pytester, monkeypatch, register=register)
    before = {p: p.read_bytes() for p in (pytester.path / "cassettes").rglob("*.yaml")}
    result = pytester.runpytest()
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(
        [
            "*4 test(s) with cassettes: 4 replayed, 0 recorded, 0 missed",
            "llmreel served 4 @pytest.mark.vcr test(s) from pytest-recording cassettes*",
        ]
    )
    assert {p: p.read_bytes() for p in before} == before  # nothing rewritten


def test_public_cassettes_also_replay_under_strict_matching(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(pytester, monkeypatch, register=True)
    result = pytester.runpytest("--llmreel-strict")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*4 replayed, 0 recorded, 0 missed"])
