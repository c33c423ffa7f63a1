"""Sending a recorded request again: what goes on the wire, where the credentials come from.

Recordings hold ``<redacted>`` where credentials were; the live call takes them from the
environment variables the provider's SDK reads, and nothing of them reaches a file or the
output. Checked on the wire with the in-process fault upstream, which logs what it got.
"""

from __future__ import annotations

import json
from pathlib import Path

import anthropic
import openai
import pytest
from typer.testing import CliRunner

import llmreel
from llmreel.cli import app
from llmreel.exceptions import ConfigError
from llmreel.model.interaction import Request
from llmreel.tools.resend import check_upstream, outgoing
from upstreams.faulty import FaultyUpstream

runner = CliRunner()
KEY = "-".join(("sk", "proj", "verifykey0123456789abcdef"))  # key-shaped, made at run time


def req(path: str, headers: dict[str, str], **kw: object) -> Request:
    return Request("POST", f"http://recorded.example{path}", path, headers=headers, **kw)  # type: ignore[arg-type]


def test_credentials_come_from_each_providers_own_variable() -> None:
    env = {"OPENAI_API_KEY": KEY, "ANTHROPIC_API_KEY": "ant-key"}
    oa = outgoing(
        req("/v1/chat/completions", {"authorization": "<redacted>", "accept": "application/json"}),
        "https://api.example/base",
        environ=env,
    )
    assert oa.url == "https://api.example/base/v1/chat/completions"
    assert ("authorization", f"Bearer {KEY}") in oa.headers
    assert ("accept", "application/json") in oa.headers
    assert oa.notes == []
    an = outgoing(
        req("/v1/messages", {"x-api-key": "<redacted>", "anthropic-version": "2023-06-01"}),
        "https://api.example",
        environ=env,
    )
    assert ("x-api-key", "ant-key") in an.headers
    assert ("anthropic-version", "2023-06-01") in an.headers


def test_a_missing_credential_is_sent_without_and_said_once() -> None:
    out = outgoing(
        req("/v1/messages", {"x-api-key": "<redacted>"}), "http://127.0.0.1:1", environ={}
    )
    assert not any(k == "x-api-key" for k, _ in out.headers)
    assert out.notes == [
        "`x-api-key` was recorded with a credential and is sent without one: set $ANTHROPIC_API_KEY"
    ]


def test_named_variables_and_redacted_query_values() -> None:
    request = req(
        "/v1beta/models/gemini:generateContent",
        {"x-custom-auth": "<redacted>"},
        query=[("alt", "sse"), ("key", "<redacted>")],
        body={"contents": []},
    )
    out = outgoing(
        request,
        "http://gw",
        environ={"GW_TOKEN": "t0k"},
        credentials={"X-Custom-Auth": "GW_TOKEN"},
    )
    assert out.url == "http://gw/v1beta/models/gemini:generateContent?alt=sse"
    assert ("x-custom-auth", "t0k") in out.headers
    assert ("content-type", "application/json") in out.headers
    assert out.notes == ["query parameter(s) key were redacted and are left out"]
    with pytest.raises(ConfigError, match=r"--credential x-custom-auth=NOPE: \$NOPE is not set"):
        outgoing(request, "http://gw", environ={}, credentials={"x-custom-auth": "NOPE"})


def test_an_upstream_must_be_an_http_url() -> None:
    assert check_upstream("http://127.0.0.1:8080/") == "http://127.0.0.1:8080"
    for bad in ("127.0.0.1:8080", "ftp://x", "http://"):
        with pytest.raises(ConfigError, match="is not an http"):
            check_upstream(bad)


def test_verify_sends_the_environments_credentials_and_writes_nothing_of_them(
    faulty: FaultyUpstream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "cassette"
    with (
        llmreel.use_cassette(path, mode="record"),
        openai.OpenAI(base_url=f"{faulty.base_url}/v1", api_key="recording-key") as oa,
        anthropic.Anthropic(base_url=faulty.base_url, api_key="recording-key") as an,
    ):
        oa.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi there"}])
        an.messages.create(
            model="m", max_tokens=5, messages=[{"role": "user", "content": "hi there"}]
        )
    before = {p: p.read_bytes() for p in path.rglob("*") if p.is_file()}
    assert not any(b"recording-key" in data for data in before.values())
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "ant-" + KEY)
    faulty.received.clear()
    result = runner.invoke(app, ["verify", str(path), "-u", faulty.base_url, "--json"])
    assert result.exit_code == 0, result.stdout
    sent = {r.path: r.headers for r in faulty.received}
    assert sent["/v1/chat/completions"]["authorization"] == f"Bearer {KEY}"
    assert sent["/v1/messages"]["x-api-key"] == "ant-" + KEY
    assert KEY not in result.stdout + result.stderr
    assert json.loads(result.stdout)["summary"]["clean"] == 2
    assert {p: p.read_bytes() for p in path.rglob("*") if p.is_file()} == before
