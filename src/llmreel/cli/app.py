"""The ``llmreel`` command group that every subcommand module registers itself on."""

from __future__ import annotations

import typer

from llmreel._version import __version__

__all__ = ["app"]

app = typer.Typer(
    name="llmreel",
    help="Record real LLM API traffic once; replay it deterministically, offline, fast.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"llmreel {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version."
    ),
) -> None:
    # A callback keeps `llmreel` a command group even while only one subcommand is
    # registered (typer would otherwise run that subcommand without its name).
    pass
