"""What every command shares: consoles for people, JSON for scripts, progress, errors.

Output is for people by default (rich tables and text on stdout) and for
scripts with ``--json``. Progress bars go to stderr, only on a terminal or with
``--progress``. A failure prints ``error: ...`` on stderr and exits 2 (bad
usage or unreadable input) unless the command says otherwise.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Annotated, Any, NoReturn

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

__all__ = [
    "JsonOpt",
    "ProgressOpt",
    "dumps",
    "err",
    "fail",
    "human_size",
    "out",
    "progress_bar",
]

ProgressOpt = Annotated[
    bool, typer.Option("--progress", help="Show a progress bar even when stderr is not a terminal.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]


def out() -> Console:
    # Not a terminal (a pipe, CI, a test): wide enough that tables are not cut to 80 columns.
    tty = sys.stdout.isatty()
    return Console(soft_wrap=not tty, width=None if tty else 100_000, highlight=False, emoji=False)


def err() -> Console:
    tty = sys.stderr.isatty()
    return Console(
        stderr=True, soft_wrap=not tty, width=None if tty else 100_000, highlight=False, emoji=False
    )


def fail(message: str, code: int = 2) -> NoReturn:
    err().print(f"[red]error:[/red] {escape(message)}")
    raise typer.Exit(code)


@contextlib.contextmanager
def progress_bar(label: str, total: int, show: bool) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr (terminal or ``--progress``); yields ``advance(n)``."""
    if not (show or sys.stderr.isatty()) or total <= 0:
        yield lambda n: None
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode()
