"""``llmreel key``: the key of a request, and which normalizers and canonical rules made it."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.markup import escape

from llmreel.cli.app import app
from llmreel.cli.debug import MethodOpt, PathOpt, read_request
from llmreel.cli.locations import read_location
from llmreel.cli.output import JsonOpt, dumps, fail, out
from llmreel.exceptions import ConfigError
from llmreel.matching import RULES, Matcher, canonical_json, parse_normalizer
from llmreel.matching.diagnosis import bounded
from llmreel.model.interaction import Request
from llmreel.providers.endpoints import endpoint_for
from llmreel.tools.catalog import find_files, load_many

__all__ = ["key_command"]


def _key_help() -> str:
    rules = "\n\n".join(f"[bold]{r.name}[/bold] ({r.id}): {r.merges}." for r in RULES)
    return (
        "Print the key of a request, and which normalizers and canonical rules changed it "
        "(to debug a miss).\n\n"
        "The canonical rules are on by default; each one only merges forms the provider "
        "treats as the same request. Switch one off with --canonical-off NAME (or 'all' "
        "to key bodies as sent):\n\n"
        f"{rules}\n\n"
        "Example: [bold]llmreel key request.json -N ignore:metadata.request_id "
        "--canonical-off tool-call-ids[/bold]"
    )


@app.command("key", help=_key_help())
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
    canonical_off: Annotated[
        list[str] | None,
        typer.Option(
            "--canonical-off",
            help="A canonical rule to switch off (repeatable), or 'all' to key the body as sent.",
        ),
    ] = None,
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir",
            "-d",
            help="Also list the recordings with this key (a directory or s3://...).",
            parser=read_location,
        ),
    ] = None,
    path_opt: PathOpt = None,
    method_opt: MethodOpt = None,
    as_json: JsonOpt = False,
) -> None:
    request = read_request(request_file, path_opt, method_opt)
    try:
        normalizers = [parse_normalizer(n) for n in normalize or ()]
        matcher = Matcher(normalizers, canonical_off=canonical_off or ())
    except ConfigError as exc:
        fail(str(exc))
    key = matcher.key(request)
    applied: list[dict[str, Any]] = []
    body = request.body
    for n in normalizers:
        after = n(body)
        applied.append(
            {"normalizer": n.spec, "changed": canonical_json(after) != canonical_json(body)}
        )
        body = after
    endpoint = endpoint_for(request.method, request.path)
    rules = _rule_effects(matcher, request, body)
    matches: list[str] = []
    if directory is not None:
        for item in load_many(find_files([directory])):
            for inter in item.interactions:
                with contextlib.suppress(Exception):
                    if matcher.key(inter.request) == key:
                        matches.append(str(item.path))
    doc = {
        "key": key,
        "method": request.method.upper(),
        "path": request.path,
        "endpoint": endpoint.name if endpoint is not None else None,
        "normalizers": applied,
        "rules": rules,
        "key_parts": orjson.loads(canonical_json(matcher.key_parts(request))),
        "recordings": matches,
    }
    if as_json:
        sys.stdout.write(dumps(doc) + "\n")
        return
    _print_key(doc, request, directory, matches)


def _rule_effects(matcher: Matcher, request: Request, body: Any) -> list[dict[str, Any]]:
    """Each canonical rule: off, changed the keyed form, or had no effect on this request."""
    effects: dict[str, bool] = {}
    if request.body is not None:
        endpoint = endpoint_for(request.method, request.path)
        before = canonical_json(body)
        for rule, after in matcher.rules.steps(body, endpoint):
            now = canonical_json(after)
            effects[rule.name] = now != before
            before = now
    elif request.raw:
        effects["multipart-form"] = matcher.form(request) is not None
    return [
        {
            "rule": r.id,
            "state": "off"
            if r.name in matcher.rules.off
            else ("changed" if effects.get(r.name) else "no effect"),
        }
        for r in RULES
    ]


def _print_key(
    doc: dict[str, Any], request: Request, directory: Path | None, matches: list[str]
) -> None:
    console = out()
    console.print(f"key {doc['key']}")
    endpoint = doc["endpoint"] or "not one the canonical rules know"
    console.print(
        escape(
            f"{request.method.upper()} {request.path}  (model {request.model or '-'}, "
            f"endpoint {endpoint})"
        )
    )
    if doc["normalizers"]:
        for a in doc["normalizers"]:
            state = "changed the body" if a["changed"] else "[yellow]had no effect[/yellow]"
            console.print(f"  normalizer {escape(a['normalizer'])}: {state}")
    else:
        console.print("  no normalizers")
    for r in doc["rules"]:
        state = {"changed": "changed the keyed form", "off": "[yellow]off[/yellow]"}.get(
            r["state"], "[dim]no effect[/dim]"
        )
        console.print(f"  rule {escape(r['rule'])}: {state}")
    keyed = canonical_json(bounded(doc["key_parts"])).decode()
    console.print("[dim]keyed form:[/dim] " + escape(keyed[:2000]))
    if directory is not None:
        if matches:
            for m in matches:
                console.print(f"  recorded in {escape(m)}")
        else:
            console.print(
                f"  [yellow]no recording in {escape(str(directory))} has this key[/yellow]"
            )
