"""``llmreel check`` and ``llmreel prune``: keep a cassette directory valid and lean."""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from llmreel.cli.app import app
from llmreel.cli.locations import read_location
from llmreel.cli.output import JsonOpt, ProgressOpt, dumps, err, fail, out, progress_bar
from llmreel.store import is_remote
from llmreel.store.usage import find_usage
from llmreel.tools.audit import check_files
from llmreel.tools.catalog import find_files

__all__ = ["check_command", "prune_command"]


@app.command("check")
def check_command(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Directories or files, or s3://BUCKET/PREFIX (default: the current directory).",
            parser=read_location,
        ),
    ] = None,
    allow_secret: Annotated[
        list[str] | None,
        typer.Option("--allow-secret", help="A value that looks like a secret but is not."),
    ] = None,
    as_json: JsonOpt = False,
    progress: ProgressOpt = False,
) -> None:
    """Validate recordings; exit 1 when anything is wrong (for CI and pre-commit).

    Each file parses, its format version is known, its key (llmreel) or name (llama-stack:
    the name llama-stack's current recorder looks it up by) matches its request, no two
    files claim one key and position, and no secrets are anywhere in it.

    Example: [bold]llmreel check tests/cassettes tests/integration/recordings[/bold]
    """
    targets = paths or [Path(".")]
    for p in targets:
        if not p.exists():
            fail(f"{p} does not exist.")
    started = time.perf_counter()
    files = find_files(targets)
    with progress_bar("checking", len(files), progress) as advance:
        report = check_files(files, allow_secrets=allow_secret or (), on_progress=advance)
    elapsed = time.perf_counter() - started
    if as_json:
        sys.stdout.write(dumps({**report.as_dict(), "seconds": round(elapsed, 3)}) + "\n")
    else:
        console = out()
        for problem in report.problems:
            console.print(
                f"[red]{escape(problem.kind)}[/red] {escape(problem.file)}: "
                f"{escape(problem.message)}"
            )
        for note in report.notes:
            console.print(f"[dim]note[/dim] {escape(note.file)}: {escape(note.message)}")
    formats = ", ".join(f"{v} {k}" for k, v in sorted(report.by_format.items()))
    if report.ok:
        err().print(f"ok: {report.files} file(s) checked ({formats}) in {elapsed:.2f}s")
    else:
        counts = ", ".join(f"{v} {k}" for k, v in sorted(report.counts().items()))
        err().print(
            f"{report.bad_files} of {report.files} file(s) have problems ({counts}); "
            f"checked ({formats}) in {elapsed:.2f}s"
        )
        raise typer.Exit(1)


@app.command("prune")
def prune_command(
    directory: Annotated[str, typer.Argument(help="Cassette directory (searched below).")] = ".",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", "-n", help="Only say what would be deleted.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Also prune after a run that did not cover everything.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Delete recordings the last run did not use.

    The pytest plugin and ``llmreel serve`` write what they used to
    ``<cassette>/.llmreel/last-run.json``; recordings added after that run are kept.

    Example: [bold]llmreel prune tests/cassettes --dry-run[/bold]
    """
    if is_remote(str(directory)):
        fail(
            f"prune works on a local copy, where the last run's usage record is: "
            f"`llmreel sync pull {directory} DIR`, run the tests on DIR, `llmreel prune DIR`, "
            f"then `llmreel sync push DIR {directory} --delete` (or prune in the store "
            f"directly with `pytest --llmreel-dir {directory} --llmreel-prune`)."
        )
    root = Path(directory)
    if not root.exists():
        fail(f"{directory} does not exist.")
    records = find_usage(root)
    if not records:
        fail(
            f"no usage record under {directory}: run the tests with the llmreel plugin (or "
            f"`llmreel serve`) first; they write <cassette>/.llmreel/last-run.json.",
            code=1,
        )
    deleted: list[str] = []
    kept = 0
    refused: list[str] = []
    for usage in records:
        if not usage.complete and not force:
            refused.append(str(usage.root))
            continue
        for name in sorted(usage.unused):
            target = usage.root / name
            if not target.is_file():
                continue
            deleted.append(str(target))
            if not dry_run:
                with contextlib.suppress(FileNotFoundError):
                    target.unlink()
        kept += len(usage.used)
    if as_json:
        doc = {"dry_run": dry_run, "deleted": deleted, "kept": kept, "refused": refused}
        sys.stdout.write(dumps(doc) + "\n")
    else:
        console = out()
        verb = "would delete" if dry_run else "deleted"
        for name in deleted:
            console.print(f"{verb} {escape(name)}")
        for skipped in refused:
            console.print(
                f"[yellow]skipped[/yellow] {escape(skipped)}: its last run did not cover every "
                f"test (use --force to prune anyway)"
            )
    verb = "would delete" if dry_run else "deleted"
    err().print(
        f"{verb} {len(deleted)} unused recording(s) in {len(records)} cassette(s); "
        f"{kept} used recording(s) kept"
    )
