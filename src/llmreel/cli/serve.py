"""``llmreel serve``: run the stand-in model server (registers on :data:`llmreel.cli.app`)."""

from __future__ import annotations

import contextlib
import logging
import sys
from typing import Annotated

import typer
from rich.markup import escape

from llmreel.cli.app import app
from llmreel.engine.faults import GRAMMAR
from llmreel.engine.freshness import ENV_MAX_AGE, ENV_ON_STALE, Freshness
from llmreel.engine.modes import ENV_DIR, ENV_MODE
from llmreel.exceptions import ConfigError
from llmreel.server.config import DEFAULT_HOST, DEFAULT_MAX_BODY, DEFAULT_PORT, ServerConfig
from llmreel.server.run import bind_socket, serve

__all__ = ["serve_command"]

_EPILOG = """\
[bold]Examples[/bold]

Replay what is recorded, on Ollama's port (clients need no change):

  [cyan]llmreel serve --dir tests/cassettes[/cyan]

Record what is missing from a llama.cpp server on port 8080:

  [cyan]llmreel serve -d tests/cassettes -m record-if-missing -u http://127.0.0.1:8080[/cyan]

Then: [cyan]curl -N http://127.0.0.1:11434/v1/chat/completions -d @request.json[/cyan]

Replay with the first two calls rate limited (the SDK retries after 1 s):

  [cyan]llmreel serve -d tests/cassettes --fault 'http=429,retry-after=1,first=2'[/cyan]

Base URLs: OpenAI SDKs http://127.0.0.1:11434/v1; Ollama and Anthropic
http://127.0.0.1:11434. The header [bold]X-Llmreel-Cassette: NAME[/bold] selects
the cassette DIR/NAME (default: DIR itself); [bold]X-Llmreel-Fault: SPEC[/bold]
injects a fault into that one request (never forwarded, never recorded).
Control surface: GET /_llmreel/health, GET /_llmreel/stats, POST
/_llmreel/reset, GET /_llmreel/journal (what happened to each request).

[bold]Fault specs[/bold] (--fault and X-Llmreel-Fault; docs/testing-failure-paths.md):

{grammar}
"""


def _setup_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)  # flushes after every line
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    for name in ("llmreel", "uvicorn"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.propagate = False
    logging.getLogger("llmreel").setLevel(level.upper())
    logging.getLogger("uvicorn").setLevel(logging.WARNING)


# The grammar's [optional] parts are not Rich markup; its lines keep their alignment.
_GRAMMAR_LINES = "\n".join(f"  {escape(line)}" for line in GRAMMAR.splitlines())


@app.command("serve", epilog=_EPILOG.format(grammar=_GRAMMAR_LINES))
def serve_command(
    dir: Annotated[
        str | None,
        typer.Option(
            "--dir",
            "-d",
            envvar=ENV_DIR,
            help="Directory of the cassette(s), or an object store (s3://BUCKET/PREFIX): "
            "recordings are read from and written there.",
            show_default=False,
        ),
    ] = None,
    mode: Annotated[
        str,
        typer.Option(
            "--mode",
            "-m",
            envvar=ENV_MODE,
            help="replay (never touches the network), record-if-missing, record, or live.",
        ),
    ] = "replay",
    upstream: Annotated[
        str | None,
        typer.Option(
            "--upstream",
            "-u",
            envvar="LLMREEL_UPSTREAM",
            help="Base URL of the real model server (needed by record, record-if-missing, live).",
        ),
    ] = None,
    host: Annotated[
        str, typer.Option(help="Address to listen on; 0.0.0.0 exposes it to the network.")
    ] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(help="Port to listen on (Ollama's by default).")] = (
        DEFAULT_PORT
    ),
    pace: Annotated[
        str,
        typer.Option(help="Replay streams 'fast', at the 'recorded' timing, or a factor (0.5)."),
    ] = "fast",
    normalize: Annotated[
        list[str] | None,
        typer.Option(
            "--normalize",
            "-n",
            help="Normalizer applied before matching, repeatable: ignore:PATH, drop:FIELD, "
            "round:N, redact:PATH.",
        ),
    ] = None,
    canonical_off: Annotated[
        list[str] | None,
        typer.Option(
            "--canonical-off",
            help="A canonical rule to switch off (repeatable), or 'all' to key bodies as sent; "
            "`llmreel key --help` lists them.",
        ),
    ] = None,
    on_exhausted: Annotated[
        str,
        typer.Option(
            help="A request sent more often than recorded: 'error' or 'repeat' the last one."
        ),
    ] = "error",
    allow_secret: Annotated[
        list[str] | None,
        typer.Option(help="A value the secret scanner should accept (repeatable)."),
    ] = None,
    max_body: Annotated[
        int, typer.Option(help="Largest request body accepted, in bytes (larger: 413).")
    ] = DEFAULT_MAX_BODY,
    shutdown_grace: Annotated[
        float,
        typer.Option(
            help="Seconds streams still running at Ctrl-C/SIGTERM may go on before they are "
            "cut (and recorded as incomplete)."
        ),
    ] = 10.0,
    fault: Annotated[
        list[str] | None,
        typer.Option(
            "--fault",
            help="Inject a fault, repeatable: e.g. 'http=429,retry-after=1,first=2', 'reset', "
            "'timeout', 'cut=10', 'stall=10:2.5', 'ttft=2,tps=20' (grammar below).",
        ),
    ] = None,
    max_age: Annotated[
        str | None,
        typer.Option(
            "--max-age",
            envvar=ENV_MAX_AGE,
            help="Recordings older than this (90d, 12h, 2w) are stale: see --on-stale.",
        ),
    ] = None,
    on_stale: Annotated[
        str | None,
        typer.Option(
            "--on-stale",
            envvar=ENV_ON_STALE,
            help="Replaying a stale recording: warn (log it), fail (answer 404 saying so) or "
            "record (re-record it, in record-if-missing mode).",
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
    log_format: Annotated[str, typer.Option(help="'text' (logfmt) or 'json' lines.")] = "text",
) -> None:
    """Serve recordings over HTTP as a stand-in for an OpenAI, Ollama or Anthropic server."""
    if dir is None:
        raise typer.BadParameter(
            f"give the cassette directory with --dir DIR (or ${ENV_DIR}).", param_hint="--dir"
        )
    try:
        config = ServerConfig.build(
            dir,
            mode=mode,
            upstream=upstream,
            pace=pace,
            normalizers=normalize or (),
            canonical_off=tuple(canonical_off or ()),
            on_exhausted=on_exhausted,
            allow_secrets=tuple(allow_secret or ()),
            max_body=max_body,
            shutdown_grace=shutdown_grace,
            log_format=log_format,
            faults=tuple(fault or ()),
            freshness=Freshness.build(max_age, on_stale, source="--max-age"),
        )
        sock = bind_socket(host, port)
    except ConfigError as exc:
        typer.echo(f"llmreel serve: {exc}", err=True)
        raise typer.Exit(2) from None
    _setup_logging(log_level)
    log = logging.getLogger("llmreel.server")
    shown = f"[{host}]" if ":" in host else host
    base = f"http://{shown}:{sock.getsockname()[1]}"
    if config.faults:
        log.info("llmreel serve: injecting faults: %s", "; ".join(config.faults))
    log.info(
        "llmreel serve: %s mode, cassettes in %s%s; listening on %s "
        "(OpenAI base URL %s/v1, Ollama/Anthropic %s). Ctrl-C stops.",
        config.mode.value,
        config.dir,
        f", upstream {config.upstream}" if config.upstream else "",
        base,
        base,
        base,
    )
    if host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("llmreel serve: listening on %s: reachable from other machines.", host)
    # uvicorn re-raises the Ctrl-C it already handled once it has shut down cleanly.
    with contextlib.suppress(KeyboardInterrupt):
        serve(config, sock=sock, log_level="warning")
    log.info("llmreel serve: stopped.")
