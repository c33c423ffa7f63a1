"""Shared material for the adversarial suites (``test_security_*``, ``test_reliability_*``).

- :data:`SECRETS`: a corpus of credential shapes. Every value is assembled at import time from
  a seeded random generator, so this file holds no literal that a secret scanner (GitHub push
  protection, gitleaks) would flag, and the values are the same on every run.
- :class:`EchoUpstream`: an upstream that puts a chosen corpus value into a chosen place of its
  response (header, JSON body, text, bytes, SSE data/comment/id/event name, NDJSON line), so a
  test can prove that a secret coming *back* from a model server never reaches disk either.
- :func:`files_under` / :func:`leaks_under`: read every file below a directory, dot-files,
  temp files and the SQLite index included, and report which secrets appear in them.
- :func:`run_python`: run a snippet in a fresh interpreter with ``tests`` importable.
"""

from __future__ import annotations

import asyncio
import base64
import os
import random
import string
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import httpx2
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from upstreams.streams import NDJSON_MEDIA_TYPE, SSE_MEDIA_TYPE, ChunkStream

TESTS_DIR = Path(__file__).resolve().parent
REPO_DIR = TESTS_DIR.parent

_rng = random.Random(20261125)
_ALNUM = string.ascii_letters + string.digits
_UPPER = string.ascii_uppercase + string.digits


def _r(n: int, alphabet: str = _ALNUM) -> str:
    # Always end on a digit-letter pair so "mixed" shapes (letters and digits) hold.
    body = "".join(_rng.choice(alphabet) for _ in range(n - 2))
    digits = [c for c in alphabet if c.isdigit()] or list(alphabet)
    letters = [c for c in alphabet if c.isalpha()] or list(alphabet)
    return body + _rng.choice(digits) + _rng.choice(letters)


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass(frozen=True)
class Secret:
    """One credential shape. ``value`` is what a user might leak; ``core`` a distinctive tail."""

    name: str
    value: str
    multiline: bool = False  # cannot go into a header or an SSE id/event line
    needs_field: str | None = None  # only recognisable inside a field of this name

    @property
    def core(self) -> str:
        """A distinctive piece: finding it on disk means at least part of the secret leaked."""
        text = self.value.replace("\n", "")
        return text[-16:]


def _jwt() -> str:
    head = _b64url(b'{"alg":"HS256","typ":"JWT"}')
    body = _b64url(orjson.dumps({"sub": _r(12), "iat": 1_700_000_000, "scope": "api"}))
    return f"{head}.{body}.{_r(43, _ALNUM + '-_')}"


def _pem() -> str:
    lines = [_r(64, _ALNUM + "+/") for _ in range(4)]
    kind = "RSA PRIVATE KEY"
    return "-----BEGIN " + kind + "-----\n" + "\n".join(lines) + "\n-----END " + kind + "-----"


def _corpus() -> tuple[Secret, ...]:
    sk = "sk"
    return (
        Secret("openai-legacy", f"{sk}-{_r(48)}"),
        Secret("openai-project", f"{sk}-proj-{_r(74, _ALNUM + '_-')}T3Blbk{_r(20)}"),
        Secret("openai-service-account", f"{sk}-svcacct-{_r(64, _ALNUM + '_-')}"),
        Secret("openrouter", f"{sk}-or-v1-{_r(64, string.hexdigits.lower())}"),
        Secret("anthropic-api", f"{sk}-ant-api03-{_r(93, _ALNUM + '_-')}AA"),
        Secret("anthropic-admin", f"{sk}-ant-admin01-{_r(93, _ALNUM + '_-')}AA"),
        Secret("google-api-key", "AI" + "za" + _r(35, _ALNUM + "_-")),
        Secret("google-oauth", "ya" + "29." + _r(120, _ALNUM + "_-")),
        Secret("aws-access-key-id", "AK" + "IA" + _r(16, _UPPER)),
        Secret("aws-session-key-id", "AS" + "IA" + _r(16, _UPPER)),
        Secret("aws-secret-in-text", "AWS_SECRET_ACCESS_KEY=" + _r(40, _ALNUM + "/+")),
        Secret("aws-secret-as-field", _r(40, _ALNUM + "/+"), needs_field="aws_secret_access_key"),
        Secret("github-classic", "gh" + "p_" + _r(36)),
        Secret("github-oauth", "gh" + "o_" + _r(36)),
        Secret("github-fine-grained", "github" + "_pat_" + _r(22) + "_" + _r(59)),
        Secret("gitlab", "gl" + "pat-" + _r(20, _ALNUM + "_-")),
        Secret("huggingface", "h" + "f_" + _r(34)),
        Secret("jwt", _jwt()),
        Secret("bearer-opaque", "Bearer " + _r(40, _ALNUM + "-._~+/")),
        Secret("slack-bot", "xo" + "xb-" + _r(12, string.digits) + "-" + _r(24)),
        Secret(
            "slack-webhook",
            "https://hooks.slack.com/services/T"
            + _r(10, _UPPER)
            + "/B"
            + _r(10, _UPPER)
            + "/"
            + _r(24),
        ),
        Secret("stripe-live", sk + "_live_" + _r(24)),
        Secret("stripe-restricted", "r" + "k_test_" + _r(24)),
        Secret("groq", "gs" + "k_" + _r(52)),
        Secret("replicate", "r" + "8_" + _r(37)),
        Secret("xai", "x" + "ai-" + _r(80)),
        Secret("perplexity", "pp" + "lx-" + _r(48)),
        Secret("npm", "np" + "m_" + _r(36)),
        Secret("sendgrid", "S" + "G." + _r(22, _ALNUM + "_-") + "." + _r(43, _ALNUM + "_-")),
        Secret("azure-storage", "AccountKey=" + _r(86, _ALNUM + "+/") + "=="),
        Secret("url-password", "postgres://admin:" + _r(20) + "@db.internal.example:5432/app"),
        Secret("private-key", _pem(), multiline=True),
        Secret("mistral-as-field", _r(32), needs_field="api_key"),
    )


SECRETS: tuple[Secret, ...] = _corpus()
SECRET_IDS = [s.name for s in SECRETS]


def secret_named(name: str) -> Secret:
    return next(s for s in SECRETS if s.name == name)


# --------------------------------------------------------------------------- disk


def files_under(root: Path) -> Iterator[Path]:
    """Every regular file below ``root``, hidden ones (temp files, the index) included."""
    for folder, _dirs, files in os.walk(root):
        for name in files:
            yield Path(folder) / name


def _forms(text: str) -> set[str]:
    # The ways a value could appear in a file: verbatim, JSON-escaped, URL-encoded.
    return {text, orjson.dumps(text).decode()[1:-1], quote(text, safe=""), quote(text)}


def leaks_under(root: Path, secrets: tuple[Secret, ...] | list[Secret] = SECRETS) -> list[str]:
    """``file: secret`` for every secret (or its distinctive tail) found in any file."""
    found: list[str] = []
    for path in files_under(root):
        data = path.read_bytes().decode("utf-8", "replace")
        for s in secrets:
            if any(form in data for form in _forms(s.value) | _forms(s.core)):
                found.append(f"{path.relative_to(root)}: {s.name}")
    return found


# --------------------------------------------------------------------------- upstream

RESPONSE_PLACES = (
    "header",
    "json",
    "text",
    "binary",
    "sse-data",
    "sse-comment",
    "sse-id",
    "sse-event",
    "ndjson",
)


class EchoUpstream:
    """Answers ``POST /v1/echo`` with ``{"case": i, "place": p}`` by putting secret ``i`` at ``p``.

    The request itself carries no secret, so the only place one can come from is the response.
    """

    def __init__(self, secrets: tuple[Secret, ...] = SECRETS) -> None:
        self.secrets = secrets
        self.base_url = ""
        self.calls = 0
        self.app = Starlette(routes=[Route("/v1/echo", self._echo, methods=["POST"])])

    async def _echo(self, request: Request) -> Response | ChunkStream:
        self.calls += 1
        doc: dict[str, Any] = orjson.loads(await request.body())
        secret = self.secrets[int(doc["case"])]
        value = secret.value
        field = secret.needs_field or "content"
        place = doc["place"]
        if place == "none":
            return JSONResponse({"ok": True})
        payload = {"id": "echo-1", "choices": [{"index": 0, "message": {field: value}}]}
        if place == "header":
            return JSONResponse({"ok": True}, headers={"x-echo": value})
        if place == "json":
            return JSONResponse(payload)
        if place == "text":
            return PlainTextResponse(f"{field}: {value}\n")
        if place == "binary":
            blob = b"\x00\xff\xfe" + orjson.dumps({field: value}) + b"\x80\x81"
            return Response(blob, media_type="application/octet-stream")
        if place == "ndjson":
            lines = [orjson.dumps({"n": 0}), orjson.dumps({"message": {field: value}})]
            return ChunkStream([ln + b"\n" for ln in lines], media_type=NDJSON_MEDIA_TYPE)
        events = {
            "sse-data": b"data: " + orjson.dumps(payload) + b"\n\n",
            "sse-comment": f": {value}\n\n".encode(),
            "sse-id": f"id: {value}\ndata: {{}}\n\n".encode(),
            "sse-event": f"event: {value}\ndata: {{}}\n\n".encode(),
        }
        chunks = [b'data: {"n":0}\n\n', events[place], b"data: [DONE]\n\n"]
        return ChunkStream(chunks, media_type=SSE_MEDIA_TYPE)


def place_fits(secret: Secret, place: str) -> bool:
    """Whether ``secret`` can be put at ``place`` at all (one-line values for header lines)."""
    if secret.multiline and place in ("header", "sse-id", "sse-event", "query"):
        return False
    # A field-shaped secret (no prefix) is only a secret inside its named field.
    return not (secret.needs_field and place in ("header", "sse-comment", "sse-id", "sse-event"))


# --------------------------------------------------------------------------- clients

CLIENTS = ("httpx", "httpx2", "httpx-async", "httpx2-async")


def call(kind: str, method: str, url: str, **kwargs: Any) -> tuple[int, bytes]:
    """One request through one of the four client stacks llmreel intercepts."""
    mod = httpx2 if kind.startswith("httpx2") else httpx
    if not kind.endswith("-async"):
        with mod.Client(timeout=30, verify=False) as client:
            r = client.request(method, url, **kwargs)
            return r.status_code, r.content

    async def go() -> tuple[int, bytes]:
        async with mod.AsyncClient(timeout=30, verify=False) as client:
            r = await client.request(method, url, **kwargs)
            return r.status_code, r.content

    return asyncio.run(go())


# --------------------------------------------------------------------------- processes


def run_python(
    code: str, *args: str, timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter (``tests`` importable); output is captured."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("LLMREEL_")}
    full_env = {**base, "PYTHONPATH": str(TESTS_DIR), **(env or {})}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        check=False,
    )
