"""Benchmark 6: replaying cassettes kept in object storage (S3 API: moto's server on loopback).

The same recordings, replayed through the real openai SDK (httpx2), from:

- ``local``: a cassette directory on local disk (``use_cassette(dir)``);
- ``remote/warm``: the same files pushed to ``s3://bench/<name>`` and replayed from
  llmreel's read-through cache, already warm (one replay ran before);
- per test (the cassette opened, one call, closed), for both: what a test suite pays,
  the remote one including the store's listing when the cassette opens;
- ``remote/cold``: the first replay of each of ``N`` distinct recordings with an empty
  cache (one listing, then one GET per recording asked for), minus the warm cost: the
  first-fetch cost per recording.

moto answers from memory on the same machine: real S3 adds its network round trip to
the listing and to each first fetch, never to warm replays.
"""

from __future__ import annotations

import contextlib
import copy
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.common import (
    PEERS,
    Contender,
    log,
    paired_overhead,
    plain,
    run_interleaved,
    versions,
    write_result,
)
from bench.exchanges import REPLAY_BASE, Prepared, prepare


@contextlib.contextmanager
def _moto() -> Iterator[dict[str, str]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = Path(sys.executable).with_name("moto_server")
    proc = subprocess.Popen(
        [str(exe) if exe.exists() else "moto_server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            time.sleep(0.05)
        yield {
            "AWS_ACCESS_KEY_ID": "AKIA" + secrets.token_hex(8).upper(),
            "AWS_SECRET_ACCESS_KEY": secrets.token_urlsafe(30),
            "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        }
    finally:
        proc.terminate()
        proc.wait(10)


def _consume(result: Any) -> None:
    if hasattr(result, "choices"):
        assert result.choices[0].message.content
        return
    assert sum(1 for _ in result) > 0


def run(quick: bool, prepared: Prepared | None = None) -> dict[str, Any]:
    import boto3
    import openai

    from llmreel import Cassette, load_file, use_cassette
    from llmreel.tools.sync import push

    prepared = prepared or prepare()
    rounds, per_round = (5, 20) if quick else (15, 50)
    cold_n = 20 if quick else 60
    out: dict[str, Any] = {}
    saved = {k: os.environ.get(k) for k in ("LLMREEL_CACHE_DIR",)}
    with _moto() as env, tempfile.TemporaryDirectory(dir=PEERS if PEERS.exists() else None) as tmp:
        os.environ.update(env)
        boto3.client(
            "s3",
            endpoint_url=env["AWS_ENDPOINT_URL"],
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            region_name="us-east-1",
        ).create_bucket(Bucket="bench")
        os.environ["LLMREEL_CACHE_DIR"] = str(Path(tmp) / "cache")
        client = openai.OpenAI(base_url=REPLAY_BASE, api_key="sk-bench", max_retries=0)
        for name, ex in prepared.exchanges.items():
            local = prepared.llmreel_dirs[name]
            url = f"s3://bench/{name}"
            push(local, url)
            kwargs = ex.call

            def call(kwargs: dict[str, Any] = kwargs) -> None:
                _consume(client.chat.completions.create(**kwargs))

            def entered(where: str, call: Any = call) -> Any:
                @contextlib.contextmanager
                def session() -> Iterator[Any]:
                    with use_cassette(where, mode="replay", on_exhausted="repeat"):
                        yield call

                return session

            def per_test(where: str, call: Any = call) -> Any:
                def one() -> None:
                    with use_cassette(where, mode="replay"):
                        call()

                return lambda: plain(one)

            with use_cassette(url, mode="replay"):
                call()  # warm the cache
            samples = run_interleaved(
                [
                    Contender("local", entered(str(local))),
                    Contender("remote/warm", entered(url)),
                    Contender("local/per-test", per_test(str(local))),
                    Contender("remote/warm/per-test", per_test(url)),
                ],
                rounds=rounds,
                per_round=per_round,
            )
            med = {k: statistics.median(s.rounds) for k, s in samples.items()}
            out[name] = {
                "samples": {k: s.summary() for k, s in samples.items()},
                "remote_over_local": med["remote/warm"] / med["local"],
                "remote_over_local_per_test": med["remote/warm/per-test"] / med["local/per-test"],
                "remote_minus_local_per_test": paired_overhead(
                    samples, "remote/warm/per-test", "local/per-test", clock="wall"
                ),
            }
            log(
                f"remote: {name}: warm replay {med['remote/warm'] * 1e3:.3f} ms vs local "
                f"{med['local'] * 1e3:.3f} ms ({out[name]['remote_over_local']:.2f}x); per test "
                f"{out[name]['remote_over_local_per_test']:.2f}x"
            )
        # Cold first fetches: N distinct recordings (the first exchange, its prompt numbered).
        name, ex = next(iter(prepared.exchanges.items()))
        template = next(p for p in prepared.llmreel_dirs[name].iterdir() if p.is_file())
        many = Cassette(Path(tmp) / "many")
        calls: list[dict[str, Any]] = []
        for i in range(cold_n):
            inter = load_file(template)
            body = copy.deepcopy(inter.request.body)
            body["messages"][-1]["content"] += f" #{i}"
            inter.request.body = body
            inter.key = many.matcher.key(inter.request)
            many.write(inter, 0, overwrite=False)
            kwargs = copy.deepcopy(ex.call)
            kwargs["messages"][-1]["content"] += f" #{i}"
            calls.append(kwargs)
        push(many.root, "s3://bench/cold")
        cold: list[float] = []
        warm: list[float] = []
        for i, kwargs in enumerate(calls):
            os.environ["LLMREEL_CACHE_DIR"] = str(Path(tmp) / f"cold-{i}")
            t0 = time.perf_counter()
            with use_cassette("s3://bench/cold", mode="replay"):
                _consume(client.chat.completions.create(**kwargs))
            cold.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            with use_cassette("s3://bench/cold", mode="replay"):
                _consume(client.chat.completions.create(**kwargs))
            warm.append(time.perf_counter() - t0)
            fetched = sum(
                1 for p in (Path(tmp) / f"cold-{i}" / "objects").rglob("*") if p.is_file()
            )
            assert fetched == 1, f"a cold replay fetched {fetched} recordings, not 1"
        out["cold_first_fetch"] = {
            "recordings_in_cassette": cold_n,
            "cold_open_and_call_median_s": statistics.median(cold),
            "warm_open_and_call_median_s": statistics.median(warm),
            "first_fetch_cost_s": statistics.median(cold) - statistics.median(warm),
        }
        cost = out["cold_first_fetch"]["first_fetch_cost_s"]
        log(f"remote: a cold open adds {cost * 1e3:.2f} ms (one listing + one GET) to a warm one")
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    result = {
        "params": {"quick": quick, "rounds": rounds, "per_round": per_round},
        "versions": versions("obstore", "moto", "openai"),
        "exchanges": out,
    }
    write_result("remote", result)
    return result
