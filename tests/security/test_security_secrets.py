"""Secrets never reach disk: a corpus of credential shapes thrown at every place a recording holds.

Every case records through the real transports (httpx and httpx2, sync and async, and the
openai / anthropic SDKs) against a real upstream on 127.0.0.1, then reads back *every* file
under the cassette directory (temp files and the SQLite index included) looking for the
secret or any distinctive piece of it. Credentials in credential headers and key query
parameters are redacted and still replay; key-shaped values anywhere else refuse the write
with a :class:`SecretLeakError` naming the field, unless marked safe or covered by a
``redact:PATH`` rule — and a redacted field still matches on replay.
"""

from __future__ import annotations

import base64
import random
import struct
from collections.abc import Iterator
from pathlib import Path

import anthropic
import openai
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hostile import (
    CLIENTS,
    RESPONSE_PLACES,
    SECRET_IDS,
    SECRETS,
    EchoUpstream,
    Secret,
    call,
    files_under,
    leaks_under,
    place_fits,
)
from llmreel import SecretLeakError, use_cassette
from llmreel.redaction import SecretScanner
from upstreams.faulty import FaultyUpstream
from upstreams.serving import run_app


@pytest.fixture(scope="module")
def echo() -> Iterator[EchoUpstream]:
    upstream = EchoUpstream()
    with run_app(upstream.app) as base_url:
        upstream.base_url = base_url
        yield upstream


def _recordings(root: Path) -> list[Path]:
    return [p for p in files_under(root) if p.suffix == ".json" and not p.name.startswith(".")]


def _client_for(i: int) -> str:
    return CLIENTS[i % len(CLIENTS)]


# --------------------------------------------------------------------------- requests


def _request_placements(secret: Secret) -> list[tuple[str, dict[str, object], str]]:
    """(label, request kwargs, the field the error must name) for one secret."""
    v = secret.value
    field = secret.needs_field
    body: dict[str, object] = {"case": 0, "place": "none", "model": "m"}
    out: list[tuple[str, dict[str, object], str]] = []
    if field is None:
        if not secret.multiline:
            out.append(
                ("custom header", {"json": body, "headers": {"x-debug-note": v}}, "request.headers")
            )
        out.append(("query", {"json": body, "params": {"q": v}}, "request.query.q"))
        chat = {**body, "messages": [{"role": "user", "content": f"please use {v} for this"}]}
        out.append(("json body", {"json": chat}, "request.body.messages[0].content"))
        out.append(
            (
                "raw body",
                {"content": f"token follows {v} end".encode(), "headers": {"content-type": "x/y"}},
                "request.raw",
            )
        )
        nested = {**body, "tools": [{"function": {"description": ["x", {"deep": v}]}}]}
        out.append(("nested json", {"json": nested}, "request.body.tools[0].function"))
    else:
        conf = {**body, "config": {field: v}}
        out.append(("json field", {"json": conf}, f"request.body.config.{field}"))
        text = f'config "{field}": "{v}"\n'.encode()
        out.append(
            ("raw field", {"content": text, "headers": {"content-type": "x/y"}}, "request.raw")
        )
        out.append(
            ("query field", {"json": body, "params": {f"x_{field}": v}}, f"request.query.x_{field}")
        )
    return out


@pytest.mark.parametrize("secret", SECRETS, ids=SECRET_IDS)
def test_secret_in_request_is_refused_before_forwarding_and_never_written(
    secret: Secret, echo: EchoUpstream, tmp_path: Path
) -> None:
    url = f"{echo.base_url}/v1/echo"
    for i, (label, kwargs, where) in enumerate(_request_placements(secret)):
        calls = echo.calls
        with (
            use_cassette(tmp_path / "c", mode="record-if-missing"),
            pytest.raises(SecretLeakError) as err,
        ):
            call(_client_for(i), "POST", url, **kwargs)  # type: ignore[arg-type]
        assert err.value.where.startswith(where), (label, str(err.value))
        assert where in str(err.value) and "Nothing was written" in str(err.value)
        # Refused before it cost an upstream call.
        assert echo.calls == calls, label
    assert _recordings(tmp_path) == []
    assert leaks_under(tmp_path, [secret]) == []


@pytest.mark.parametrize("secret", [s for s in SECRETS if not s.multiline], ids=lambda s: s.name)
def test_credentials_in_auth_headers_and_key_query_are_redacted_and_still_replay(
    secret: Secret, echo: EchoUpstream, tmp_path: Path
) -> None:
    url = f"{echo.base_url}/v1/echo"
    body = {"case": 0, "place": "none"}
    headers = {
        "authorization": f"Bearer {secret.value}",
        "x-api-key": secret.value,
        "api-key": secret.value,
        "x-goog-api-key": secret.value,
        "cookie": f"session={secret.value}",
        "x-custom-auth-token": secret.value,
    }
    params = {"key": secret.value, "api_key": secret.value, "access_token": secret.value}
    kind = _client_for(SECRETS.index(secret))
    with use_cassette(tmp_path, mode="record") as session:
        status, content = call(kind, "POST", url, json=body, headers=headers, params=params)
    assert status == 200 and session.recorded == 1
    [path] = _recordings(tmp_path)
    stored = orjson.loads(path.read_bytes())
    assert stored["request"]["headers"]["authorization"] == "<redacted>"
    assert ["key", "<redacted>"] in stored["request"]["query"]
    assert leaks_under(tmp_path, [secret]) == []
    # Replay with other credentials (and none at all): headers and key params never match.
    # (Identical requests form a sequence, so each replay gets a fresh cassette session.)
    with use_cassette(tmp_path, mode="replay") as session:
        again = call(kind, "POST", url, json=body, headers={"authorization": "Bearer other"})
    with use_cassette(tmp_path, mode="replay") as session:
        third = call(kind, "POST", url, json=body, params={"key": "different"})
    assert again == (200, content) and third == (200, content) and session.played == 1


# --------------------------------------------------------------------------- responses

_WHERE = {
    "header": "response.headers.x-echo",
    "json": "response.body.choices[0].message.",
    "text": "response.text",
    "binary": "response.content",
    "sse-data": "response.events[1].data",
    "sse-comment": "response.events[1].comment",
    "sse-id": "response.events[1].id",
    "sse-event": "response.events[1].event",
    "ndjson": "response.events[1].data",
}


@pytest.mark.parametrize("secret", SECRETS, ids=SECRET_IDS)
def test_secret_in_response_is_refused_and_never_written(
    secret: Secret, echo: EchoUpstream, tmp_path: Path
) -> None:
    url = f"{echo.base_url}/v1/echo"
    case = SECRETS.index(secret)
    places = [p for p in RESPONSE_PLACES if place_fits(secret, p)]
    assert len(places) >= 5
    for i, place in enumerate(places):
        with (
            use_cassette(tmp_path / "c", mode="record"),
            pytest.raises(SecretLeakError) as err,
        ):
            call(_client_for(i + case), "POST", url, json={"case": case, "place": place})
        assert err.value.where.startswith(_WHERE[place]), (place, str(err.value))
    assert _recordings(tmp_path) == []
    assert leaks_under(tmp_path, [secret]) == []


def test_the_corpus_covers_every_provider_shape_the_issue_names() -> None:
    assert len(SECRETS) >= 20
    names = " ".join(SECRET_IDS)
    for shape in ("openai", "anthropic", "google", "aws", "github", "huggingface", "jwt"):
        assert shape in names
    assert "bearer" in names and "slack" in names and "stripe" in names
    # Every value in the corpus is caught on its own (in a field named after its kind).
    scanner = SecretScanner()
    for s in SECRETS:
        assert scanner.scan({s.needs_field or "note": s.value}, "x") is not None, s.name


# --------------------------------------------------------------------------- escape hatches


@pytest.mark.parametrize("secret", SECRETS[::4], ids=lambda s: s.name)
def test_value_marked_safe_is_written_verbatim_and_replays(
    secret: Secret, echo: EchoUpstream, tmp_path: Path
) -> None:
    url = f"{echo.base_url}/v1/echo"
    case = SECRETS.index(secret)
    field = secret.needs_field or "content"
    requests = [
        {"case": case, "place": place, "note": {field: secret.value}}
        for place in ("json", "sse-data", "ndjson", "binary")
    ]
    with use_cassette(tmp_path, mode="record", allow_secrets=[secret.value]) as session:
        answers = [call("httpx2", "POST", url, json=r) for r in requests]
    assert session.recorded == len(requests)
    assert leaks_under(tmp_path, [secret]) != []  # written, as the user asked
    with use_cassette(tmp_path, mode="replay") as session:
        assert [call("httpx", "POST", url, json=r) for r in requests] == answers
    assert session.played == len(requests)


def test_marking_one_value_safe_does_not_let_another_through(
    echo: EchoUpstream, tmp_path: Path
) -> None:
    a, b = SECRETS[0], SECRETS[1]
    body = {"case": 0, "place": "none", "messages": [{"content": f"{a.value} and {b.value}"}]}
    with (
        use_cassette(tmp_path, mode="record", allow_secrets=[a.value]),
        pytest.raises(SecretLeakError, match=r"request\.body\.messages\[0\]\.content"),
    ):
        call("httpx", "POST", f"{echo.base_url}/v1/echo", json=body)
    assert leaks_under(tmp_path, [a, b]) == []


@pytest.mark.parametrize("kind", CLIENTS)
def test_redaction_rule_covers_a_secret_and_the_redacted_field_still_matches(
    kind: str, echo: EchoUpstream, tmp_path: Path
) -> None:
    url = f"{echo.base_url}/v1/echo"
    rules = ["redact:messages[*].content", "redact:metadata.user_key", "round:3"]

    def body(secret: Secret) -> dict[str, object]:
        return {
            "case": 0,
            "place": "none",
            "temperature": 0.70001,
            "messages": [{"role": "user", "content": f"key {secret.value}"}],
            "metadata": {"user_key": secret.value, "tag": "kept"},
        }

    first, other = SECRETS[4], SECRETS[12]
    with use_cassette(tmp_path, mode="record-if-missing", normalizers=rules) as session:
        answer = call(kind, "POST", url, json=body(first))
    assert session.recorded == 1
    assert leaks_under(tmp_path, [first]) == []
    [path] = _recordings(tmp_path)
    stored = orjson.loads(path.read_bytes())["request"]["body"]
    assert stored["messages"][0]["content"] == "<redacted>"
    assert stored["metadata"] == {"user_key": "<redacted>", "tag": "kept"}
    # The same request replays; so does one with another value in the redacted fields.
    with use_cassette(tmp_path, mode="replay", normalizers=rules) as session:
        assert call(kind, "POST", url, json=body(first)) == answer
    with use_cassette(tmp_path, mode="replay", normalizers=rules) as session:
        assert call(kind, "POST", url, json=body(other)) == answer
    assert session.played == 1 and session.misses == []


def test_ignored_query_parameter_is_redacted_on_disk_and_still_matches(
    echo: EchoUpstream, tmp_path: Path
) -> None:
    secret = SECRETS[0]
    url = f"{echo.base_url}/v1/echo"
    body = {"case": 0, "place": "none"}
    with use_cassette(tmp_path, mode="record", ignore_query=["sig_v2"]) as session:
        answer = call("httpx", "POST", url, json=body, params={"sig_v2": secret.value, "a": "1"})
    assert session.recorded == 1 and leaks_under(tmp_path, [secret]) == []
    with use_cassette(tmp_path, mode="replay", ignore_query=["sig_v2"]):
        assert call("httpx", "POST", url, json=body, params={"sig_v2": "x", "a": "1"}) == answer


# --------------------------------------------------------------------------- real SDKs


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_sdk_api_keys_never_reach_disk_and_replay_with_another_key(
    stream: bool, faulty: FaultyUpstream, tmp_path: Path
) -> None:
    oa_key = next(s for s in SECRETS if s.name == "openai-project")
    an_key = next(s for s in SECRETS if s.name == "anthropic-api")
    msgs = [{"role": "user", "content": "tell me three words"}]

    def run(oa: str, an: str) -> tuple[str, str]:
        oc = openai.OpenAI(base_url=f"{faulty.base_url}/v1", api_key=oa, max_retries=0)
        ac = anthropic.Anthropic(base_url=faulty.base_url, api_key=an, max_retries=0)
        if stream:
            chunks = oc.chat.completions.create(model="gpt-x", messages=msgs, stream=True)  # type: ignore[arg-type,call-overload]
            o_text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            with ac.messages.stream(model="claude-x", max_tokens=16, messages=msgs) as s:  # type: ignore[arg-type]
                a_text = "".join(s.text_stream)
        else:
            r = oc.chat.completions.create(model="gpt-x", messages=msgs)  # type: ignore[arg-type,call-overload]
            o_text = r.choices[0].message.content or ""
            m = ac.messages.create(model="claude-x", max_tokens=16, messages=msgs)  # type: ignore[arg-type]
            a_text = m.content[0].text  # type: ignore[union-attr]
        return o_text, a_text

    with use_cassette(tmp_path, mode="record") as session:
        live = run(oa_key.value, an_key.value)
    assert session.recorded == 2
    # The upstream did receive the real keys: redaction is only for what is written.
    assert faulty.received[0].headers["authorization"] == f"Bearer {oa_key.value}"
    assert an_key.value in str(faulty.received[1].headers)  # anthropic 2.x sends a bearer
    assert leaks_under(tmp_path, [oa_key, an_key]) == []
    with use_cassette(tmp_path, mode="replay") as session:
        assert run("sk-not-the-same", "not-the-same-either") == live
    assert session.played == 2


# --------------------------------------------------------------------------- the scanner

_BENIGN = [
    "The bearer of this letter is a friend; bearer instrument/certificate law is old.",
    "Ask-me-anything-about-the-weather-today-please: a task-management-system-overview.",
    "chatcmpl-9f8e7d6c5b4a39281706f5e4d3c2b1a0 msg_01XFDUDYJgAACzvnptvVoYEL",
    "toolu_01A09q90qw90lq917835lq9 run_abc123def456ghi789jkl012 file-AbC123dEf456GhI789",
    "call_a1b2c3d4e5f6a7b8c9d0e1f2 resp_67ccd2bed1ec8190b14f964abc054267 fp_44709d6fcb",
    "550e8400-e29b-41d4-a716-446655440000",
    "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "See https://example.com/docs?page=2&lang=en and http://localhost:11434/api/chat.",
    "max_tokens: 4096, prompt_tokens=123456789012, total_tokens: 123456789012345678",
    "The password policy requires twelve characters; the secret is in the sauce.",
    "skeleton-key-approaches-to-model-jailbreaking-2024 and risk-assessment-framework",
    "def api_key(self) -> str: return os.environ['OPENAI_API_KEY']",
    "Authorization: Bearer <redacted>",
    '{"api_key": "<redacted>", "password": "<redacted>"}',
]


def _embedding_blob(rng: random.Random, n: int) -> str:
    floats = [rng.uniform(-0.2, 0.2) for _ in range(n)]
    return base64.b64encode(struct.pack(f"<{n}f", *floats)).decode()


def test_scanner_does_not_flag_ordinary_model_traffic() -> None:
    scanner = SecretScanner()
    for text in _BENIGN:
        assert scanner.scan_text(text, "x") is None, text
        assert scanner.scan({"content": text, "nested": [text]}, "x") is None, text
    rng = random.Random(7)
    # Base64 embeddings are the bulk of many responses: 200 of them, 1536 dims each.
    for _ in range(200):
        blob = _embedding_blob(rng, 1536)
        assert scanner.scan({"data": [{"embedding": blob}]}, "resp") is None


_SEPARATORS = st.sampled_from([" ", "\n", "\t", '"', "'", "=", ":", ",", ";", "(", "<", "[", "{"])


@settings(max_examples=300, deadline=None)
@given(
    secret=st.sampled_from([s for s in SECRETS if s.needs_field is None]),
    before=st.text(max_size=40),
    sep1=_SEPARATORS,
    sep2=_SEPARATORS,
    after=st.text(max_size=40),
)
def test_scanner_finds_a_secret_wherever_it_sits_in_text(
    secret: Secret, before: str, sep1: str, sep2: str, after: str
) -> None:
    text = before + sep1 + secret.value + sep2 + after
    scanner = SecretScanner()
    assert scanner.scan_text(text, "t") is not None
    assert scanner.scan({"a": [{"b": text}]}, "t") is not None
    # The excerpt in the message never holds the secret itself.
    found = scanner.scan_text(text, "t")
    assert found is not None and secret.core not in found.excerpt


@settings(max_examples=100, deadline=None)
@given(secret=st.sampled_from([s for s in SECRETS if s.needs_field]), key=st.text(max_size=8))
def test_scanner_finds_unprefixed_keys_by_their_field_name(secret: Secret, key: str) -> None:
    assert secret.needs_field is not None
    scanner = SecretScanner()
    assert scanner.scan({key: {secret.needs_field: secret.value}}, "b") is not None
    as_text = orjson.dumps({secret.needs_field: secret.value}).decode()
    assert scanner.scan_text(f"event {as_text}", "e") is not None
    assert scanner.scan_text(orjson.dumps(as_text).decode(), "e") is not None  # JSON in JSON
