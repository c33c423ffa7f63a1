"""The ``llmreel`` command: one module per command group, all registered on one typer app.

:mod:`.serve` (``serve``), :mod:`.browse` (``ls``, ``show``), :mod:`.maintain`
(``check``, ``prune``), :mod:`.migrate` (``import``, ``export``) and
:mod:`.key` (``key``), :mod:`.debug` (``diff``), :mod:`.sync` (``sync push``,
``sync pull``), :mod:`.ui` (``ui``), :mod:`.verify` (``verify``, ``rerecord``);
:mod:`.output` and :mod:`.locations` are what they share. A new command goes into
the module of its group (or a new one imported here).
Exit codes: 0 fine, 1 the command found something wrong (``check`` problems,
``diff`` differences, ``verify`` drift), 2 bad usage or unreadable input.
"""

from llmreel.cli import browse, debug, key, maintain, migrate, serve, sync, ui, verify
from llmreel.cli.app import app

__all__ = ["app", "main"]

_COMMANDS = (
    browse,
    debug,
    key,
    maintain,
    migrate,
    serve,
    sync,
    ui,
    verify,
)  # imported for their registrations


def main() -> None:
    app()


if __name__ == "__main__":
    main()
