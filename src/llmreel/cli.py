"""The ``llmreel`` command: serve, and the tools to inspect and migrate recordings.

Subcommands live in their own modules and register themselves on :data:`app`:
``cli_serve`` (``serve``) and ``cli_tools`` (``ls``, ``show``, ``check``,
``prune``, ``import``, ``export``, ``diff``, ``key``).
"""

from __future__ import annotations

import importlib

import typer

__all__ = ["app", "main"]

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
        from llmreel import __version__

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


_COMMAND_MODULES = ("llmreel.cli_serve", "llmreel.cli_tools")


def _register() -> None:
    for name in _COMMAND_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise


def main() -> None:
    _register()
    app()


if __name__ == "__main__":
    main()
