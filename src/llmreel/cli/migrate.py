"""``llmreel import`` and ``llmreel export``: move recordings between llmreel and other tools."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from llmreel.cli.app import app
from llmreel.cli.locations import read_location, written_location
from llmreel.cli.output import ProgressOpt, err, fail, out, progress_bar
from llmreel.exceptions import LlmreelError
from llmreel.formats.llama_stack.naming import Generation
from llmreel.tools.catalog import find_files
from llmreel.tools.migrate import export_recordings, import_recordings

__all__ = ["export_command", "import_command"]

_FORMATS: dict[str, Generation] = {"llama-stack-2026": "2026", "llama-stack-v0.2": "v0.2"}


@app.command("import")
def import_command(
    src: Annotated[
        Path, typer.Argument(help="llama-stack recordings, vcrpy cassettes, or a file of them.")
    ],
    to: Annotated[
        str, typer.Option("--to", help="Destination cassette directory, or s3://BUCKET/PREFIX.")
    ] = "cassettes",
    progress: ProgressOpt = False,
) -> None:
    """Convert llama-stack recordings and vcrpy cassettes into llmreel's format.

    llama-stack directories of either generation (recursively) and vcrpy / pytest-recording
    cassettes (YAML or JSON); SSE and NDJSON bodies are split back into events; the
    source's directory layout is kept (a cassette file becomes a cassette directory).

    Example: [bold]llmreel import tests/integration/recordings --to tests/cassettes[/bold]
    """
    if not src.exists():
        fail(f"{src} does not exist.")
    started = time.perf_counter()
    total = len(find_files([src], include_yaml=True))
    with progress_bar("importing", total, progress) as advance:
        try:
            with written_location(to) as target:
                result = import_recordings(src, target, on_progress=advance)
        except LlmreelError as exc:
            fail(str(exc))
    console = out()
    for name, reason in result.skipped:
        console.print(f"[yellow]skipped[/yellow] {escape(name)}: {escape(reason)}")
    formats = ", ".join(f"{v} {k}" for k, v in sorted(result.formats.items()))
    err().print(
        f"imported {result.interactions} interaction(s) from {result.files} file(s) "
        f"({formats or 'none'}) into {to} in {time.perf_counter() - started:.2f}s"
        + (f"; {len(result.skipped)} skipped" if result.skipped else "")
    )
    if result.skipped and not result.interactions:
        raise typer.Exit(1)


@app.command("export")
def export_command(
    src: Annotated[
        Path,
        typer.Argument(
            help="A cassette directory (any readable format), or s3://BUCKET/PREFIX.",
            parser=read_location,
        ),
    ],
    to: Annotated[str, typer.Option("--to", help="Destination directory, or s3://...")],
    fmt: Annotated[
        str,
        typer.Option("--format", "-f", help="llama-stack-2026 (default) or llama-stack-v0.2."),
    ] = "llama-stack-2026",
    sqlite: Annotated[
        bool,
        typer.Option(
            "--sqlite", help="v0.2: also write index.sqlite (needed by the Aug 2025 recorder)."
        ),
    ] = False,
    progress: ProgressOpt = False,
) -> None:
    """Write recordings in llama-stack's format (2026 or v0.2 generation).

    2026: ``<hash64>.json`` (model lists ``models-<hash>-<digest>.json``) with ``test_id``;
    v0.2: ``responses/<hash12>.json`` (optionally with ``index.sqlite``).

    Example: [bold]llmreel export tests/cassettes --to recordings --format llama-stack-v0.2[/bold]
    """
    generation = _FORMATS.get(fmt)
    if generation is None:
        fail(f"unknown format {fmt!r}; use one of: {', '.join(_FORMATS)}.")
    if not src.exists():
        fail(f"{src} does not exist.")
    started = time.perf_counter()
    total = len(find_files([src], include_yaml=True))
    with progress_bar("exporting", total, progress) as advance:
        try:
            with written_location(to) as target:
                result, skipped = export_recordings(
                    src, target, generation, sqlite=sqlite, on_progress=advance
                )
        except LlmreelError as exc:
            fail(str(exc))
    console = out()
    for name, reason in skipped:
        console.print(f"[yellow]skipped[/yellow] {escape(name)}: {escape(reason)}")
    for line in result.collisions:
        console.print(f"[yellow]not written[/yellow] {escape(line)}")
    err().print(
        f"exported {len(result.written)} recording(s) to {to} ({fmt}) in "
        f"{time.perf_counter() - started:.2f}s"
        + (f"; {len(skipped)} unreadable" if skipped else "")
        + (f"; {len(result.collisions)} duplicate name(s) not written" if result.collisions else "")
    )
