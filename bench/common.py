"""Shared machinery of the benchmarks: interleaved timing, statistics, paths, results files.

Every benchmark compares contenders on the same work in the same process. Contenders
run in *rounds*: each round visits every contender once (in a shuffled order), and a
visit times ``per_round`` calls in a row. Interleaving this way spreads the machine's
noise (other processes, CPU frequency) over all contenders alike; the per-round
medians also give an honest spread, and differences against a reference (the floor)
are taken round by round, so slow drift cancels out.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results"
PEERS = BENCH_DIR / ".peers"  # git-ignored: the bench's own venvs and scratch data

Call = Callable[[], object]
Session = Callable[[], AbstractContextManager[Call]]


@dataclass
class Contender:
    """Something timed: ``session()`` sets it up and yields the call to time."""

    name: str
    session: Session
    note: str = ""


@contextlib.contextmanager
def plain(call: Call) -> Iterator[Call]:
    """A session with nothing to set up."""
    yield call


@dataclass
class Samples:
    """Wall-clock and CPU (this thread's) seconds of every timed call, and per-round medians.

    CPU time is what a replay costs when the machine is busy: other processes taking
    the core inflate wall time but not this thread's CPU time.
    """

    name: str
    calls: list[float] = field(default_factory=list)
    rounds: list[float] = field(default_factory=list)
    cpu_calls: list[float] = field(default_factory=list)
    cpu_rounds: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        out = summarize(self.calls, self.rounds)
        out["cpu"] = summarize(self.cpu_calls, self.cpu_rounds)
        return out


def quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    data = sorted(values)
    pos = (len(data) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def summarize(calls: list[float], rounds: list[float] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "n": len(calls),
        "median": statistics.median(calls) if calls else float("nan"),
        "p25": quantile(calls, 0.25),
        "p75": quantile(calls, 0.75),
        "p99": quantile(calls, 0.99),
        "min": min(calls) if calls else float("nan"),
        "max": max(calls) if calls else float("nan"),
    }
    if rounds:
        out["round_medians"] = rounds
        out["round_min"] = min(rounds)
        out["round_max"] = max(rounds)
    return out


def run_interleaved(
    contenders: list[Contender],
    *,
    rounds: int,
    per_round: int,
    warmup: int = 2,
    seed: int = 7,
) -> dict[str, Samples]:
    """Time every contender's call, ``per_round`` calls per visit, over ``rounds`` rounds."""
    rng = random.Random(seed)
    samples = {c.name: Samples(c.name) for c in contenders}
    order = list(contenders)
    perf = time.perf_counter
    cpu = time.thread_time
    for _ in range(rounds):
        rng.shuffle(order)
        for c in order:
            gc.collect()
            times: list[float] = []
            cpus: list[float] = []
            with c.session() as call:
                for _ in range(warmup):
                    call()
                for _ in range(per_round):
                    c0 = cpu()
                    t0 = perf()
                    call()
                    t1 = perf()
                    c1 = cpu()
                    times.append(t1 - t0)
                    cpus.append(c1 - c0)
            s = samples[c.name]
            s.calls.extend(times)
            s.rounds.append(statistics.median(times))
            s.cpu_calls.extend(cpus)
            s.cpu_rounds.append(statistics.median(cpus))
    return samples


def paired_overhead(
    samples: dict[str, Samples], name: str, floor: str, *, clock: str = "cpu"
) -> dict[str, float]:
    """``name`` minus ``floor``, per round (both visited in the same round), in seconds."""
    a_rounds = samples[name].cpu_rounds if clock == "cpu" else samples[name].rounds
    b_rounds = samples[floor].cpu_rounds if clock == "cpu" else samples[floor].rounds
    diffs = [a - b for a, b in zip(a_rounds, b_rounds, strict=True)]
    return {
        "median": statistics.median(diffs),
        "p25": quantile(diffs, 0.25),
        "p75": quantile(diffs, 0.75),
        "min": min(diffs),
        "max": max(diffs),
        "rounds": len(diffs),
    }


def machine() -> dict[str, Any]:
    try:
        load = os.getloadavg()
    except OSError:
        load = (float("nan"),) * 3
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        # Taken when the result is written: the 1/5/15-minute load over the benchmark's run.
        "loadavg_at_end": [round(x, 2) for x in load],
    }


def versions(*names: str) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str] = {}
    for n in names:
        try:
            out[n] = version(n)
        except PackageNotFoundError:
            out[n] = "not installed"
    return out


def write_result(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    data = {"benchmark": name, "machine": machine(), **data}
    path.write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
    return path


def read_result(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f} ms"


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)
