"""The ``llmreel`` tools to inspect, check and migrate recordings: ls, show, check, prune,
import, export, diff, key.

Each command registers itself on :data:`llmreel.cli.app`. Output is for people
by default (rich tables and text on stdout) and for scripts with ``--json``.
Progress bars go to stderr, only on a terminal or with ``--progress``, and long
commands end with a one-line summary on stderr. Exit codes: 0 fine, 1 the
command found something wrong (``check`` problems, ``diff`` differences),
2 bad usage or unreadable input.
"""

from __future__ import annotations

import contextlib
import difflib
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, NoReturn
from urllib.parse import parse_qsl, urlsplit

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from llmreel.audit import check_files
from llmreel.catalog import Loaded, find_files, load, load_many
from llmreel.cli import app
from llmreel.exceptions import ConfigError, LlmreelError
from llmreel.formats.llama_stack_hash import Generation
from llmreel.inspect import Summary, prompt_text, summarize
from llmreel.interaction import Interaction, Request
from llmreel.matching import Matcher, body_diff, canonical_json, parse_normalizer, similarity
from llmreel.migrate import export_recordings, import_recordings
from llmreel.usage import find_usage

__all__ = ["app"]

_FORMATS: dict[str, Generation] = {"llama-stack-2026": "2026", "llama-stack-v0.2": "v0.2"}

ProgressOpt = Annotated[
    bool, typer.Option("--progress", help="Show a progress bar even when stderr is not a terminal.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]


# --------------------------------------------------------------------------- helpers


def _out() -> Console:
    # Not a terminal (a pipe, CI, a test): wide enough that tables are not cut to 80 columns.
    tty = sys.stdout.isatty()
    return Console(soft_wrap=not tty, width=None if tty else 100_000, highlight=False, emoji=False)


def _err() -> Console:
    tty = sys.stderr.isatty()
    return Console(
        stderr=True, soft_wrap=not tty, width=None if tty else 100_000, highlight=False, emoji=False
    )


def _fail(message: str, code: int = 2) -> NoReturn:
    _err().print(f"[red]error:[/red] {escape(message)}")
    raise typer.Exit(code)


@contextlib.contextmanager
def _progress(label: str, total: int, show: bool) -> Iterator[Callable[[int], None]]:
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


def _human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode()


def _guard(fn: Callable[[], None]) -> None:
    try:
        fn()
    except LlmreelError as exc:
        _fail(str(exc))


# --------------------------------------------------------------------------- ls


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
    directory: Annotated[Path, typer.Argument(help="Cassette or recordings directory.")] = Path(
        "."
    ),
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
    as_json: JsonOpt = False,
    progress: ProgressOpt = False,
) -> None:
    """List recordings: endpoint, model, stream, events, size, date, test, file.

    Reads llmreel files, llama-stack recordings (both generations) and vcrpy cassettes.

    Example: [bold]llmreel ls tests/cassettes --endpoint chat --grep weather --json[/bold]
    """
    if not directory.exists():
        _fail(f"{directory} does not exist; give a cassette directory (e.g. tests/cassettes).")
    started = time.perf_counter()
    files = find_files([directory], include_yaml=True)
    rows: list[dict[str, Any]] = []
    unreadable = 0
    needle = grep.lower() if grep else None
    with _progress("reading", len(files), progress) as advance:
        for item in load_many(files):
            advance(1)
            if item.error is not None:
                unreadable += 1
                if endpoint or model or grep or test:
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
                rows.append(_row(item, inter, i))
    elapsed = time.perf_counter() - started
    if as_json:
        sys.stdout.write(_dumps(rows) + "\n")
    else:
        table = Table(box=None, pad_edge=False, header_style="bold")
        for col in ("Endpoint", "Model", "Stream", "Events", "Size", "Recorded", "Test", "File"):
            table.add_column(
                col, overflow="fold", justify="right" if col in ("Events", "Size") else "left"
            )
        for r in rows:
            if r["error"]:
                table.add_row(
                    "[red]unreadable[/red]", "", "", "", _human_size(r["size"]), "", "",
                    escape(r["file"]),
                )  # fmt: skip
                continue
            table.add_row(
                escape(f"{r['method']} {r['endpoint']}"),
                escape(r["model"] or "-"),
                "yes" if r["streamed"] else "no",
                str(r["events"]) if r["streamed"] else "-",
                _human_size(r["size"]),
                escape((r["recorded"] or "-")[:19]),
                escape(r["test"] or "-"),
                escape(r["file"]),
            )
        _out().print(table)
    note = f", {unreadable} unreadable (run `llmreel check`)" if unreadable else ""
    _err().print(
        f"{len(rows)} recording(s) listed from {len(files)} file(s) in {elapsed:.2f}s{note}"
    )


# --------------------------------------------------------------------------- show


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
    directory: Annotated[Path, typer.Option("--dir", "-d", help="Where to look for a key.")] = Path(
        "."
    ),
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
            _fail(f"{target} is not a file and --dir {directory} does not exist.")
        found = _find_by_key(target, directory)
        if not found:
            _fail(
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
    console = _out()
    docs: list[dict[str, Any]] = []
    bad = False
    for n, (item, i) in enumerate(found):
        if item.error is not None or i >= len(item.interactions):
            bad = True
            _err().print(f"[red]{escape(str(item.path))}[/red]: {escape(item.error or 'empty')}")
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
        sys.stdout.write(_dumps(docs) + "\n")
    if bad:
        raise typer.Exit(2)


# --------------------------------------------------------------------------- check


@app.command("check")
def check_command(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Directories or files (default: the current one).")
    ] = None,
    allow_secret: Annotated[
        list[str] | None,
        typer.Option("--allow-secret", help="A value that looks like a secret but is not."),
    ] = None,
    as_json: JsonOpt = False,
    progress: ProgressOpt = False,
) -> None:
    """Validate recordings; exit 1 when anything is wrong (for CI and pre-commit).

    Each file parses, its format version is known, its key (llmreel) or name (llama-stack)
    matches its request, no two files claim one key and position, and no secrets are in
    headers or bodies.

    Example: [bold]llmreel check tests/cassettes tests/integration/recordings[/bold]
    """
    targets = paths or [Path(".")]
    for p in targets:
        if not p.exists():
            _fail(f"{p} does not exist.")
    started = time.perf_counter()
    files = find_files(targets)
    with _progress("checking", len(files), progress) as advance:
        report = check_files(files, allow_secrets=allow_secret or (), on_progress=advance)
    elapsed = time.perf_counter() - started
    if as_json:
        sys.stdout.write(_dumps({**report.as_dict(), "seconds": round(elapsed, 3)}) + "\n")
    else:
        console = _out()
        for problem in report.problems:
            console.print(
                f"[red]{escape(problem.kind)}[/red] {escape(problem.file)}: "
                f"{escape(problem.message)}"
            )
        for note in report.notes:
            console.print(f"[dim]note[/dim] {escape(note.file)}: {escape(note.message)}")
    formats = ", ".join(f"{v} {k}" for k, v in sorted(report.by_format.items()))
    if report.ok:
        _err().print(f"ok: {report.files} file(s) checked ({formats}) in {elapsed:.2f}s")
    else:
        counts = ", ".join(f"{v} {k}" for k, v in sorted(report.counts().items()))
        _err().print(
            f"{report.bad_files} of {report.files} file(s) have problems ({counts}); "
            f"checked ({formats}) in {elapsed:.2f}s"
        )
        raise typer.Exit(1)


# --------------------------------------------------------------------------- prune


@app.command("prune")
def prune_command(
    directory: Annotated[Path, typer.Argument(help="Cassette directory (searched below).")] = Path(
        "."
    ),
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
    if not directory.exists():
        _fail(f"{directory} does not exist.")
    records = find_usage(directory)
    if not records:
        _fail(
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
        sys.stdout.write(_dumps(doc) + "\n")
    else:
        console = _out()
        verb = "would delete" if dry_run else "deleted"
        for name in deleted:
            console.print(f"{verb} {escape(name)}")
        for root in refused:
            console.print(
                f"[yellow]skipped[/yellow] {escape(root)}: its last run did not cover every "
                f"test (use --force to prune anyway)"
            )
    verb = "would delete" if dry_run else "deleted"
    _err().print(
        f"{verb} {len(deleted)} unused recording(s) in {len(records)} cassette(s); "
        f"{kept} used recording(s) kept"
    )


# --------------------------------------------------------------------------- import / export


@app.command("import")
def import_command(
    src: Annotated[
        Path, typer.Argument(help="llama-stack recordings, vcrpy cassettes, or a file of them.")
    ],
    to: Annotated[Path, typer.Option("--to", help="Destination cassette directory.")] = Path(
        "cassettes"
    ),
    progress: ProgressOpt = False,
) -> None:
    """Convert llama-stack recordings and vcrpy cassettes into llmreel's format.

    llama-stack directories of either generation (recursively) and vcrpy / pytest-recording
    cassettes (YAML or JSON); SSE and NDJSON bodies are split back into events; the
    source's directory layout is kept (a cassette file becomes a cassette directory).

    Example: [bold]llmreel import tests/integration/recordings --to tests/cassettes[/bold]
    """
    if not src.exists():
        _fail(f"{src} does not exist.")
    started = time.perf_counter()
    total = len(find_files([src], include_yaml=True))
    with _progress("importing", total, progress) as advance:
        try:
            result = import_recordings(src, to, on_progress=advance)
        except LlmreelError as exc:
            _fail(str(exc))
    console = _out()
    for name, reason in result.skipped:
        console.print(f"[yellow]skipped[/yellow] {escape(name)}: {escape(reason)}")
    formats = ", ".join(f"{v} {k}" for k, v in sorted(result.formats.items()))
    _err().print(
        f"imported {result.interactions} interaction(s) from {result.files} file(s) "
        f"({formats or 'none'}) into {to} in {time.perf_counter() - started:.2f}s"
        + (f"; {len(result.skipped)} skipped" if result.skipped else "")
    )
    if result.skipped and not result.interactions:
        raise typer.Exit(1)


@app.command("export")
def export_command(
    src: Annotated[Path, typer.Argument(help="A cassette directory (any readable format).")],
    to: Annotated[Path, typer.Option("--to", help="Destination directory.")],
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
        _fail(f"unknown format {fmt!r}; use one of: {', '.join(_FORMATS)}.")
    if not src.exists():
        _fail(f"{src} does not exist.")
    started = time.perf_counter()
    total = len(find_files([src], include_yaml=True))
    with _progress("exporting", total, progress) as advance:
        try:
            result, skipped = export_recordings(
                src, to, generation, sqlite=sqlite, on_progress=advance
            )
        except LlmreelError as exc:
            _fail(str(exc))
    console = _out()
    for name, reason in skipped:
        console.print(f"[yellow]skipped[/yellow] {escape(name)}: {escape(reason)}")
    for line in result.collisions:
        console.print(f"[yellow]not written[/yellow] {escape(line)}")
    _err().print(
        f"exported {len(result.written)} recording(s) to {to} ({fmt}) in "
        f"{time.perf_counter() - started:.2f}s"
        + (f"; {len(skipped)} unreadable" if skipped else "")
        + (f"; {len(result.collisions)} duplicate name(s) not written" if result.collisions else "")
    )


# --------------------------------------------------------------------------- requests


def _request_from(doc: Any, source: str, path_opt: str | None, method_opt: str | None) -> Request:
    if isinstance(doc, dict) and ("llmreel" in doc or ("request" in doc and "response" in doc)):
        item = load(Path(source), Path(source).parent)
        if item.error is not None or item.interaction is None:
            _fail(f"{source}: {item.error}")
        return item.interaction.request
    if isinstance(doc, dict) and "method" in doc and ("path" in doc or "url" in doc):
        url = str(doc.get("url") or "")
        parts = urlsplit(url)
        path = str(doc.get("path") or parts.path or "/")
        query = doc.get("query")
        pairs = (
            [(str(k), str(v)) for k, v in query]
            if isinstance(query, list)
            else parse_qsl(parts.query)
        )
        return Request(
            method=str(doc["method"]).upper(), url=url, path=path, query=pairs, body=doc.get("body")
        )
    path = path_opt or ""
    if not path:
        if isinstance(doc, dict) and "messages" in doc:
            path = "/v1/chat/completions"
        else:
            _fail(
                f"{source} holds a bare body: say where it goes with --path (e.g. --path "
                f'/v1/embeddings), or give {{"method", "path", "body"}}.'
            )
    return Request(method=(method_opt or "POST").upper(), url="", path=path, body=doc)


def _read_request(source: str, path_opt: str | None, method_opt: str | None) -> Request:
    try:
        data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as exc:
        _fail(f"cannot read {source}: {exc.strerror or exc}")
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        _fail(f"{source} is not valid JSON: {exc}")
    return _request_from(doc, source, path_opt, method_opt)


PathOpt = Annotated[
    str | None, typer.Option("--path", help="Endpoint path for a bare body (e.g. /v1/embeddings).")
]
MethodOpt = Annotated[str | None, typer.Option("--method", help="Method for a bare body.")]


@app.command("key")
def key_command(
    request_file: Annotated[
        str,
        typer.Argument(
            help="Request JSON: {method, path|url, body}, a bare body or a recording; - = stdin."
        ),
    ],
    normalize: Annotated[
        list[str] | None,
        typer.Option(
            "--normalize", "-N", help="A normalizer: ignore:PATH, drop:FIELD, round:N, redact:PATH."
        ),
    ] = None,
    directory: Annotated[
        Path | None, typer.Option("--dir", "-d", help="Also list the recordings with this key.")
    ] = None,
    path_opt: PathOpt = None,
    method_opt: MethodOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Print the key of a request and which normalizers changed it (to debug a miss).

    Example: [bold]llmreel key request.json -N ignore:metadata.request_id -N round:3[/bold]
    """
    request = _read_request(request_file, path_opt, method_opt)
    try:
        normalizers = [parse_normalizer(n) for n in normalize or ()]
    except ConfigError as exc:
        _fail(str(exc))
    matcher = Matcher(normalizers)
    key = matcher.key(request)
    applied: list[dict[str, Any]] = []
    body = request.body
    for n in normalizers:
        after = n(body)
        applied.append(
            {"normalizer": n.spec, "changed": canonical_json(after) != canonical_json(body)}
        )
        body = after
    matches: list[str] = []
    if directory is not None:
        for item in load_many(find_files([directory])):
            for inter in item.interactions:
                with contextlib.suppress(Exception):
                    if Matcher(normalizers).key(inter.request) == key:
                        matches.append(str(item.path))
    doc = {
        "key": key,
        "method": request.method.upper(),
        "path": request.path,
        "normalizers": applied,
        "key_parts": orjson.loads(canonical_json(matcher.key_parts(request))),
        "recordings": matches,
    }
    if as_json:
        sys.stdout.write(_dumps(doc) + "\n")
        return
    console = _out()
    console.print(f"key {key}")
    console.print(
        escape(f"{request.method.upper()} {request.path}  (model {request.model or '-'})")
    )
    if applied:
        for a in applied:
            state = "changed the body" if a["changed"] else "[yellow]had no effect[/yellow]"
            console.print(f"  normalizer {escape(a['normalizer'])}: {state}")
    else:
        console.print("  no normalizers (the body is keyed as sent)")
    console.print(
        "[dim]keyed JSON:[/dim] " + escape(canonical_json(doc["key_parts"]).decode()[:2000])
    )
    if directory is not None:
        if matches:
            for m in matches:
                console.print(f"  recorded in {escape(m)}")
        else:
            console.print(
                f"  [yellow]no recording in {escape(str(directory))} has this key[/yellow]"
            )


# --------------------------------------------------------------------------- diff


def _answer_lines(inter: Interaction) -> list[str]:
    s = summarize(inter)
    lines = [f"status {s.status}" + (f"  finish {s.finish_reason}" if s.finish_reason else "")]
    lines += s.text.splitlines() or [""]
    lines += [f"tool call {c.name}({c.arguments})" for c in s.tool_calls]
    if s.error:
        lines.append(f"error {s.error}")
    return lines


def _load_one(path: Path) -> Interaction:
    item = load(path, path.parent)
    if item.error is not None or item.interaction is None:
        _fail(f"{path}: {item.error or 'holds no interaction'}")
    return item.interaction


def _closest(request: Request, directory: Path) -> tuple[float, Path, Interaction] | None:
    best: tuple[float, Path, Interaction] | None = None
    model = request.model
    pool: list[tuple[Path, Interaction]] = []
    for item in load_many(find_files([directory], include_yaml=True)):
        for inter in item.interactions:
            r = inter.request
            if r.path == request.path and r.method.upper() == request.method.upper():
                pool.append((item.path, inter))
    same_model = [(p, i) for p, i in pool if model and i.request.model == model]
    for path, inter in same_model or pool:
        score = similarity(inter.request.body, request.body)
        if best is None or score > best[0]:
            best = (score, path, inter)
    return best


@app.command("diff")
def diff_command(
    a: Annotated[Path, typer.Argument(help="A recording, or a request JSON with --dir.")],
    b: Annotated[Path | None, typer.Argument(help="The other recording.")] = None,
    directory: Annotated[
        Path | None,
        typer.Option("--dir", "-d", help="Compare A (a request) with the closest recording here."),
    ] = None,
    path_opt: PathOpt = None,
    method_opt: MethodOpt = None,
) -> None:
    """Diff two recordings, or a request against the closest recording.

    Prints the request body diff, then the response text diff. Exits 1 when they differ.

    Example: [bold]llmreel diff old.json new.json[/bold] or
    [bold]llmreel diff request.json --dir tests/cassettes/test_chat[/bold]
    """
    console = _out()
    if b is not None:
        left, right = _load_one(a), _load_one(b)
        left_name, right_name = str(a), str(b)
        request = right.request
    elif directory is not None:
        request = _read_request(str(a), path_opt, method_opt)
        found = _closest(request, directory)
        if found is None:
            _fail(
                f"no recording in {directory} for {request.method.upper()} {request.path}; "
                f"list them with `llmreel ls {directory}`.",
                code=1,
            )
        score, path, left = found
        left_name, right_name = str(path), str(a)
        console.print(f"closest recording: {escape(left_name)} (similarity {score:.1%})")
        right = None
    else:
        _fail(
            "give two recordings (diff A B) or a request and a directory (diff REQUEST --dir DIR)."
        )
    differs = False
    lreq = left.request
    if (lreq.method.upper(), lreq.path) != (request.method.upper(), request.path):
        differs = True
        here = f"{lreq.method.upper()} {lreq.path}"
        there = f"{request.method.upper()} {request.path}"
        console.print(escape(f"endpoint: {here} != {there}"))
    if canonical_json(lreq.body) != canonical_json(request.body):
        differs = True
        console.print("[bold]request body[/bold]")
        text = body_diff(lreq.body, request.body, limit=200)
        text = text.replace("--- recorded", f"--- {left_name}", 1).replace(
            "+++ this request", f"+++ {right_name}", 1
        )
        console.print(escape(text))
    else:
        console.print("request bodies are identical")
    if right is not None:
        ltext, rtext = _answer_lines(left), _answer_lines(right)
        if ltext != rtext:
            differs = True
            console.print("[bold]response text[/bold]")
            for line in difflib.unified_diff(ltext, rtext, left_name, right_name, lineterm=""):
                console.print(escape(line))
        else:
            console.print("response texts are identical")
    raise typer.Exit(1 if differs else 0)
