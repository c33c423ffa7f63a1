"""Benchmark 2: opening and looking up in cassettes of 1k, 10k and 100k recordings.

The cassettes are synthetic native files (small non-streamed chat exchanges, one file
each, written the way the store writes them), generated once into ``bench/.peers``.

- ``cold``: open with no index: every file is parsed, then the SQLite index is built;
- ``indexed``: the first open in a fresh process with the index present (a new test
  run): listing the directory, reading the index, building the in-memory map;
- ``warm``: opening again in the same process (page cache and imports warm);
- ``lookup``: ``Engine.decide`` for random recorded requests (key, sequence lookup,
  reading and parsing the matched file), per request.

vcrpy keeps one YAML file per cassette and finds a request by a linear scan; it is
run at the sizes where that finishes in bounded time: ``Cassette.load`` and
``play_response`` with the same request identity (method, URL and body).
"""

from __future__ import annotations

import json
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

from bench.common import PEERS, REPO, log, summarize, versions, write_result
from bench.exchanges import REPLAY_BASE, VCR_MATCH_ON
from llmreel.formats import native
from llmreel.matching import Matcher
from llmreel.model.interaction import Interaction, Request, Response

SCALE = PEERS / "scale"


def request_for(i: int) -> Request:
    body = {
        "model": "smollm2",
        "messages": [{"role": "user", "content": f"Question number {i}: what is {i} + {i}?"}],
        "temperature": 0,
    }
    return Request(
        method="POST",
        url=REPLAY_BASE + "/chat/completions",
        path="/v1/chat/completions",
        headers={"content-type": "application/json"},
        body=body,
    )


def response_for(i: int) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{i}",
        "object": "chat.completion",
        "created": 1756921364,
        "model": "smollm2",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": f"{i} + {i} is {2 * i}."},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 20, "completion_tokens": 8, "total_tokens": 28},
    }


def generate(n: int) -> Path:
    """A cassette directory of ``n`` native recordings (reused when already complete)."""
    folder = SCALE / f"llmreel-{n}"
    stamp = folder / ".complete"
    if stamp.exists():
        return folder
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    matcher = Matcher()
    t0 = time.perf_counter()
    for i in range(n):
        req = request_for(i)
        key = matcher.key(req)
        inter = Interaction(
            req,
            Response(200, {"content-type": "application/json"}, body=response_for(i)),
            key=key,
            recorded_at="2026-01-01T00:00:00+00:00",
        )
        (folder / f"chat-completions-{key[:12]}-0.json").write_bytes(native.dumps(inter))
    stamp.write_text("")
    log(f"  generated {n} llmreel recordings in {time.perf_counter() - t0:.1f} s")
    return folder


def generate_vcr(n: int) -> Path:
    import yaml

    path = SCALE / f"vcr-{n}.yaml"
    if path.exists():
        return path
    interactions = []
    for i in range(n):
        req = request_for(i)
        interactions.append(
            {
                "request": {
                    "body": orjson.dumps(req.body).decode(),
                    "headers": {"content-type": ["application/json"]},
                    "method": "POST",
                    "uri": req.url,
                },
                "response": {
                    "body": {"string": orjson.dumps(response_for(i)).decode()},
                    "headers": {"content-type": ["application/json"]},
                    "status": {"code": 200, "message": "OK"},
                },
            }
        )
    dumper = getattr(yaml, "CDumper", yaml.Dumper)
    path.write_text(yaml.dump({"interactions": interactions, "version": 1}, Dumper=dumper))
    return path


def _indexed_open_in_fresh_process(folder: Path) -> float:
    code = (
        "import time,sys;from llmreel.store import Cassette;"
        "t=time.perf_counter();c=Cassette(sys.argv[1]);d=time.perf_counter()-t;"
        "assert len(c)>0;print(d)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(folder)],
        check=True,
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    return float(out.stdout.strip().splitlines()[-1])


def llmreel_size(n: int, quick: bool) -> dict[str, Any]:
    from llmreel.engine import Engine
    from llmreel.store import Cassette
    from llmreel.store.index import INDEX_DIR

    folder = generate(n)
    reps = 1 if n >= 100_000 or quick else 3
    cold: list[float] = []
    for _ in range(reps):
        shutil.rmtree(folder / INDEX_DIR, ignore_errors=True)
        t0 = time.perf_counter()
        c = Cassette(folder)
        cold.append(time.perf_counter() - t0)
        assert len(c) == n, (len(c), n)
        c.close()
        del c
    indexed = [_indexed_open_in_fresh_process(folder) for _ in range(reps)]
    warm: list[float] = []
    for _ in range(reps + 2):
        t0 = time.perf_counter()
        c = Cassette(folder)
        warm.append(time.perf_counter() - t0)
        c.close()
    cassette = Cassette(folder)
    engine = Engine(cassette, "replay")
    rng = random.Random(n)
    picks = rng.sample(range(n), min(n, 300 if quick else 1000))
    requests = [request_for(i) for i in picks]
    lookups: list[float] = []
    for req in requests:
        t0 = time.perf_counter()
        d = engine.decide(req)
        lookups.append(time.perf_counter() - t0)
        assert d.action == "replay"
    cassette.close()
    return {
        "recordings": n,
        "open_cold": summarize(cold),
        "open_indexed_fresh_process": summarize(indexed),
        "open_warm": summarize(warm),
        "lookup": summarize(lookups),
    }


def vcr_size(n: int, quick: bool) -> dict[str, Any]:
    from vcr.cassette import Cassette as VcrCassette
    from vcr.record_mode import RecordMode
    from vcr.request import Request as VcrRequest

    path = generate_vcr(n)
    reps = 1 if n >= 10_000 or quick else 3
    opens: list[float] = []
    cassette: Any = None
    for _ in range(reps):
        t0 = time.perf_counter()
        cassette = VcrCassette.load(
            path=str(path),
            record_mode=RecordMode.NONE,
            match_on=[_matcher(m) for m in VCR_MATCH_ON],
            allow_playback_repeats=True,
        )
        opens.append(time.perf_counter() - t0)
    assert cassette is not None and len(cassette) == n
    rng = random.Random(n)
    picks = rng.sample(range(n), min(n, 20 if n >= 10_000 or quick else 100))
    lookups: list[float] = []
    for i in picks:
        req = request_for(i)
        vreq = VcrRequest(
            "POST", req.url, orjson.dumps(req.body), {"content-type": "application/json"}
        )
        t0 = time.perf_counter()
        resp = cassette.play_response(vreq)
        lookups.append(time.perf_counter() - t0)
        assert json.loads(resp["body"]["string"])["id"] == f"chatcmpl-{i}"
    return {
        "recordings": n,
        "yaml_bytes": path.stat().st_size,
        "open": summarize(opens),
        "lookup": summarize(lookups),
    }


def _matcher(name: str) -> Any:
    from vcr import matchers

    return getattr(matchers, name)


def run(quick: bool) -> dict[str, Any]:
    sizes = [1_000, 10_000, 100_000]
    vcr_sizes = [1_000] if quick else [1_000, 10_000]
    out: dict[str, Any] = {"llmreel": {}, "vcrpy": {}}
    for n in sizes:
        log(f"lookup at scale: llmreel, {n} recordings")
        r = llmreel_size(n, quick)
        out["llmreel"][str(n)] = r
        log(
            f"  open cold {r['open_cold']['median']:.3f} s, indexed (fresh process) "
            f"{r['open_indexed_fresh_process']['median']:.3f} s, warm "
            f"{r['open_warm']['median']:.3f} s; lookup {r['lookup']['median'] * 1e6:.0f} us"
        )
    for n in vcr_sizes:
        log(f"lookup at scale: vcrpy, {n} recordings")
        r = vcr_size(n, quick)
        out["vcrpy"][str(n)] = r
        log(f"  open {r['open']['median']:.3f} s; lookup {r['lookup']['median'] * 1e6:.0f} us")
    flat = out["llmreel"]
    lk = [flat[str(n)]["lookup"]["median"] for n in sizes]
    result = {
        "params": {"quick": quick, "sizes": sizes, "vcr_sizes": vcr_sizes},
        "versions": versions("llmreel", "vcrpy", "PyYAML"),
        "results": out,
        "lookup_growth_1k_to_100k": lk[-1] / lk[0],
        "lookup_median_spread": statistics.pstdev(lk) / statistics.mean(lk),
        "notes": [
            "vcrpy at 100k is not run: its cassette is one YAML document (about "
            f"{int(100_000 * 800 / 1e6)} MB) that is parsed whole on open and scanned "
            "linearly per request; its 1k/10k numbers show the trend.",
        ],
    }
    write_result("scale", result)
    return result
