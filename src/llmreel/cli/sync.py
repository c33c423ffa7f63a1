"""``llmreel sync push`` / ``sync pull``: move cassettes between a checkout and an object store."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from llmreel.cli.app import app
from llmreel.cli.output import JsonOpt, ProgressOpt, dumps, err, fail, out, progress_bar
from llmreel.exceptions import LlmreelError
from llmreel.store import is_remote
from llmreel.tools.sync import SyncResult, pull, push

__all__ = ["sync_app"]

sync_app = typer.Typer(
    help="Move cassettes between a local directory (a git checkout) and an object store.",
    no_args_is_help=True,
)
app.add_typer(sync_app, name="sync")

DeleteOpt = Annotated[
    bool, typer.Option("--delete", help="Also delete, on the other side, files this side lacks.")
]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", "-n", help="Only say what would change.")]


def _report(result: SyncResult, verb: str, where: str, started: float, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(
            dumps({**result.as_dict(), "seconds": round(time.perf_counter() - started, 3)}) + "\n"
        )
    else:
        console = out()
        would = "would " if result.dry_run else ""
        for name in result.copied:
            console.print(f"{would}{verb} {escape(name)}")
        for name in result.deleted:
            console.print(f"{would}delete {escape(name)}")
    err().print(
        f"{'would have ' if result.dry_run else ''}{verb} {len(result.copied)} file(s) "
        f"{'to' if verb == 'upload' else 'from'} {where}, {result.unchanged} unchanged"
        + (f", {len(result.deleted)} deleted" if result.deleted else "")
        + f" in {time.perf_counter() - started:.2f}s"
    )


def _url(value: str) -> str:
    if not is_remote(value):
        fail(f"{value!r} is not an object-store URL; give s3://BUCKET/PREFIX (or gs://, az://).")
    return value


@sync_app.command("push")
def push_command(
    directory: Annotated[Path, typer.Argument(help="Local cassette directory.")],
    url: Annotated[str, typer.Argument(help="s3://BUCKET/PREFIX (or gs://, az://).")],
    delete: DeleteOpt = False,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
    progress: ProgressOpt = False,
) -> None:
    """Upload the recordings that differ from the store's.

    Credentials come from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
    AWS_REGION, AWS_ENDPOINT_URL for S3-compatible stores, or AWS_PROFILE).

    Example: [bold]llmreel sync push tests/cassettes s3://team-recordings/app[/bold]
    """
    if not directory.is_dir():
        fail(f"{directory} is not a directory.")
    started = time.perf_counter()
    total = sum(1 for p in directory.rglob("*") if p.is_file())
    with progress_bar("pushing", total, progress) as advance:
        try:
            result = push(directory, _url(url), delete=delete, dry_run=dry_run, on_progress=advance)
        except LlmreelError as exc:
            fail(str(exc))
    _report(result, "upload", url, started, as_json)


@sync_app.command("pull")
def pull_command(
    url: Annotated[str, typer.Argument(help="s3://BUCKET/PREFIX (or gs://, az://).")],
    directory: Annotated[Path, typer.Argument(help="Local cassette directory.")],
    delete: DeleteOpt = False,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
    progress: ProgressOpt = False,
) -> None:
    """Download the store's recordings that differ from the local ones (e.g. for review in git).

    Example: [bold]llmreel sync pull s3://team-recordings/app tests/cassettes[/bold]
    """
    started = time.perf_counter()
    with progress_bar("pulling", 0, progress) as advance:
        try:
            result = pull(_url(url), directory, delete=delete, dry_run=dry_run, on_progress=advance)
        except LlmreelError as exc:
            fail(str(exc))
    _report(result, "download", url, started, as_json)
