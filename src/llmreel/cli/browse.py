"""``llmreel ls`` and ``llmreel show``: list recordings, and read one as a person would."""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from llmreel.cli.app import app
from llmreel.cli.locations import read_location
from llmreel.cli.output import JsonOpt, ProgressOpt, dumps, err, fail, human_size, out, progress_bar
from llmreel.engine.freshness import parse_duration
from llmreel.exceptions import ConfigError
from llmreel.formats.age import recorded_time
from llmreel.matching import Matcher
from llmreel.model.interaction import Interaction
from llmreel.tools.catalog import Loaded, find_files, load, load_many
from llmreel.tools.summary import Summary, prompt_text, summarize

__all__ = ["ls_command", "show_command"]


def _row(item: Loaded, inter: Interaction | None, index: int) -> dict[str, Any]:
    name = item.rel if index == 0 else f"{item.rel}#{index}"
    if inter is None:
        return {
            "file": name,
            "format": item.format,
            "size": item.size,
            "error": item.error,
            "endpoint": "",
            "model": "",
            "streamed": False,
            "events": 0,
            "status": None,
            "recorded": "",
            "test": None,
        }
    req, resp = inter.request, inter.response
    return {
        "file": name,
        "format": item.format,
        "method": req.method,
        "endpoint": req.path,
        "model": req.model,
        "streamed": resp.stream is not None,
        "events": len(resp.events),
        "status": resp.status,
        "size": item.size,
        "recorded": inter.recorded_at,
        "test": inter.test_id,
        "key": inter.key or None,
        "error": None,
    }


@app.command("ls")
def ls_command(
    directory: Annotated[
        Path,
        typer.Argument(
            help="Cassette or recordings directory, or s3://BUCKET/PREFIX.", parser=read_location
        ),
    ] = Path("."),
    endpoint: Annotated[
        str | None, typer.Option("--endpoint", "-e", help="Only paths containing this.")
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Only models containing this.")
    ] = None,
    grep: Annotated[
        str | None,
        typer.Option("--grep", "-g", help="Only requests whose prompt contains this (any case)."),
    ] = None,
    test: Annotated[
        str | None, typer.Option("--test", help="Only test ids containing this.")
    ] = None,
    older_than: Annotated[
        str | None,
        typer.Option(
            "--older-than",
            help="Only recordings older than this (90d, 12h, 2w); llama-stack and vcrpy "
            "files by the answer's 'created' time, else the file's date.",
        ),
    ] = None,
    as_json: JsonOpt = False,
    progress: ProgressOpt = False,
) -> None:
    """List recordings: endpoint, model, stream, events, size, date, test, file.

    Reads llmreel files, llama-stack recordings (both generations) and vcrpy cassettes.

    Example: [bold]llmreel ls tests/cassettes --endpoint chat --grep weather --json[/bold]
    """
    if not directory.exists():
        fail(f"{directory} does not exist; give a cassette directory (e.g. tests/cassettes).")
    try:
        max_age = parse_duration(older_than, source="--older-than") if older_than else None
    except ConfigError as exc:
        fail(str(exc))
    started = time.perf_counter()
    files = find_files([directory], include_yaml=True)
    rows: list[dict[str, Any]] = []
    unreadable = 0
    needle = grep.lower() if grep else None
    with progress_bar("reading", len(files), progress) as advance:
        for item in load_many(files):
            advance(1)
            if item.error is not None:
                unreadable += 1
                if endpoint or model or grep or test or max_age is not None:
                    continue
                rows.append(_row(item, None, 0))
                continue
            for i, inter in enumerate(item.interactions):
                req = inter.request
                if endpoint and endpoint not in req.path:
                    continue
                if model and model.lower() not in req.model.lower():
                    continue
                if test and test not in (inter.test_id or ""):
                    continue
                if needle and needle not in prompt_text(req.body).lower():
                    continue
                if max_age is not None:
                    when = recorded_time(inter)
                    if when is None or when.age() <= max_age:
                        continue
                rows.append(_row(item, inter, i))
    elapsed = time.perf_counter() - started
    if as_json:
        sys.stdout.write(dumps(rows) + "\n")
    else:
        table = Table(box=None, pad_edge=False, header_style="bold")
        for col in ("Endpoint", "Model", "Stream", "Events", "Size", "Recorded", "Test", "File"):
            table.add_column(
                col, overflow="fold", justify="right" if col in ("Events", "Size") else "left"
            )
        for r in rows:
            if r["error"]:
                table.add_row(
                    "[red]unreadable[/red]", "", "", "", human_size(r["size"]), "", "",
                    escape(r["file"]),
                )  # fmt: skip
                continue
            table.add_row(
                escape(f"{r['method']} {r['endpoint']}"),
                escape(r["model"] or "-"),
                "yes" if r["streamed"] else "no",
                str(r["events"]) if r["streamed"] else "-",
                human_size(r["size"]),
                escape((r["recorded"] or "-")[:19]),
                escape(r["test"] or "-"),
                escape(r["file"]),
            )
        out().print(table)
    note = f", {unreadable} unreadable (run `llmreel check`)" if unreadable else ""
    err().print(
        f"{len(rows)} recording(s) listed from {len(files)} file(s) in {elapsed:.2f}s{note}"
    )


def _find_by_key(key: str, directory: Path) -> list[tuple[Loaded, int]]:
    out: list[tuple[Loaded, int]] = []
    for item in load_many(find_files([directory], include_yaml=True)):
        if key in item.path.name:
            out.extend((item, i) for i in range(max(1, len(item.interactions))))
            continue
        for i, inter in enumerate(item.interactions):
            keys = {inter.key}
            with contextlib.suppress(Exception):
                keys.add(Matcher().key(inter.request))
            if any(k and k.startswith(key) for k in keys):
                out.append((item, i))
    return out


def _fmt_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def _print_summary(console: Console, s: Summary, inter: Interaction, title: str) -> None:
    console.print(f"[bold]{escape(title)}[/bold]")
    head = f"{s.method} {s.endpoint}   model {s.model or '-'}"
    head += f"   streamed ({s.event_count} events)" if s.streamed else "   not streamed"
    if inter.test_id:
        head += f"\ntest {inter.test_id}"
    if inter.recorded_at:
        head += f"   recorded {inter.recorded_at}"
    console.print(escape(head))
    console.print("\n[bold]Request[/bold]")
    for role, text in s.messages:
        console.print(f"  [cyan]\\[{escape(role)}][/cyan] {escape(text)}")
    if s.params:
        params = ", ".join(f"{k}={_fmt_value(v)}" for k, v in s.params.items())
        console.print(f"  [dim]params:[/dim] {escape(params)}")
    status = f"{s.status}" + ("" if s.complete else " (incomplete)")
    finish = f"   finish: {s.finish_reason}" if s.finish_reason else ""
    console.print(f"\n[bold]Response[/bold] {status}{escape(finish)}")
    if s.error:
        console.print(f"  [red]error:[/red] {escape(s.error)}")
    if s.reasoning:
        console.print(f"  [dim]reasoning:[/dim] {escape(s.reasoning)}")
    if s.text:
        console.print("  " + escape(s.text).replace("\n", "\n  "))
    for call in s.tool_calls:
        ident = f" id={call.id}" if call.id else ""
        console.print(
            f"  [magenta]tool call[/magenta] {escape(call.name)}({escape(call.arguments)}){ident}"
        )
    for line in s.extra:
        console.print(f"  {escape(line)}")
    if s.usage:
        usage = ", ".join(
            f"{k}={_fmt_value(v)}" for k, v in s.usage.items() if not isinstance(v, dict)
        )
        console.print(f"  [dim]usage:[/dim] {escape(usage)}")
    if s.streamed and s.event_count and not s.duration_s and not s.first_event_s:
        console.print("  [dim]timing:[/dim] not recorded (imported without arrival times)")
    elif s.streamed:
        rate = s.events_per_s
        timing = f"first event after {s.first_event_s:.3f}s" if s.first_event_s is not None else ""
        if s.duration_s is not None:
            timing += f", {s.event_count} events in {s.duration_s:.3f}s"
        if rate is not None:
            timing += f" ({rate:.1f} events/s)"
        elif s.duration_s == 0:
            timing += " (no timing recorded)"
        console.print(f"  [dim]timing:[/dim] {escape(timing)}")


@app.command("show")
def show_command(
    target: Annotated[str, typer.Argument(help="A recording file, or a key (prefix) to find.")],
    directory: Annotated[
        Path,
        typer.Option(
            "--dir", "-d", help="Where to look for a key (or s3://...).", parser=read_location
        ),
    ] = Path("."),
    raw: Annotated[bool, typer.Option("--raw", help="Print the file itself.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Show a recording as a person reads it.

    The request's messages and parameters, then the response with the streamed text put
    back together, tool calls, usage, finish reason, and the stream's timing.

    Example: [bold]llmreel show tests/cassettes/chat/chat-completions-3f2a9c1b0d4e-0.json[/bold]
    or [bold]llmreel show 3f2a9c1b --dir tests/cassettes[/bold]
    """
    path = Path(target)
    found: list[tuple[Loaded, int]]
    if path.is_file():
        item = load(path, path.parent)
        found = [(item, i) for i in range(max(1, len(item.interactions)))]
    else:
        if not directory.exists():
            fail(f"{target} is not a file and --dir {directory} does not exist.")
        found = _find_by_key(target, directory)
        if not found:
            fail(
                f"no file named {target} and no recording with a key starting with {target!r} "
                f"in {directory}; list them with `llmreel ls {directory}`."
            )
    if raw:
        seen: set[Path] = set()
        for item, _ in found:
            if item.path in seen:
                continue
            seen.add(item.path)
            sys.stdout.buffer.write(item.path.read_bytes())
            sys.stdout.flush()
        return
    console = out()
    docs: list[dict[str, Any]] = []
    bad = False
    for n, (item, i) in enumerate(found):
        if item.error is not None or i >= len(item.interactions):
            bad = True
            err().print(f"[red]{escape(str(item.path))}[/red]: {escape(item.error or 'empty')}")
            continue
        inter = item.interactions[i]
        s = summarize(inter)
        if as_json:
            docs.append({"file": str(item.path), "index": i, **s.as_dict()})
            continue
        if n:
            console.print()
        title = f"{item.path}" + (f" #{i}" if len(item.interactions) > 1 else "")
        _print_summary(console, s, inter, f"{title}  ({item.format})")
    if as_json:
        sys.stdout.write(dumps(docs) + "\n")
    if bad:
        raise typer.Exit(2)
