"""Miss messages: a few KB whatever the bodies hold, and they always show what differs.

The issue's run: one miss over a body with a base64 image printed 5.8 MB, and a multipart
miss said "similarity 100.0%" over an empty diff. Here the messages are bounded, long
strings are cut around where they differ (with their length and digest), and a miss names
the query, form field, raw body or switched-off rule that made it.
"""

from __future__ import annotations

import base64
import os
import random
from pathlib import Path
from typing import Any

import pytest

from llmreel import Interaction, ReplayMissError, Request, Response, open_engine
from llmreel.engine.misses import MAX_MESSAGE
from llmreel.matching import format_similarity
from sdk_requests import openai_request


def _record(root: Path, request: Request, **kw: Any) -> None:
    """Write a recording of ``request`` (straight to the cassette: these tests are about
    misses, and scanning megabytes for secrets is the recorder's business)."""
    engine = open_engine(root, mode="record", **kw)
    inter = Interaction(
        request=request, response=Response(200, body={"ok": True}), key=engine.matcher.key(request)
    )
    engine.cassette.write(inter, 0, overwrite=True)
    engine.cassette.close()


def _miss(root: Path, request: Request, **kw: Any) -> str:
    engine = open_engine(root, mode="replay", **kw)
    with pytest.raises(ReplayMissError) as err:
        engine.decide(request)
    engine.cassette.close()
    return str(err.value)


def _image_chat(data: bytes) -> Request:
    url = "data:image/jpeg;base64," + base64.b64encode(data).decode()
    return openai_request(
        lambda c: c.chat.completions.create(
            model="gpt-4o",
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "Describe the picture."},
                        {"type": "image_url", "image_url": {"url": url}},
                    ],
                }
            ],
        )
    )


def test_a_miss_over_megabytes_of_image_is_a_few_kb_and_shows_both_digests(
    tmp_path: Path,
) -> None:
    recorded, sent = os.urandom(4_300_000), os.urandom(4_300_000)  # ~5.8 MB as base64
    _record(tmp_path, _image_chat(recorded))
    message = _miss(tmp_path, _image_chat(sent))
    assert len(message) < MAX_MESSAGE
    assert "-" in message and "4300000 bytes, sha256" in message
    assert base64.b64encode(sent[:30]).decode() not in message
    lines = [ln for ln in message.splitlines() if "sha256" in ln and "base64" in ln]
    assert any(ln.startswith("-") for ln in lines) and any(ln.startswith("+") for ln in lines)


def test_a_long_prompt_is_cut_around_the_changed_word(tmp_path: Path) -> None:
    rng = random.Random(7)
    words = [rng.choice(["alpha", "beta", "gamma", "delta", "omega"]) for _ in range(20_000)]
    before = " ".join(words)
    after = " ".join([*words[:9_000], "CHANGED", *words[9_001:]])

    def chat(text: str) -> Request:
        return openai_request(
            lambda c: c.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": text}]
            )
        )

    _record(tmp_path, chat(before))
    message = _miss(tmp_path, chat(after))
    assert len(message) < MAX_MESSAGE
    assert f"<{len(after)} chars, sha256 " in message
    assert "{+" in message and "CHANGED" in message  # the changed word is in the window
    plus = next(ln for ln in message.splitlines() if ln.startswith("+") and "CHANGED" in ln)
    assert len(plus) < 400


def test_a_query_difference_is_shown_and_never_as_a_perfect_match(tmp_path: Path) -> None:
    def call(version: str) -> Request:
        return Request(
            "POST",
            "http://x/openai/deployments/d/chat/completions",
            "/openai/deployments/d/chat/completions",
            query=[("api-version", version)],
            body={"messages": [{"role": "user", "content": "hi"}]},
        )

    _record(tmp_path, call("2024-06-01"))
    message = _miss(tmp_path, call("2024-10-21"))
    assert "similarity 100" not in message
    assert '-      "2024-06-01"' in message and '+      "2024-10-21"' in message


def test_a_raw_body_difference_is_shown_by_digest(tmp_path: Path) -> None:
    def call(data: bytes) -> Request:
        return Request(
            "POST",
            "http://x/v1/audio/speech",
            "/v1/audio/speech",
            headers={"content-type": "application/octet-stream"},
            raw=data,
        )

    _record(tmp_path, call(b"\x00\x01one"))
    message = _miss(tmp_path, call(b"\x00\x01two"))
    assert "similarity 100" not in message
    assert '-  "raw_sha256"' in message and '+  "raw_sha256"' in message


def test_a_switched_off_rule_that_would_have_matched_is_named(tmp_path: Path) -> None:
    def turn(call_id: str) -> Request:
        return Request(
            "POST",
            "",
            "/v1/chat/completions",
            body={
                "model": "m",
                "messages": [
                    {"role": "user", "content": "go"},
                    {
                        "role": "assistant",
                        "tool_calls": [
                            {
                                "id": call_id,
                                "type": "function",
                                "function": {"name": "f", "arguments": "{}"},
                            }
                        ],
                    },
                    {"role": "tool", "tool_call_id": call_id, "content": "r"},
                ],
            },
        )

    off = {"canonical_off": ["tool-call-ids"]}
    _record(tmp_path, turn("call_a"), **off)
    message = _miss(tmp_path, turn("call_b"), **off)
    assert "Canonical rules switched off: tool-call-ids" in message
    assert "on, this request would match" in message


def test_a_miss_on_another_path_lists_the_recorded_endpoints(tmp_path: Path) -> None:
    _record(tmp_path, Request("POST", "", "/v1/chat/completions", body={"model": "m"}))
    message = _miss(tmp_path, Request("POST", "", "/v1/chat/completion", body={"model": "m"}))
    assert "Recorded endpoints: POST /v1/chat/completions (1)" in message


def test_similarity_reads_100_percent_only_when_identical() -> None:
    assert format_similarity(1.0) == "100%"
    assert format_similarity(0.99996) == "99.9%"
    assert format_similarity(0.5) == "50.0%"
