"""Recordings made from the real llama.cpp server, and the proxy that makes its answers drift.

``llamacpp_recordings`` is made once per session with the real openai and anthropic SDKs
through ``use_cassette``: chat completions, completions, responses and Anthropic
messages, each streamed and not (8 files, 3 tokens each: the structure is what matters,
and the machine is shared). Tests copy it (``recordings``, or ``pick`` for a subset)
before changing anything.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

import llmreel
from llmreel.formats import load_file
from upstreams.drifting import DriftingProxy
from upstreams.llamacpp import LlamaCppServer
from upstreams.serving import run_app

PROMPT = "Count from one to ten."
CALLS = ("chat", "completions", "responses", "messages")


def record_llamacpp(
    base: str,
    path: Path,
    calls: Iterable[str] = CALLS,
    streams: Iterable[bool] = (False, True),
    **sampling: Any,
) -> None:
    """The calls, recorded into ``path`` (``sampling`` goes into the OpenAI bodies)."""
    wanted = set(calls)
    extra = {k: sampling.pop(k) for k in ("top_k", "seed") if k in sampling} or None
    messages: Any = [{"role": "user", "content": PROMPT}]
    with (
        llmreel.use_cassette(path, mode="record"),
        openai.OpenAI(base_url=f"{base}/v1", api_key="sk-local", max_retries=0) as oa,
        anthropic.Anthropic(base_url=base, api_key="local", max_retries=0) as an,
    ):
        for stream in streams:
            answers: list[Any] = []
            if "chat" in wanted:
                usage = {"stream_options": {"include_usage": True}} if stream else {}
                answers.append(
                    oa.chat.completions.create(
                        model="smollm2",
                        messages=messages,
                        max_tokens=3,
                        stream=stream,
                        extra_body=extra,
                        **usage,
                        **sampling,
                    )
                )
            if "completions" in wanted:
                answers.append(
                    oa.completions.create(
                        model="smollm2",
                        prompt="One, two,",
                        max_tokens=3,
                        stream=stream,
                        extra_body=extra,
                        **sampling,
                    )
                )
            if "responses" in wanted:
                answers.append(
                    oa.responses.create(
                        model="smollm2", input=PROMPT, max_output_tokens=3, stream=stream
                    )
                )
            if "messages" in wanted:
                answers.append(
                    an.messages.create(
                        model="smollm2", max_tokens=3, messages=messages, stream=stream
                    )
                )
            if stream:
                for answer in answers:
                    list(answer)


@pytest.fixture(scope="session")
def record_from_llamacpp() -> Any:
    """:func:`record_llamacpp`, for tests that record with other sampling settings."""
    return record_llamacpp


@pytest.fixture(scope="session")
def llamacpp_recordings(llamacpp: LlamaCppServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    llamacpp.start()
    path = tmp_path_factory.mktemp("llamacpp") / "recordings"
    record_llamacpp(llamacpp.base_url, path, temperature=0)
    assert len(list(path.glob("*.json"))) == 8
    return path


@pytest.fixture
def recordings(llamacpp_recordings: Path, tmp_path: Path, llamacpp: LlamaCppServer) -> Path:
    """A private copy of the llama.cpp recordings (llama.cpp running)."""
    llamacpp.start()
    return Path(shutil.copytree(llamacpp_recordings, tmp_path / "recordings"))


@pytest.fixture
def pick(
    llamacpp_recordings: Path, tmp_path: Path, llamacpp: LlamaCppServer
) -> Callable[..., Path]:
    """``pick((endpoint, streamed), ...)``: a private copy of just those recordings."""
    llamacpp.start()

    def copy(*calls: tuple[str, bool]) -> Path:
        dst = tmp_path / "picked"
        dst.mkdir(exist_ok=True)
        for p in sorted(llamacpp_recordings.glob("*.json")):
            inter = load_file(p)
            if (inter.request.path, inter.response.stream is not None) in calls:
                shutil.copy(p, dst / p.name)
        assert len(list(dst.glob("*.json"))) == len(calls)
        return dst

    return copy


@pytest.fixture(scope="session")
def drifting(llamacpp: LlamaCppServer) -> Iterator[str]:
    """The drifting proxy in front of llama.cpp: its base URL (add ``/<alteration>``)."""
    proxy = DriftingProxy(llamacpp.base_url)
    with run_app(proxy.app) as url:
        yield url
