"""Benchmark 3: replay over HTTP: ``llmreel serve`` vs. the floor vs. mitmproxy's server replay.

Three servers, each its own process on 127.0.0.1, all answering the seed request with
the seed stream (47 SSE events, 15,977 bytes):

- ``floor``: :mod:`bench.floor_server` (Starlette on uvicorn, prebuilt chunks, no lookup);
- ``llmreel``: ``llmreel serve --mode replay --on-exhausted repeat --log-level warning``
  on a cassette holding the seed recording;
- ``mitmproxy``: ``mitmdump --server-replay FLOWS`` in reverse-proxy mode with
  ``server_replay_reuse``, the flow file written with mitmproxy's ``io`` module.

The load generator is a small asyncio HTTP/1.1 client in this process (keep-alive, one
request in flight per connection, chunked and length-delimited bodies), the same for
every server, so the servers are compared, not clients. For each concurrency (1, 8, 64
connections) it runs for a fixed time and counts completed responses; latency is from
sending the request to the last body byte. Servers are visited in shuffled order,
several rounds, so machine noise is shared.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import orjson

from bench.common import PEERS, REPO, log, quantile, versions, write_result
from bench.exchanges import Exchange, Prepared, prepare

MITM_PY = PEERS / "mitm" / "bin" / "python"
MITMDUMP = PEERS / "mitm" / "bin" / "mitmdump"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


@contextmanager
def process(cmd: list[str], port: int, log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
        try:
            wait_port(port, proc)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def request_bytes(ex: Exchange, port: int) -> tuple[bytes, bytes]:
    body = orjson.dumps(ex.call)
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nAccept: text/event-stream\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body, body


def mitm_flow_file(ex: Exchange, body: bytes, upstream: str, folder: Path) -> Path:
    spec = {
        "request": {
            "method": "POST",
            "url": upstream + "/v1/chat/completions",
            "headers": {"content-type": "application/json", "accept": "text/event-stream"},
            "body": body.decode(),
        },
        "response": {
            "status": 200,
            "headers": dict(ex.headers()),
            "body": base64.b64encode(ex.body_bytes()).decode(),
        },
    }
    spec_path = folder / "mitm-spec.json"
    spec_path.write_text(json.dumps(spec))
    out = folder / "seed.mitm"
    subprocess.run(
        [str(MITM_PY), str(Path(__file__).with_name("mitm_flows.py")), str(spec_path), str(out)],
        check=True,
    )
    return out


# --------------------------------------------------------------------------- load generator


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, int]:
    buf = b""
    while True:
        i = buf.find(b"\r\n\r\n")
        if i >= 0:
            break
        data = await reader.read(65536)
        if not data:
            raise ConnectionError("server closed the connection")
        buf += data
    head = buf[:i].decode("latin-1")
    rest = buf[i + 4 :]
    status = int(head[9:12])
    headers = {}
    for line in head.split("\r\n")[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        total = 0
        pos = 0
        while True:
            nl = rest.find(b"\r\n", pos)
            while nl < 0:
                rest += await reader.read(65536)
                nl = rest.find(b"\r\n", pos)
            size = int(rest[pos:nl].split(b";")[0], 16)
            need = nl + 2 + size + 2
            while len(rest) < need:
                data = await reader.read(65536)
                if not data:
                    raise ConnectionError("server closed mid-body")
                rest += data
            if size == 0:
                return status, total
            total += size
            pos = need
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        data = await reader.read(65536)
        if not data:
            raise ConnectionError("server closed mid-body")
        rest += data
    return status, length


async def _load(port: int, payload: bytes, expect: int, conns: int, warm: float, dur: float) -> Any:
    loop = asyncio.get_running_loop()
    start = loop.time()
    t_begin, t_end = start + warm, start + warm + dur
    lat: list[float] = []
    errors = 0

    async def worker() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while True:
                t0 = loop.time()
                if t0 >= t_end:
                    return
                writer.write(payload)
                status, n = await _read_response(reader)
                t1 = loop.time()
                if status != 200 or n != expect:
                    errors += 1
                elif t0 >= t_begin and t1 <= t_end:
                    lat.append(t1 - t0)
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(conns)))
    return lat, errors


def measure(port: int, payload: bytes, expect: int, conns: int, warm: float, dur: float) -> Any:
    lat, errors = asyncio.run(_load(port, payload, expect, conns, warm, dur))
    return {
        "rps": len(lat) / dur,
        "latencies": lat,
        "errors": errors,
    }


# --------------------------------------------------------------------------- the benchmark


def run(quick: bool, prepared: Prepared | None = None) -> dict[str, Any]:
    prepared = prepared or prepare()
    ex = prepared.exchanges["seed"]
    expect = len(ex.body_bytes())
    levels = [1, 8, 64]
    rounds = 1 if quick else 3
    warm, dur = (0.3, 1.0) if quick else (0.5, 2.0)
    notes: list[str] = []
    work = Path(tempfile.mkdtemp(prefix="llmreel-bench-server-"))
    seed_file = next(p for p in prepared.llmreel_dirs["seed"].iterdir() if p.is_file())
    servers: dict[str, int] = {}
    with ExitStack() as stack:
        port = free_port()
        stack.enter_context(
            process(
                [
                    *(sys.executable, "-m", "bench.floor_server"),
                    *("--file", str(seed_file), "--port", str(port)),
                ],
                port,
                work / "floor.log",
            )
        )
        servers["floor"] = port
        port = free_port()
        try:
            stack.enter_context(
                process(
                    [
                        *(sys.executable, "-m", "llmreel", "serve", "--port", str(port)),
                        *("--dir", str(prepared.llmreel_dirs["seed"])),
                        *("--on-exhausted", "repeat", "--log-level", "warning"),
                    ],
                    port,
                    work / "llmreel.log",
                )
            )
            servers["llmreel"] = port
        except (RuntimeError, TimeoutError) as exc:
            notes.append(f"llmreel serve could not start ({exc}); see {work / 'llmreel.log'}")
        if MITMDUMP.exists():
            port = free_port()
            dead = f"http://127.0.0.1:{free_port()}"
            flows = mitm_flow_file(ex, request_bytes(ex, 0)[1], dead, work)
            stack.enter_context(
                process(
                    [
                        *(str(MITMDUMP), "-q", "--listen-host", "127.0.0.1", "-p", str(port)),
                        *("--mode", f"reverse:{dead}", "--server-replay", str(flows)),
                        # lazy: answer from the flow file without connecting upstream first
                        *("--set", "connection_strategy=lazy"),
                        *("--set", "server_replay_reuse=true"),
                        *("--set", "server_replay_extra=404"),
                        *("--set", "server_replay_ignore_host=true"),
                        *("--set", "server_replay_ignore_port=true"),
                    ],
                    port,
                    work / "mitm.log",
                )
            )
            servers["mitmproxy"] = port
        else:
            notes.append("mitmproxy is not installed in bench/.peers/mitm (run `make bench`)")
        # Every server must answer the request with the full stream before it is timed.
        for name, p in servers.items():
            try:
                check = measure(p, request_bytes(ex, p)[0], expect, 1, 0.0, 0.3)
            except ConnectionError as exc:
                raise RuntimeError(f"{name} closed the connection: {exc}") from exc
            if check["errors"] or not check["latencies"]:
                raise RuntimeError(f"{name} did not replay the seed stream correctly: {check}")
        raw: dict[str, dict[int, list[dict[str, Any]]]] = {
            n: {c: [] for c in levels} for n in servers
        }
        rng = random.Random(3)
        for r in range(rounds):
            order = list(servers)
            rng.shuffle(order)
            for name in order:
                p = servers[name]
                for c in levels:
                    m = measure(p, request_bytes(ex, p)[0], expect, c, warm, dur)
                    raw[name][c].append(m)
                    log(
                        f"server replay round {r + 1}: {name:9s} {c:2d} clients "
                        f"{m['rps']:7.0f} req/s p50 {quantile(m['latencies'], 0.5) * 1e3:.2f} ms"
                        + (f" errors {m['errors']}" if m["errors"] else "")
                    )
    out: dict[str, Any] = {}
    for name, per in raw.items():
        out[name] = {}
        for c, ms_ in per.items():
            lat = [x for m in ms_ for x in m["latencies"]]
            rps = [m["rps"] for m in ms_]
            out[name][str(c)] = {
                "rps_median": statistics.median(rps),
                "rps_rounds": rps,
                "p50": quantile(lat, 0.5),
                "p99": quantile(lat, 0.99),
                "responses": len(lat),
                "errors": sum(m["errors"] for m in ms_),
            }
    ratios: dict[str, Any] = {}
    for c in levels:
        k = str(c)
        if "llmreel" in out:
            ratios[k] = {
                "llmreel_over_floor": out["llmreel"][k]["rps_median"]
                / out["floor"][k]["rps_median"]
            }
            if "mitmproxy" in out:
                ratios[k]["llmreel_over_mitmproxy"] = (
                    out["llmreel"][k]["rps_median"] / out["mitmproxy"][k]["rps_median"]
                )
    result = {
        "params": {"quick": quick, "levels": levels, "rounds": rounds, "seconds": dur},
        "versions": versions("llmreel", "uvicorn", "starlette") | {"mitmproxy": _mitm_version()},
        "servers": out,
        "ratios": ratios,
        "notes": notes,
    }
    write_result("server", result)
    return result


def _mitm_version() -> str:
    if not MITMDUMP.exists():
        return "not installed"
    out = subprocess.run([str(MITMDUMP), "--version"], capture_output=True, text=True)
    return out.stdout.split("\n")[0].split()[-1] if out.returncode == 0 else "unknown"
