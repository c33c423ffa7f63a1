"""Sending a recorded request to the live upstream again, and reading the answer as recording does.

The request goes out as it was recorded: method, path (under ``--upstream``,
which may carry a base path), the query, the body, and the recorded headers
except credentials, which were never written (``<redacted>``) and are taken from
the environment variables the provider's SDK reads (see
:mod:`llmreel.providers.credentials`), or from the variables named with
``--credential HEADER=VARIABLE``. The answer is teed through the engine's
:class:`~llmreel.engine.Recorder`, so its status, headers and stream events are
parsed exactly as a recording would hold them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

import httpx

from llmreel.engine import Recorder
from llmreel.exceptions import ConfigError, UpstreamError
from llmreel.model.interaction import Interaction, Request, Response, dumps_json
from llmreel.providers.credentials import credentials_for
from llmreel.redaction import REDACTED
from llmreel.store import Entry

__all__ = ["Outgoing", "Sender", "check_upstream", "outgoing"]

# Framing and per-connection headers: httpx sets its own.
_DROP = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "accept-encoding",
        "te",
        "upgrade",
        "expect",
    }
)


def check_upstream(url: str) -> str:
    """The upstream base URL without a trailing slash, or a ConfigError saying what is wrong."""
    text = url.strip().rstrip("/")
    parsed = httpx.URL(text) if "://" in text else None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise ConfigError(
            f"--upstream {url!r} is not an http(s) URL; give the provider's base URL, e.g. "
            f"https://api.openai.com or http://127.0.0.1:8080 (the recorded path is added)."
        )
    return text


@dataclass(slots=True)
class Outgoing:
    """One request as it will be sent, and what had to be left out (for people)."""

    method: str
    url: str
    headers: list[tuple[str, str]]
    content: bytes
    notes: list[str] = field(default_factory=list)


def outgoing(
    request: Request,
    upstream: str,
    *,
    environ: Mapping[str, str] | None = None,
    credentials: Mapping[str, str] | None = None,
) -> Outgoing:
    """What to send for a recorded ``request``: see the module docstring.

    ``credentials`` maps header names to environment variable names (``--credential``).
    """
    env = os.environ if environ is None else environ
    notes: list[str] = []
    headers: dict[str, str] = {}
    redacted: list[str] = []
    for name, value in request.headers.items():
        low = name.lower()
        if low in _DROP or low.startswith("x-llmreel-"):
            continue
        if value == REDACTED:
            redacted.append(low)
            continue
        headers[low] = value
    found, unset = credentials_for(request.path, env)
    headers.update(found)
    for header, variable in (credentials or {}).items():
        value = env.get(variable, "")
        if not value:
            raise ConfigError(
                f"--credential {header}={variable}: ${variable} is not set; export it (the "
                f"value is only sent, never written or printed)."
            )
        headers[header.lower()] = value
    for low in redacted:
        if low not in headers:
            wanted = unset.get(low)
            where = f"set ${' or $'.join(wanted)}" if wanted else f"use --credential {low}=VAR"
            notes.append(f"`{low}` was recorded with a credential and is sent without one: {where}")
    query = [(k, v) for k, v in request.query if v != REDACTED]
    if len(query) < len(request.query):
        dropped = sorted({k for k, v in request.query if v == REDACTED})
        notes.append(f"query parameter(s) {', '.join(dropped)} were redacted and are left out")
    url = upstream + request.path + (f"?{urlencode(query)}" if query else "")
    if request.body is not None:
        content = dumps_json(request.body)
        headers.setdefault("content-type", "application/json")
    else:
        content = request.raw or b""
    headers["accept-encoding"] = "identity"
    return Outgoing(request.method.upper(), url, list(headers.items()), content, notes)


class _NoSink:
    """Verify only reads the answer; a recorder that tried to write would be a bug."""

    def build_interaction(self, request: Request, key: str, response: Response) -> Interaction:
        raise AssertionError("resend never writes through its recorder")

    def commit(self, inter: Interaction, position: int, *, overwrite: bool) -> Entry:
        raise AssertionError("resend never writes through its recorder")

    def count_error(self) -> None:
        pass


class Sender:
    """Sends recorded requests to one upstream over one connection pool."""

    def __init__(
        self,
        upstream: str,
        *,
        timeout: float = 120.0,
        credentials: Mapping[str, str] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.upstream = check_upstream(upstream)
        self.credentials = dict(credentials or {})
        self.environ = environ
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)), follow_redirects=False
        )

    def prepare(self, request: Request) -> Outgoing:
        return outgoing(request, self.upstream, environ=self.environ, credentials=self.credentials)

    def send(self, request: Request, out: Outgoing | None = None) -> Response:
        """The live answer to ``request``; an unreachable upstream raises UpstreamError."""
        out = out or self.prepare(request)
        recorder = Recorder(_NoSink(), request, "", 0, overwrite=True)
        built = self._client.build_request(
            out.method, out.url, headers=out.headers, content=out.content or None
        )
        try:
            try:
                response = self._client.send(built, stream=True)
            except httpx.RemoteProtocolError:
                # A pooled keep-alive connection the upstream had closed meanwhile: nothing
                # was received and the body is in memory, so sending it once more is safe.
                response = self._client.send(built, stream=True)
        except httpx.HTTPError as exc:
            raise UpstreamError(
                f"could not reach the upstream for {out.method} {out.url} "
                f"({type(exc).__name__}: {exc or 'no details'}). Is it running, and is "
                f"--upstream right?"
            ) from exc
        error: str | None = None
        try:
            encoding = response.headers.get("content-encoding", "identity").strip().lower()
            decoded = encoding not in ("", "identity")
            headers = [
                (k, v)
                for k, v in response.headers.multi_items()
                if not (decoded and k.lower() in ("content-encoding", "content-length"))
            ]
            recorder.start(response.status_code, headers)
            chunks: Iterator[bytes] = response.iter_bytes() if decoded else response.iter_raw()
            try:
                for chunk in chunks:
                    recorder.feed(chunk)
            except httpx.HTTPError as exc:
                error = f"the upstream failed mid-response ({type(exc).__name__}: {exc})"
        finally:
            response.close()
        return recorder.response(complete=error is None, error=error)

    def close(self) -> None:
        self._client.close()
