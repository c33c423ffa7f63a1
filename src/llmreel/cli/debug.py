"""``llmreel diff``: what changed between two recordings, or a request and its closest one.

Also the request reading that ``llmreel key`` (:mod:`.key`) shares.
"""

from __future__ import annotations

import difflib
import sys
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlsplit

import orjson
import typer
from rich.markup import escape

from llmreel.cli.app import app
from llmreel.cli.locations import read_location
from llmreel.cli.output import fail, out
from llmreel.matching import Matcher, body_diff, canonical_json, format_similarity, similarity
from llmreel.model.interaction import Interaction, Request
from llmreel.tools.catalog import find_files, load, load_many
from llmreel.tools.summary import summarize

__all__ = ["MethodOpt", "PathOpt", "diff_command", "read_request"]


def _request_from(doc: Any, source: str, path_opt: str | None, method_opt: str | None) -> Request:
    if isinstance(doc, dict) and ("llmreel" in doc or ("request" in doc and "response" in doc)):
        item = load(Path(source), Path(source).parent)
        if item.error is not None or item.interaction is None:
            fail(f"{source}: {item.error}")
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
            fail(
                f"{source} holds a bare body: say where it goes with --path (e.g. --path "
                f'/v1/embeddings), or give {{"method", "path", "body"}}.'
            )
    return Request(method=(method_opt or "POST").upper(), url="", path=path, body=doc)


def read_request(source: str, path_opt: str | None, method_opt: str | None) -> Request:
    try:
        data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as exc:
        fail(f"cannot read {source}: {exc.strerror or exc}")
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        fail(f"{source} is not valid JSON: {exc}")
    return _request_from(doc, source, path_opt, method_opt)


PathOpt = Annotated[
    str | None, typer.Option("--path", help="Endpoint path for a bare body (e.g. /v1/embeddings).")
]
MethodOpt = Annotated[str | None, typer.Option("--method", help="Method for a bare body.")]


def _shown_body(request: Request) -> Any:
    """A JSON body as sent; a multipart form as its fields; other bytes by their digest."""
    if request.body is not None or not request.raw:
        return request.body
    parts = Matcher().key_parts(request)
    return parts.get("form", {"raw_sha256": parts.get("raw_sha256")})


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
        fail(f"{path}: {item.error or 'holds no interaction'}")
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
        score = similarity(_shown_body(inter.request), _shown_body(request))
        if best is None or score > best[0]:
            best = (score, path, inter)
    return best


@app.command("diff")
def diff_command(
    a: Annotated[Path, typer.Argument(help="A recording, or a request JSON with --dir.")],
    b: Annotated[Path | None, typer.Argument(help="The other recording.")] = None,
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir",
            "-d",
            help="Compare A (a request) with the closest recording here (or s3://...).",
            parser=read_location,
        ),
    ] = None,
    path_opt: PathOpt = None,
    method_opt: MethodOpt = None,
) -> None:
    """Diff two recordings, or a request against the closest recording.

    Prints the request body diff, then the response text diff. Exits 1 when they differ.

    Example: [bold]llmreel diff old.json new.json[/bold] or
    [bold]llmreel diff request.json --dir tests/cassettes/test_chat[/bold]
    """
    console = out()
    if b is not None:
        left, right = _load_one(a), _load_one(b)
        left_name, right_name = str(a), str(b)
        request = right.request
    elif directory is not None:
        request = read_request(str(a), path_opt, method_opt)
        found = _closest(request, directory)
        if found is None:
            fail(
                f"no recording in {directory} for {request.method.upper()} {request.path}; "
                f"list them with `llmreel ls {directory}`.",
                code=1,
            )
        score, path, left = found
        left_name, right_name = str(path), str(a)
        console.print(
            f"closest recording: {escape(left_name)} (similarity {format_similarity(score)})"
        )
        right = None
    else:
        fail(
            "give two recordings (diff A B) or a request and a directory (diff REQUEST --dir DIR)."
        )
    differs = False
    lreq = left.request
    if (lreq.method.upper(), lreq.path) != (request.method.upper(), request.path):
        differs = True
        here = f"{lreq.method.upper()} {lreq.path}"
        there = f"{request.method.upper()} {request.path}"
        console.print(escape(f"endpoint: {here} != {there}"))
    lbody, rbody = _shown_body(lreq), _shown_body(request)
    if canonical_json(lbody) != canonical_json(rbody):
        differs = True
        console.print("[bold]request body[/bold]")
        text = body_diff(lbody, rbody, limit=200)
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
