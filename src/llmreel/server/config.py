"""Settings of one ``llmreel serve`` instance, validated where they enter.

The CLI, the demo, tests and the pytest plugin all build a :class:`ServerConfig`
and hand it to :func:`llmreel.server.create_app` (or :func:`llmreel.server.serve`),
so every way of starting the server checks its settings the same way.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from llmreel.engine import Exhausted, parse_pace
from llmreel.engine.faults import parse_faults
from llmreel.engine.freshness import Freshness
from llmreel.engine.modes import Mode
from llmreel.exceptions import ConfigError
from llmreel.matching import parse_normalizer, parse_rule_names
from llmreel.store import is_remote
from llmreel.store.remote import RemoteLocation

__all__ = [
    "CASSETTE_HEADER",
    "CONTROL_PREFIX",
    "DEFAULT_HOST",
    "DEFAULT_MAX_BODY",
    "DEFAULT_PORT",
    "LogFormat",
    "ServerConfig",
]

# The request header that picks a cassette under --dir (lower case: ASGI header names are).
CASSETTE_HEADER = "x-llmreel-cassette"
# Paths under this prefix are llmreel's own (health, counters), never matched or forwarded.
CONTROL_PREFIX = "/_llmreel"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 11434  # Ollama's port: clients that default to it need no change.
# Requests with images as base64 can be large; anything beyond this is a mistake.
DEFAULT_MAX_BODY = 64 * 1024 * 1024

LogFormat = Literal["text", "json"]


def _check_upstream(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"--upstream {url!r} is not an http(s) URL; give the model server's base URL, "
            f"e.g. http://127.0.0.1:8080 (llama.cpp) or https://api.openai.com."
        )
    if parts.query or parts.fragment:
        raise ConfigError(f"--upstream {url!r}: give a base URL without '?query' or '#fragment'.")
    return url.strip().rstrip("/")


@dataclass
class ServerConfig:
    """What one server does. Construct it with keyword arguments; it validates itself."""

    dir: Path | str  # a directory, or an object-store URL (s3://bucket/prefix)
    mode: Mode = Mode.REPLAY
    upstream: str | None = None
    pace: float | None = None  # None: as fast as possible; 1.0: recorded timing; N: N x slower
    normalizers: tuple[str, ...] = ()
    canonical_off: tuple[str, ...] = ()  # canonical rules switched off ("all": raw bodies)
    on_exhausted: Exhausted = "error"
    allow_secrets: tuple[str, ...] = ()
    max_body: int = DEFAULT_MAX_BODY
    # How long streams still running when a shutdown begins may go on before they are cut
    # (and recorded as incomplete).
    shutdown_grace: float = 10.0
    # Per-read timeout towards the upstream: a slow model may think a while between tokens.
    upstream_timeout: float = 600.0
    log_format: LogFormat = "text"
    # Fault specs applied to every cassette's requests (--fault, repeatable).
    faults: tuple[str, ...] = ()
    freshness: Freshness | None = None  # --max-age / --on-stale

    def __post_init__(self) -> None:
        if is_remote(self.dir):
            self.dir = RemoteLocation.parse(str(self.dir)).url  # refuses credentials in it
        else:
            self.dir = Path(os.fspath(self.dir)).expanduser()
        self.mode = Mode.parse(self.mode, source="--mode")
        if isinstance(self.pace, str):
            self.pace = parse_pace(self.pace)
        self.normalizers = tuple(self.normalizers)
        for spec in self.normalizers:
            parse_normalizer(spec)  # fail at start-up, not on the first request
        try:
            self.canonical_off = tuple(sorted(parse_rule_names(self.canonical_off)))
        except ConfigError as exc:
            raise ConfigError(f"--canonical-off: {exc}") from None
        self.allow_secrets = tuple(self.allow_secrets)
        self.faults = (self.faults,) if isinstance(self.faults, str) else tuple(self.faults)
        parse_faults(self.faults)  # a bad spec fails at start-up, naming its bad part
        if self.on_exhausted not in ("error", "repeat"):
            raise ConfigError(
                f"--on-exhausted {self.on_exhausted!r}: use 'error' (default) or 'repeat'."
            )
        if self.upstream is not None:
            self.upstream = _check_upstream(self.upstream)
        if (self.mode.may_record or self.mode is Mode.LIVE) and not self.upstream:
            raise ConfigError(
                f"--mode {self.mode.value} forwards requests to a model server, so it needs "
                f"--upstream URL (e.g. --upstream http://127.0.0.1:8080); "
                f"use --mode replay to serve only what is recorded."
            )
        if self.max_body <= 0:
            raise ConfigError(f"--max-body {self.max_body}: must be a positive number of bytes.")
        if self.shutdown_grace < 0:
            raise ConfigError("--shutdown-grace must not be negative.")
        if self.log_format not in ("text", "json"):
            raise ConfigError(f"--log-format {self.log_format!r}: use 'text' or 'json'.")

    @classmethod
    def build(
        cls,
        dir: str | os.PathLike[str],
        *,
        mode: str | Mode = Mode.REPLAY,
        upstream: str | None = None,
        pace: str | float | None = None,
        normalizers: Iterable[str] = (),
        **kwargs: object,
    ) -> ServerConfig:
        """Like the constructor, but takes a pace spelled as on the command line."""
        return cls(
            dir=str(dir) if is_remote(dir) else Path(dir),
            mode=Mode.parse(mode, source="--mode"),
            upstream=upstream,
            pace=parse_pace(pace),
            normalizers=tuple(normalizers),
            **kwargs,  # type: ignore[arg-type]
        )
