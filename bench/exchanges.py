"""The exchanges every benchmark replays, and the same exchanges in each peer's format.

- ``seed``: the seed recording (a 46-chunk chat completion stream, 47 SSE events with
  ``[DONE]``), read with llmreel's llama-stack reader;
- ``chat``: the same answer as one non-streamed ``chat.completion`` JSON body;
- ``stream1000``: a synthetic 1,000-event stream in the seed's chunk shape.

Each exchange is served by the floor server (:mod:`bench.floor_server`) and recorded
*through* each tool from that one server with the real openai SDK, so llmreel's file
and vcrpy's cassette hold the same wire exchange (same headers from uvicorn, same bytes).
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from bench.common import PEERS, REPO
from llmreel.formats import load_file
from llmreel.matching import Matcher
from llmreel.model.interaction import Event, Interaction, Request, Response

# vcrpy matches on method + URL by default, so every POST to one endpoint would be "the same"
# request. LLM tests have to add the body (pytest-recording users set it in vcr_config); we do
# the same so both tools answer the same question: is this exact request recorded?
VCR_MATCH_ON = ("method", "scheme", "host", "port", "path", "query", "body")
REPLAY_BASE = "http://127.0.0.1:11434/v1"  # where replaying clients point (nothing listens)


def locate_seed() -> Path:
    """The seed recording: the copy shipped in the package, else ``../shared/seed``."""
    candidates: list[Path] = []
    with contextlib.suppress(ImportError):
        import importlib.resources as res

        base = res.files("llmreel") / "demo_data" / "seed"
        candidates.append(Path(str(base)))
    candidates += [REPO.parent / "shared" / "seed", REPO / "examples" / "seed"]
    for folder in candidates:
        if folder.is_dir():
            files = sorted(
                p for p in folder.iterdir() if p.suffix in (".json", ".txt") and p.is_file()
            )
            for f in files:
                with contextlib.suppress(Exception):
                    inter = load_file(f)
                    if inter.response.stream == "sse":
                        return f
    raise SystemExit(
        "bench: cannot find the seed recording (looked in llmreel/demo_data/seed, "
        "../shared/seed and examples/seed); put the seed exchange in one of them."
    )


@dataclass
class Exchange:
    name: str
    interaction: Interaction
    call: dict[str, Any]  # keyword arguments of client.chat.completions.create

    @property
    def streamed(self) -> bool:
        return self.interaction.response.stream is not None

    def chunks(self) -> list[bytes]:
        return self.interaction.response.wire_chunks()

    def body_bytes(self) -> bytes:
        return b"".join(self.chunks())

    def headers(self) -> list[tuple[str, str]]:
        return self.interaction.response.replay_headers()


def _request(body: dict[str, Any]) -> Request:
    return Request(
        method="POST",
        url=REPLAY_BASE + "/chat/completions",
        path="/v1/chat/completions",
        headers={"content-type": "application/json"},
        body=body,
    )


def _chunk_docs(seed: Interaction) -> list[dict[str, Any]]:
    return [orjson.loads(e.data) for e in seed.response.events if e.data and e.data[0] == "{"]


def seed_exchange() -> Exchange:
    inter = load_file(locate_seed())
    body = inter.request.body
    call = {"model": body["model"], "messages": body["messages"], "stream": True}
    req = _request(dict(call))
    resp = Response(
        status=200,
        headers={"content-type": "text/event-stream"},
        stream="sse",
        events=[Event(t=e.t, data=e.data) for e in inter.response.events],
    )
    return Exchange("seed", Interaction(req, resp, key=Matcher().key(req)), call)


def chat_exchange(seed: Exchange) -> Exchange:
    chunks = _chunk_docs(seed.interaction)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    first = chunks[0]
    body = {
        "id": first["id"],
        "object": "chat.completion",
        "created": first["created"],
        "model": first["model"],
        "system_fingerprint": first.get("system_fingerprint"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 34, "completion_tokens": len(chunks), "total_tokens": 34 + 46},
    }
    call = {"model": seed.call["model"], "messages": seed.call["messages"]}
    req = _request(dict(call))
    resp = Response(status=200, headers={"content-type": "application/json"}, body=body)
    return Exchange("chat", Interaction(req, resp, key=Matcher().key(req)), call)


def long_stream_exchange(seed: Exchange, events: int = 1000) -> Exchange:
    template = _chunk_docs(seed.interaction)[0]
    evs: list[Event] = []
    for i in range(events - 2):
        doc = copy.deepcopy(template)
        doc["choices"][0]["delta"]["content"] = f" {i + 1}"
        evs.append(Event(t=i * 0.01, data=orjson.dumps(doc).decode()))
    last = copy.deepcopy(template)
    last["choices"][0]["delta"]["content"] = ""
    last["choices"][0]["finish_reason"] = "stop"
    evs.append(Event(t=(events - 2) * 0.01, data=orjson.dumps(last).decode()))
    evs.append(Event(t=(events - 1) * 0.01, data="[DONE]"))
    call = {
        "model": seed.call["model"],
        "messages": [{"role": "user", "content": f"Count from 1 to {events - 2}."}],
        "stream": True,
    }
    req = _request(dict(call))
    resp = Response(
        status=200, headers={"content-type": "text/event-stream"}, stream="sse", events=evs
    )
    return Exchange("stream1000", Interaction(req, resp, key=Matcher().key(req)), call)


def all_exchanges() -> dict[str, Exchange]:
    seed = seed_exchange()
    return {
        "seed": seed,
        "chat": chat_exchange(seed),
        "stream1000": long_stream_exchange(seed),
    }


# --------------------------------------------------------------------------- formats


def native_file(ex: Exchange, folder: Path) -> Path:
    """Write the exchange as an llmreel cassette of one file (as the engine would)."""
    from llmreel.store import Cassette

    folder.mkdir(parents=True, exist_ok=True)
    cassette = Cassette(folder)
    inter = copy.copy(ex.interaction)
    entry = cassette.write(inter, 0, overwrite=True)
    cassette.close()
    return folder / entry.name


def llama_stack_document(ex: Exchange) -> dict[str, Any]:
    """The exchange as llama-stack's recorder stores it (SDK objects, ``__type__``/``__data__``)."""
    req = ex.interaction.request
    resp = ex.interaction.response
    request = {
        "method": "POST",
        "url": "http://0.0.0.0:11434/v1/v1/chat/completions",
        "headers": {},
        "body": req.body,
        "endpoint": "/v1/chat/completions",
        "model": req.model,
    }
    if resp.stream is not None:
        items = [
            {
                "__type__": "openai.types.chat.chat_completion_chunk.ChatCompletionChunk",
                "__data__": c,
            }
            for c in _chunk_docs(ex.interaction)
        ]
        response: dict[str, Any] = {"body": items, "is_streaming": True}
    else:
        data = copy.deepcopy(resp.body)
        # The SDK's model_dump(mode="json") writes every optional field, set or not.
        for choice in data["choices"]:
            choice["message"].update(
                {
                    "refusal": None,
                    "annotations": None,
                    "audio": None,
                    "function_call": None,
                    "tool_calls": None,
                }
            )
        data.setdefault("service_tier", None)
        response = {
            "body": {
                "__type__": "openai.types.chat.chat_completion.ChatCompletion",
                "__data__": data,
            },
            "is_streaming": False,
        }
    return {"request": request, "response": response}


def llama_stack_bytes(ex: Exchange) -> bytes:
    """What llama-stack writes: ``json.dump(record, f, indent=2)`` plus a newline."""
    return (json.dumps(llama_stack_document(ex), indent=2) + "\n").encode()


# --------------------------------------------------------------------------- recording peers


def _tests_on_path() -> None:
    tests = str(REPO / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)


@contextlib.contextmanager
def serve_exchange(ex: Exchange, **delays: float) -> Iterator[str]:
    """The floor server for one exchange, in a thread; yields its base URL."""
    _tests_on_path()
    from bench.floor_server import make_app
    from upstreams.serving import run_app

    app = make_app(ex.headers(), ex.chunks(), **delays)
    with run_app(app) as url:
        yield url


def record_vcr(ex: Exchange, path: Path) -> Path:
    """Record the exchange with vcrpy (real openai SDK, real HTTP to the floor server)."""
    import openai
    import vcr

    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    with serve_exchange(ex) as url:
        client = openai.OpenAI(base_url=url + "/v1", api_key="sk-bench", max_retries=0)
        with vcr.use_cassette(str(path), record_mode="all", match_on=VCR_MATCH_ON):
            _consume(client.chat.completions.create(**ex.call))
        client.close()
    # Replaying clients point at REPLAY_BASE; vcrpy matches on host and port too.
    host = url.removeprefix("http://")
    text = path.read_text().replace(host, REPLAY_BASE.removeprefix("http://").split("/")[0])
    path.write_text(text)
    return path


def record_llmreel(ex: Exchange, folder: Path) -> Path:
    """Record the exchange with llmreel's in-process transport from the same server."""
    import openai

    from llmreel import use_cassette

    if folder.exists():
        shutil.rmtree(folder)
    with serve_exchange(ex) as url:
        client = openai.OpenAI(base_url=url + "/v1", api_key="sk-bench", max_retries=0)
        with use_cassette(folder, mode="record"):
            _consume(client.chat.completions.create(**ex.call))
        client.close()
    files = [p for p in folder.iterdir() if p.is_file()]
    assert len(files) == 1, files
    return files[0]


def _consume(result: Any) -> int:
    if hasattr(result, "__iter__") and not hasattr(result, "choices"):
        n = 0
        for _ in result:
            n += 1
        return n
    return 1


@dataclass
class Prepared:
    exchanges: dict[str, Exchange]
    llmreel_dirs: dict[str, Path]
    vcr_files: dict[str, Path]


def prepare(work: Path | None = None) -> Prepared:
    """Record every exchange with llmreel and with vcrpy into the bench's scratch folder."""
    work = work or PEERS / "cassettes"
    exchanges = all_exchanges()
    dirs: dict[str, Path] = {}
    vcrs: dict[str, Path] = {}
    for name, ex in exchanges.items():
        record_llmreel(ex, work / "llmreel" / name)
        dirs[name] = work / "llmreel" / name
        vcrs[name] = record_vcr(ex, work / "vcr" / f"{name}.yaml")
    return Prepared(exchanges, dirs, vcrs)


def yaml_interactions(path: Path) -> int:
    return len(re.findall(r"^- request:", path.read_text(), flags=re.M))
