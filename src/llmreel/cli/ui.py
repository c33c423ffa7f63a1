"""``llmreel ui``: the web inspector over a directory of recordings (registers on the app)."""

from __future__ import annotations

import logging
import sys
import time
import webbrowser
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from llmreel.cli.app import app
from llmreel.cli.output import err, fail
from llmreel.exceptions import ConfigError
from llmreel.ui.app import UiApp
from llmreel.ui.run import DEFAULT_UI_PORT, is_loopback, serve_ui

__all__ = ["ui_command"]

_EPILOG = """\
[bold]Examples[/bold]

Look at a project's cassettes in a browser:

  [cyan]llmreel ui tests/cassettes[/cyan]   then open http://127.0.0.1:8377/

Pages: Browse (filter, search, sort every recording), a recording (conversation, answer,
parameters, usage, raw request and response), its stream timeline, and Usage (tokens by
model and endpoint). Live traffic is on [cyan]llmreel serve[/cyan], under
http://127.0.0.1:11434/_llmreel/ui/. The inspector is read-only and answers only on
loopback unless --host says otherwise.
"""


@app.command("ui", epilog=_EPILOG)
def ui_command(
    directory: Annotated[
        Path, typer.Argument(help="Cassette or recordings directory (any depth).")
    ] = Path("."),
    port: Annotated[int, typer.Option("--port", "-p", help="Port to listen on.")] = DEFAULT_UI_PORT,
    host: Annotated[
        str,
        typer.Option("--host", help="Address to listen on (default loopback only)."),
    ] = "127.0.0.1",
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open the page in the default browser.")
    ] = False,
) -> None:
    """Browse recordings in a web page: conversations, stream timelines, token usage.

    Reads llmreel files, llama-stack recordings (both generations) and vcrpy cassettes.
    """
    if not directory.is_dir():
        fail(f"{directory} is not a directory; give a cassette directory (e.g. tests/cassettes).")
    if not 0 <= port <= 65535:
        fail(f"--port {port} is not a port number (0-65535).")
    console = err()
    if not is_loopback(host):
        console.print(
            f"[yellow]warning:[/yellow] listening on {escape(host)}: anyone who can reach it can "
            "read every recording under the directory."
        )
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        if sys.stderr.isatty() and total:
            sys.stderr.write(f"\rindexing {done}/{total} files")
            sys.stderr.flush()

    def ready(ui: UiApp, url: str) -> None:
        facets = ui.index.facets()
        if sys.stderr.isatty():
            sys.stderr.write("\r\x1b[K")
        note = f", {facets['unreadable']} unreadable" if facets["unreadable"] else ""
        console.print(
            f"indexed {facets['total']} recording(s) in {facets['files']} file(s) under "
            f"{escape(str(directory))} in {time.perf_counter() - started:.2f}s{note}"
        )
        console.print(f"llmreel inspector (read-only) at [bold]{escape(url)}[/bold]; Ctrl-C stops")
        if open_browser:
            webbrowser.open(url)

    try:
        serve_ui(directory, host=host, port=port, progress=progress, ready=ready)
    except ConfigError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        pass
