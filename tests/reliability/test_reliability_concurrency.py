"""Many threads, asyncio tasks and processes on one cassette: nothing lost, nothing doubled.

The trick that makes every call identifiable: the faulty upstream answers with as many
content tokens as the ``X-Fault-Events`` header asks for, and headers are not part of the
key. So N calls with the *same* body (one key, one sequence) each get a distinguishable
answer, and a test can check that every answer a caller saw was recorded exactly once, at a
sequence position that is consistent (positions 0..N-1, no gaps, no duplicates), and that a
replay hands the recordings back in position order.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest

from hostile import TESTS_DIR
from llmreel import Cassette, Interaction, load_file, open_engine, use_cassette
from llmreel.intercept.httpx_transports import AsyncHttpx2Transport, HttpxTransport
from soak import Rounds
from upstreams.faulty import FaultyUpstream

SAME = {"model": "conc", "messages": [{"role": "user", "content": "the same request"}]}


def ident_of_json(content: bytes) -> int:
    return int(json.loads(content)["usage"]["completion_tokens"])


def _is_token(data: str) -> bool:
    if not data.startswith("{"):
        return False
    choices = json.loads(data).get("choices") or [{}]
    delta = choices[0].get("delta") or {}
    return "content" in delta and "role" not in delta


def ident_of_sse(content: bytes) -> int:
    lines = content.decode().split("\n")
    return sum(1 for ln in lines if ln.startswith("data: ") and _is_token(ln[6:]))


def ident_of_recording(inter: Interaction) -> int:
    resp = inter.response
    if resp.stream is None:
        return int(resp.body["usage"]["completion_tokens"])
    return sum(1 for ev in resp.events if ev.data and _is_token(ev.data))


def sequence_on_disk(root: Path, key: str | None = None) -> list[tuple[int, int]]:
    """(position, ident) of every recording of ``key`` (default: the only key of SAME)."""
    out = []
    for path in sorted(root.glob("*.json")):
        inter = load_file(path)
        if key is None or inter.key == key:
            out.append((inter.position, ident_of_recording(inter)))
    return sorted(out)


def key_of(root: Path, body: dict[str, Any]) -> str:
    engine = open_engine(root, mode="replay")
    try:
        req_path = "/v1/chat/completions"
        from llmreel import Request

        return engine.matcher.key(Request("POST", "http://x" + req_path, req_path, body=body))
    finally:
        engine.cassette.close()


def assert_positions_consistent(seq: list[tuple[int, int]]) -> None:
    positions = [p for p, _ in seq]
    assert positions == list(range(len(seq))), f"positions not 0..N-1: {positions}"
    idents = [i for _, i in seq]
    assert len(set(idents)) == len(idents), f"a response was recorded twice: {idents}"


# --------------------------------------------------------------------------- threads


def test_threads_recording_identical_requests_get_positions_0_to_n(
    tmp_path: Path, faulty: FaultyUpstream
) -> None:
    n = 24
    url = f"{faulty.base_url}/v1/chat/completions"
    seen: dict[int, int] = {}
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            mod = httpx2 if i % 2 else httpx
            with mod.Client(verify=False) as client:
                barrier.wait()
                r = client.post(url, json=SAME, headers={"x-fault-events": str(i + 1)})
                seen[i] = ident_of_json(r.content)
        except BaseException as exc:
            errors.append(exc)

    with use_cassette(tmp_path, mode="record-if-missing") as session:
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    assert session.recorded == n and seen == {i: i + 1 for i in range(n)}
    seq = sequence_on_disk(tmp_path)
    assert_positions_consistent(seq)
    assert sorted(i for _, i in seq) == list(range(1, n + 1))

    # n threads replay at once: each recording handed out exactly once.
    got: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(n)

    def replayer() -> None:
        with httpx.Client() as client:
            barrier.wait()
            r = client.post(url, json=SAME)
            with lock:
                got.append(ident_of_json(r.content))

    with use_cassette(tmp_path, mode="replay", on_miss="raise") as session:
        threads = [threading.Thread(target=replayer) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(got) == list(range(1, n + 1)) and session.played == n


def test_readers_and_writers_on_one_directory_through_separate_engines(
    tmp_path: Path, faulty: FaultyUpstream
) -> None:
    """Several engines on one directory (like proxy connections): readers never see a
    half-written file while writers overwrite and add recordings around them."""
    url = f"{faulty.base_url}/v1/chat/completions"
    bodies = [
        {"model": "rw", "messages": [{"role": "user", "content": f"q{i}"}]} for i in range(10)
    ]
    seeder = open_engine(tmp_path, mode="record")
    with httpx.Client(transport=HttpxTransport(seeder)) as client:
        expected = [client.post(url, json=b).json() for b in bodies]
    seeder.cassette.close()

    stop = threading.Event()
    problems: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            engine = open_engine(tmp_path, mode="replay", on_exhausted="repeat")
            try:
                assert engine.cassette.errors == {}
                with httpx.Client(transport=HttpxTransport(engine, on_miss="raise")) as c:
                    for b, want in zip(bodies, expected, strict=True):
                        got = c.post(url, json=b).json()
                        if got != want:
                            problems.append(f"reader got {got!r} want {want!r}")
            except BaseException as exc:
                problems.append(repr(exc))
            finally:
                engine.cassette.close()

    def writer(w: int) -> None:
        try:
            for round_ in range(3):
                engine = open_engine(tmp_path, mode="record")
                with httpx.Client(transport=HttpxTransport(engine)) as c:
                    # Overwrite position 1+ of the same keys (position 0 stays what readers
                    # expect) and add fresh keys.
                    for b in bodies:
                        c.post(url, json=b)
                        c.post(url, json=b, headers={"x-fault-events": "7"})
                    c.post(url, json={"model": "rw", "messages": [{"content": f"{w}-{round_}"}]})
                engine.cassette.close()
        except BaseException as exc:
            problems.append(repr(exc))

    readers = [threading.Thread(target=reader) for _ in range(3)]
    writers = [threading.Thread(target=writer, args=(w,)) for w in range(3)]
    for t in readers + writers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    for t in readers:
        t.join()
    assert problems == []
    final = Cassette(tmp_path)
    assert final.errors == {} and len(final) == 10 * 2 + 3 * 3
    final.close()


# --------------------------------------------------------------------------- asyncio


@pytest.mark.asyncio
async def test_asyncio_tasks_recording_and_replaying_one_stream_sequence(
    tmp_path: Path, faulty: FaultyUpstream
) -> None:
    n = 30
    url = f"{faulty.base_url}/v1/chat/completions"
    body = {**SAME, "stream": True}
    # Opening a cassette reads its directory: off the event loop, as an async app would.
    engine = await asyncio.to_thread(open_engine, tmp_path, mode="record-if-missing")
    async with httpx2.AsyncClient(transport=AsyncHttpx2Transport(engine)) as client:

        async def one(i: int) -> int:
            r = await client.post(url, json=body, headers={"x-fault-events": str(i + 1)})
            return ident_of_sse(r.content)

        got = await asyncio.gather(*(one(i) for i in range(n)))
    engine.cassette.close()
    assert sorted(got) == list(range(1, n + 1)) and engine.stats.recorded == n
    seq = sequence_on_disk(tmp_path)
    assert_positions_consistent(seq)

    replay = await asyncio.to_thread(open_engine, tmp_path, mode="replay")
    async with httpx2.AsyncClient(transport=AsyncHttpx2Transport(replay, on_miss="raise")) as c:
        replayed = await asyncio.gather(*(c.post(url, json=body) for _ in range(n)))
    replay.cassette.close()
    assert sorted(ident_of_sse(r.content) for r in replayed) == list(range(1, n + 1))
    # In order, one by one, a replay walks the sequence by position.
    ordered = await asyncio.to_thread(open_engine, tmp_path, mode="replay")
    async with httpx2.AsyncClient(transport=AsyncHttpx2Transport(ordered)) as c:
        walk = [ident_of_sse((await c.post(url, json=body)).content) for _ in range(n)]
        miss = await c.post(url, json=body)
    ordered.cassette.close()
    assert walk == [i for _, i in seq]
    assert miss.status_code == 404 and b"was sent 31 times" in miss.content


# --------------------------------------------------------------------------- processes

_CHILD = r"""
import json, sys, time, pathlib, httpx
from llmreel import use_cassette
root, url, index, calls, mode, go = sys.argv[1:]
index, calls = int(index), int(calls)
same = {"model": "conc", "messages": [{"role": "user", "content": "the same request"}]}
while not pathlib.Path(go).exists():
    time.sleep(0.001)
got = []
with use_cassette(root, mode=mode, on_miss="raise") as s, httpx.Client() as c:
    for j in range(calls):
        ident = 1 + index * 1000 + j
        r = c.post(url, json=same, headers={"x-fault-events": str(ident)})
        got.append(int(r.json()["usage"]["completion_tokens"]))
        if mode != "replay":
            u = {"model": "conc", "messages": [{"role": "user", "content": f"unique {index} {j}"}]}
            c.post(url, json=u).raise_for_status()
print(json.dumps({"got": got, "written": sorted(s.stats.written), "recorded": s.recorded}))
"""


def run_processes(root: Path, url: str, procs: int, calls: int, mode: str) -> list[Any]:
    go = root.parent / f"go-{mode}"
    go.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMREEL_")}
    env["PYTHONPATH"] = str(TESTS_DIR)
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(root), url, str(i), str(calls), mode, str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i in range(procs)
    ]
    go.touch()  # all start together, imports done
    results = []
    try:
        for child in children:
            out, err = child.communicate(timeout=120)
            assert child.returncode == 0, err
            results.append(json.loads(out))
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
            child.communicate()
    return results


def test_processes_recording_one_sequence_lose_and_duplicate_nothing(
    tmp_path: Path, faulty: FaultyUpstream
) -> None:
    procs, calls = 3, 6
    root = tmp_path / "cassette"
    url = f"{faulty.base_url}/v1/chat/completions"
    results = run_processes(root, url, procs, calls, "record-if-missing")
    key = key_of(root, SAME)
    seq = sequence_on_disk(root, key)
    assert_positions_consistent(seq)
    on_disk = Counter(i for _, i in seq)
    # Every answer any process saw is on disk (recorded by it or replayed from another).
    for r in results:
        assert all(on_disk[i] == 1 for i in r["got"]), (r["got"], on_disk)
    # Files written == recordings reported; unique requests all there, each once.
    written = [n for r in results for n in r["written"]]
    assert len(written) == len(set(written)) == sum(r["recorded"] for r in results)
    all_files = sorted(p.name for p in root.glob("*.json"))
    assert sorted(written) == all_files
    assert len(all_files) == len(seq) + procs * calls

    # Processes replaying at once each walk the same sequence in position order.
    replays = run_processes(root, url, procs, len(seq), "replay")
    for r in replays:
        assert r["got"] == [i for _, i in seq] and r["recorded"] == 0


@pytest.mark.slow
def test_soak_processes_and_threads_many_rounds(tmp_path: Path, faulty: FaultyUpstream) -> None:
    url = f"{faulty.base_url}/v1/chat/completions"
    # Up to 15 rounds, as many as fit in a minute (at least 5).
    rounds = Rounds(15, seconds=60, least=5)
    for round_ in rounds:
        root = tmp_path / f"c{round_}"
        run_processes(root, url, 6, 10, "record-if-missing")
        seq = sequence_on_disk(root, key_of(root, SAME))
        assert_positions_consistent(seq)
        replays = run_processes(root, url, 3, len(seq), "replay")
        assert all(r["got"] == [i for _, i in seq] for r in replays)
