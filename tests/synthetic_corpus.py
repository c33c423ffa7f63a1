"""A synthetic stand-in for the full llama-stack corpora, built from the public conformance files.

The real corpora (about 3,300 files, 90 MB, both generations) are not in the
repository. This replicates each conformance file with a varied request body
(so every file has its own hash), names most files correctly and a share of
them with a stale name (the hash of another body, as after a hand edit), and
pads streams so the total size is realistic. Used by the CLI tests (small) and
as a benchmark (``python tests/synthetic_corpus.py DIR --files 3300``).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from llmreel.formats.llama_stack.naming import expected_name

HERE = Path(__file__).resolve().parent


def conformance_dir() -> Path | None:
    """The shared conformance data, if this checkout has it next to it (or via an env var)."""
    env = os.environ.get("LLMREEL_CONFORMANCE")
    candidates = [Path(env)] if env else []
    candidates += [
        HERE.parent.parent / "shared" / "conformance",
        HERE / "data" / "conformance",
    ]
    for c in candidates:
        if (c / "llama-stack").is_dir():
            return c
    return None


def templates(conf: Path) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for gen in ("v0.2", "2026"):
        for f in sorted((conf / "llama-stack" / gen).glob("*.json")):
            out.append((gen, json.loads(f.read_text())))
    return out


def _vary(doc: dict[str, Any], i: int) -> None:
    req = doc["request"]
    body = req.get("body") if "body" in req else req.get("payload")
    if not isinstance(body, dict):
        return
    msgs = body.get("messages")
    if isinstance(msgs, list) and msgs and isinstance(msgs[-1].get("content"), str):
        msgs[-1]["content"] += f" (variant {i})"
    elif isinstance(body.get("prompt"), str):
        body["prompt"] += f" (variant {i})"
    elif isinstance(body.get("input"), str):
        body["input"] += f" (variant {i})"
    elif (
        isinstance(body.get("input"), list) and body["input"] and isinstance(body["input"][0], str)
    ):
        body["input"][0] += f" (variant {i})"
    else:
        body["seed"] = i
    if "test_id" in doc and isinstance(doc["test_id"], str):
        doc["test_id"] = doc["test_id"] + f"[v{i}]"
        if "test_id" in req:
            req["test_id"] = doc["test_id"]


def _pad(doc: dict[str, Any], factor: int) -> None:
    resp = doc["response"]
    body = resp.get("body")
    if resp.get("is_streaming") and isinstance(body, list) and len(body) > 2 and factor > 1:
        middle = body[1:-1]
        resp["body"] = [body[0], *(middle * factor), body[-1]]


def _stale(name: str, i: int) -> str:
    stem = name.removesuffix(".json")
    prefix, suffix = "", ""
    if stem.startswith("models-"):
        _, stem, digest = stem.split("-")
        prefix, suffix = "models-", f"-{digest}"
    flipped = f"{int(stem, 16) ^ (i + 1):0{len(stem)}x}"
    return f"{prefix}{flipped}{suffix}.json"


def build(
    out: Path, files: int = 3300, *, stale_every: int = 7, pad: int = 4, broken: bool = True
) -> dict[str, Any]:
    """Write the corpus; returns counts (files, stale names, broken files, bytes)."""
    conf = conformance_dir()
    if conf is None:
        raise RuntimeError("conformance data not found; set LLMREEL_CONFORMANCE")
    tmpl = templates(conf)
    stale: list[str] = []
    total = 0
    suites = ["inference", "responses", "agents", "messages", "embeddings"]
    for i in range(files):
        gen, base = tmpl[i % len(tmpl)]
        doc = copy.deepcopy(base)
        _vary(doc, i)
        _pad(doc, 1 + (i % pad))
        name = expected_name(doc, "2026" if gen == "2026" else "v0.2")
        if i % stale_every == 3:
            # A stale name: the request was edited after it was recorded (the old hash stays).
            name = _stale(name, i)
        folder = (
            out / "v0.2" / "responses"
            if gen == "v0.2"
            else out / "2026" / suites[i % len(suites)] / "recordings"
        )
        folder.mkdir(parents=True, exist_ok=True)
        data = (json.dumps(doc, indent=2) + "\n").encode()
        target = folder / name
        if target.exists():
            continue
        target.write_bytes(data)
        total += len(data)
        if i % stale_every == 3:
            stale.append(str(target.relative_to(out)))
    bad: list[str] = []
    if broken:
        folder = out / "2026" / "broken" / "recordings"
        folder.mkdir(parents=True, exist_ok=True)
        samples = {
            "truncated.json": b'{"test_id": null, "request": {"method": "POST", "url": "http',
            "latin1.json": '{"request": {"body": "caf\xe9"}, "response": {}}'.encode("latin-1"),
            "empty.json": b"",
            "list.json": b"[1, 2, 3]",
            "wrong-types.json": b'{"request": {"method": 5, "url": 7, "body": "x"}, '
            b'"response": {"body": 3, "is_streaming": true}}',
            "future.json": b'{"llmreel": 99, "request": {}, "response": {}}',
        }
        for name, data in samples.items():
            (folder / name).write_bytes(data)
            bad.append(str((folder / name).relative_to(out)))
    return {"files": files, "stale": stale, "broken": bad, "bytes": total}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--files", type=int, default=3300)
    ap.add_argument("--pad", type=int, default=4)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    info = build(args.out, args.files, pad=args.pad)
    print(
        f"wrote {info['files']} files ({info['bytes'] / 1e6:.1f} MB, {len(info['stale'])} stale "
        f"names, {len(info['broken'])} broken) in {time.perf_counter() - t0:.1f}s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
