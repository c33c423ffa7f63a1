"""``llmreel verify`` and ``llmreel rerecord``: keep recordings true to the live provider.

``verify`` sends recorded requests to the upstream again and reports, per
recording, what drifted in the answers' structure (never their text); exit 0
when nothing drifted, 1 on drift, 2 on bad usage or when a recording could not
be checked. ``rerecord`` records chosen recordings again in place and says
what changed; exit 1 when one of them could not be re-recorded.
The work is in :mod:`llmreel.tools.verify` and :mod:`llmreel.tools.rerecord`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from llmreel.cli.app import app
from llmreel.cli.output import JsonOpt, dumps, err, fail, out
from llmreel.engine.freshness import format_duration, parse_duration
from llmreel.exceptions import ConfigError
from llmreel.tools.rerecord import Selection, rerecord, select
from llmreel.tools.resend import Sender
from llmreel.tools.verify import Checked, group_drifts, verify

__all__ = ["rerecord_command", "verify_command"]

_STYLE = {"clean": "green", "drift": "yellow", "error": "red", "skipped": "dim"}

UpstreamOpt = Annotated[
    str,
    typer.Option(
        "--upstream",
        "-u",
        envvar="LLMREEL_UPSTREAM",
        help="Base URL of the live provider (the recorded path is added), e.g. "
        "https://api.openai.com or http://127.0.0.1:8080.",
        show_default=False,
    ),
]
CredentialOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--credential",
        help="HEADER=VARIABLE: send HEADER with the value of $VARIABLE (repeatable). The usual "
        "ones (OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY...) are read without it.",
    ),
]
AllowSecretOpt = Annotated[
    list[str] | None,
    typer.Option("--allow-secret", help="A value the secret scanner should accept (repeatable)."),
]
AllowErrorsOpt = Annotated[
    bool,
    typer.Option(
        "--allow-errors",
        help="Write an error answer (4xx/5xx) over a recording that was not one; by default "
        "such an answer (a missing credential, a retired model) is reported, not written.",
    ),
]
TimeoutOpt = Annotated[
    float, typer.Option("--timeout", help="Seconds to wait for each answer.", min=0.1)
]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress line per recording on stderr.")
]


def _sender(upstream: str, credential: list[str] | None, timeout: float) -> Sender:
    pairs: dict[str, str] = {}
    for text in credential or ():
        header, sep, variable = text.partition("=")
        if not sep or not header.strip() or not variable.strip():
            fail(f"--credential {text!r}: write HEADER=VARIABLE, e.g. x-api-key=MY_KEY_VARIABLE.")
        pairs[header.strip().lower()] = variable.strip()
    try:
        return Sender(upstream, timeout=timeout, credentials=pairs)
    except ConfigError as exc:
        fail(str(exc))


def _progress(quiet: bool, verb: str) -> Callable[[int, int, Checked], None] | None:
    if quiet:
        return None

    def report(i: int, n: int, c: Checked) -> None:
        state = "written" if c.written else c.outcome
        sys.stderr.write(f"{verb} [{i}/{n}] {state:<7} {c.name}\n")
        sys.stderr.flush()

    return report


def _print_checked(c: Checked, *, show_text: bool) -> None:
    console = out()
    where = f"{c.method} {c.endpoint}  {c.model or '-'}" + ("  streamed" if c.streamed else "")
    state = "written" if c.written else c.outcome
    style = "green" if c.written else _STYLE[c.outcome]
    console.print(f"[{style}]{state:<7}[/{style}] {escape(c.name)}  [dim]{escape(where)}[/dim]")
    for d in c.drifts:
        console.print(f"         {escape(d.text)}")
    if show_text and c.written and not c.drifts:
        console.print("         structure unchanged")
    if show_text and c.text_changed is not None:
        console.print(f"         text {'changed' if c.text_changed else 'unchanged'}")
    if c.error:
        console.print(f"         [red]{escape(c.error)}[/red]")
    if c.not_written:
        console.print(f"         [red]not written:[/red] {escape(c.not_written)}")


def _notes(checked: list[Checked]) -> None:
    seen = list(dict.fromkeys(n for c in checked for n in c.notes))
    for note in seen:
        err().print(f"note: {escape(note)}")


def _check_dir(directory: Path) -> None:
    if not directory.exists():
        fail(f"{directory} does not exist; give a cassette or recordings directory.")


@app.command("verify")
def verify_command(
    directory: Annotated[
        Path, typer.Argument(help="Cassette or recordings directory (or one file).")
    ] = Path("."),
    upstream: UpstreamOpt = "",
    sample: Annotated[
        int | None,
        typer.Option(
            "--sample", help="Check N recordings at random, every endpoint/model first.", min=1
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Seed of --sample (printed when not given).")
    ] = None,
    update: Annotated[
        bool,
        typer.Option(
            "--update", help="Re-record the drifted llmreel recordings in place (the only write)."
        ),
    ] = False,
    allow_errors: AllowErrorsOpt = False,
    credential: CredentialOpt = None,
    allow_secret: AllowSecretOpt = None,
    timeout: TimeoutOpt = 120.0,
    quiet: QuietOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Send recorded requests to the live provider; report drift in the answers' structure.

    Compared: status class, content type, stream kind, stream event types, usage.

    And the fields, types, nullability and enum values of bodies and events; never the text.

    Credentials come from the environment, as when recording. Nothing is written unless --update.

    Exit 0: no drift; 1: drift; 2: bad usage, or a recording could not be checked.

    Example: [bold]llmreel verify tests/cassettes -u https://api.openai.com --sample 20[/bold]
    """
    _check_dir(directory)
    if not upstream:
        fail("--upstream URL is required: the live provider to compare with.")
    sender = _sender(upstream, credential, timeout)
    try:
        report = verify(
            [directory],
            sender,
            sample=sample,
            seed=seed,
            update=update,
            allow_errors=allow_errors,
            allow_secrets=tuple(allow_secret or ()),
            progress=_progress(quiet or as_json, "verify"),
        )
    finally:
        sender.close()
    groups = group_drifts(report.checked)
    summary = {k: report.count(k) for k in ("clean", "drift", "error", "skipped")}
    changed = sum(1 for c in report.checked if c.text_changed)
    if as_json:
        doc = {
            "upstream": sender.upstream,
            "recordings_found": report.total,
            "seed": report.seed,
            "summary": {**summary, "text_changed": changed},
            "drifts": [{"drift": text, "recordings": names} for text, names in groups],
            "recordings": [c.as_dict() for c in report.checked],
        }
        sys.stdout.write(dumps(doc) + "\n")
    else:
        for c in report.checked:
            if c.outcome != "clean":
                _print_checked(c, show_text=False)
        shared = [(t, names) for t, names in groups if len(names) > 1]
        if shared:
            out().print("\n[bold]The same drift in several recordings[/bold]")
            for text, names in shared:
                out().print(f"  {escape(text)}  [dim]({len(names)} recordings)[/dim]")
                out().print(f"    [dim]{escape(', '.join(names))}[/dim]")
        _notes(report.checked)
        sampled = f" (a sample, --seed {report.seed})" if report.seed is not None else ""
        written = sum(1 for c in report.checked if c.written)
        out().print(
            f"{len(report.checked)} of {report.total} recording(s) verified against "
            f"{escape(sender.upstream)}{sampled}: {summary['clean']} clean, {summary['drift']} "
            f"drifted, {summary['error']} not checked, {summary['skipped']} skipped; text "
            f"changed in {changed} (not drift)" + (f"; {written} re-recorded" if update else "")
        )
    if summary["error"]:
        raise typer.Exit(2)
    if summary["drift"]:
        raise typer.Exit(1)


@app.command("rerecord")
def rerecord_command(
    directory: Annotated[
        Path, typer.Argument(help="Cassette or recordings directory (or one file).")
    ] = Path("."),
    upstream: UpstreamOpt = "",
    stale: Annotated[
        str | None,
        typer.Option("--stale", help="Only recordings older than this: 90d, 12h, 2w..."),
    ] = None,
    test: Annotated[
        str | None, typer.Option("--test", help="Only recordings whose test id contains this.")
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Only models containing this (any case).")
    ] = None,
    everything: Annotated[
        bool, typer.Option("--all", help="Every recording (when no other filter is given).")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be re-recorded; send nothing.")
    ] = False,
    allow_errors: AllowErrorsOpt = False,
    credential: CredentialOpt = None,
    allow_secret: AllowSecretOpt = None,
    timeout: TimeoutOpt = 120.0,
    quiet: QuietOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Record chosen recordings again, in place; say what changed in the answers.

    Keeps each file's name and sequence position, writes atomically, with recording's rules.

    A refused write (a secret, an error answer) leaves the old file as it was.

    Filters combine (--stale 90d --model gpt-4o); llama-stack and vcrpy files are read-only.

    Exit 1 when a chosen recording could not be re-recorded.

    Example: [bold]llmreel rerecord tests/cassettes -u https://api.openai.com --stale 90d[/bold]
    """
    _check_dir(directory)
    try:
        age = parse_duration(stale, source="--stale") if stale is not None else None
    except ConfigError as exc:
        fail(str(exc))
    selection = Selection(stale=age, test=test, model=model, everything=everything)
    if selection.empty:
        fail("say what to re-record: --stale DURATION, --test TEXT, --model TEXT, or --all.")
    if not upstream and not dry_run:
        fail("--upstream URL is required: the live provider to record from.")
    chosen, looked_at, unreadable = select([directory], selection)
    sender = _sender(upstream or "http://127.0.0.1", credential, timeout)
    try:
        results = rerecord(
            chosen,
            sender,
            allow_errors=allow_errors,
            allow_secrets=tuple(allow_secret or ()),
            dry_run=dry_run,
            progress=_progress(quiet or as_json, "rerecord"),
        )
    finally:
        sender.close()
    written = sum(1 for r in results if r.written)
    failed = [r for r in results if not r.written and not dry_run]
    if as_json:
        doc = {
            "upstream": upstream or None,
            "recordings_found": looked_at,
            "chosen": len(chosen),
            "written": written,
            "stale": format_duration(age) if age is not None else None,
            "recordings": [r.as_dict() for r in results],
            "unreadable": [r.as_dict() for r in unreadable],
        }
        sys.stdout.write(dumps(doc) + "\n")
    else:
        for r in results:
            _print_checked(r, show_text=not dry_run)
        _notes(results)
        out().print(
            f"{len(chosen)} of {looked_at} recording(s) chosen; "
            + (
                "dry run, nothing sent"
                if dry_run
                else f"{written} re-recorded, {len(failed)} not"
                + f"; structure drifted in {sum(1 for r in results if r.drifts)}"
                + f", text changed in {sum(1 for r in results if r.text_changed)}"
            )
        )
    if failed:
        raise typer.Exit(1)
