"""A recorder killed with SIGKILL at any moment never leaves a partial or invalid recording.

Recorders are real processes (forked from a pre-warmed worker, see ``crash_worker.py``), each
with several threads recording streamed and whole responses of varying size through
``use_cassette`` into one shared cassette, against the fault-injecting upstream on 127.0.0.1.
They are killed at random moments, several at once, trial after trial into the same directory.
After every trial each recording file must load, the store must open without errors, every
recording a worker reported complete must be there, and at the end every recording replays
byte for byte. Some trials slow down ``fsync`` inside the worker so the kill is certain to land
between writing the temp file and publishing it; the temp file left behind must be ignored and,
once stale, removed.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hostile import TESTS_DIR
from llmreel import Cassette, load_file, use_cassette
from soak import Rounds
from upstreams.faulty import FaultyUpstream


class Zygote:
    """The pre-warmed worker: ``fork(cmd)`` starts one recorder and returns its pid."""

    def __init__(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LLMREEL_")}
        env["PYTHONPATH"] = str(TESTS_DIR)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "crash_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=str(TESTS_DIR),
        )
        self.children: list[int] = []

    def fork(self, cmd: dict[str, Any]) -> int:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        pid = int(self.proc.stdout.readline())
        self.children.append(pid)
        return pid

    def close(self) -> None:
        for pid in self.children:
            kill(pid)
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def kill(pid: int) -> None:
    """SIGKILL ``pid`` and wait until it is gone (the worker reaps its children)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.002)
    raise AssertionError(f"process {pid} survived SIGKILL")


@pytest.fixture
def zygote() -> Iterator[Zygote]:
    z = Zygote()
    try:
        yield z
    finally:
        z.close()


def recording_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.json") if not p.name.startswith("."))


def temp_files(root: Path) -> list[Path]:
    return sorted(root.rglob(".*.partial"))


def check_store(
    root: Path, log: Path, seen: dict[Path, int] | None = None, reader: Cassette | None = None
) -> int:
    """Every file valid, the store opens clean, every reported recording present.

    ``seen`` (path -> mtime) lets repeated checks parse only the files that changed; a
    long-lived ``reader`` is refreshed (as a running server's cassette is) instead of a new one.
    """
    for path in recording_files(root):
        mtime = path.stat().st_mtime_ns
        if seen is None or seen.get(path) != mtime:
            load_file(path)  # raises RecordingFileError naming the file
            if seen is not None:
                seen[path] = mtime
    cassette = reader or Cassette(root)
    try:
        cassette.refresh()
        assert cassette.errors == {}, cassette.errors
        names = {e.name for e in cassette.entries()}
        assert not any(n.startswith(".") or n.endswith(".partial") for n in names)
    finally:
        if reader is None:
            cassette.close()
    lines = log.read_text().splitlines() if log.exists() else []
    completed = {ln for ln in lines if ln.endswith(".json")}
    missing = completed - names
    assert not missing, f"recordings reported complete but gone: {sorted(missing)[:5]}"
    return len(names)


def replay_everything(root: Path, base_url: str) -> int:
    """Replay every recording through the httpx transport; bytes must equal the file's."""
    cassette = Cassette(root)
    try:
        by_key: dict[str, list[Any]] = {}
        for entry in cassette.entries():
            by_key.setdefault(entry.key, []).append(entry)
        sequences = [
            [cassette.load(e) for e in sorted(seq, key=lambda e: (e.pos, e.name))]
            for seq in by_key.values()
        ]
    finally:
        cassette.close()
    replayed = 0
    with use_cassette(root, mode="replay", on_miss="raise"), httpx.Client() as client:
        for seq in sequences:
            for inter in seq:
                req = inter.request
                got = client.request(req.method, base_url + req.path, json=req.body)
                assert got.status_code == inter.response.status
                assert got.content == b"".join(inter.response.wire_chunks()), inter.path
                replayed += 1
    return replayed


def wait_ready(log: Path, pids: list[int], timeout: float = 30) -> None:
    """Wait until every recorder has opened its cassette and started its threads."""
    deadline = time.monotonic() + timeout
    want = {f"ready {pid}" for pid in pids}
    while not (log.exists() and want <= set(log.read_text().splitlines())):
        assert time.monotonic() < deadline, "a recorder never started"
        time.sleep(0.002)


def run_trials(
    trials: Iterable[int],
    top: Path,
    faulty: FaultyUpstream,
    zygote: Zygote,
    seed: int,
    *,
    spread: int,
) -> dict[str, int]:
    """A kill round for each of ``trials`` (a range, or the soak's time-bounded
    :class:`~soak.Rounds`) over ``spread`` cassettes under ``top`` (each reused every
    ``spread``-th round, so every cassette lives through several crashes while a recorder's
    start-up, which opens its cassette, stays cheap)."""
    rng = random.Random(seed)
    stats = {"trials": 0, "kills": 0, "recordings": 0, "temp_files_seen": 0}
    seen: dict[Path, int] = {}
    roots = [top / f"cassette-{i}" for i in range(spread)]
    readers = [Cassette(r) for r in roots]
    for trial in trials:
        root, reader = roots[trial % spread], readers[trial % spread]
        log = top / f"completed-{trial % spread}.log"
        processes = 1 if trial % 3 else 3
        mode = "record" if rng.random() < 0.7 else "record-if-missing"
        pids = [
            zygote.fork(
                {
                    "dir": str(root),
                    "base_url": faulty.base_url,
                    "mode": mode,
                    "threads": 3 if processes == 1 else 2,
                    "seed": rng.random(),
                    "log": str(log),
                }
            )
            for _ in range(processes)
        ]
        wait_ready(log, pids)
        time.sleep(rng.uniform(0.01, 0.3))
        rng.shuffle(pids)
        for pid in pids:
            kill(pid)
            time.sleep(rng.uniform(0, 0.02))
        stats["kills"] += len(pids)
        stats["temp_files_seen"] += len(set(temp_files(root)))
        check_store(root, log, seen, reader)
        stats["trials"] += 1
    for reader in readers:
        reader.close()
    # A fresh open of every cassette agrees, and every completed recording is there.
    for i, root in enumerate(roots):
        stats["recordings"] += check_store(root, top / f"completed-{i}.log")
    return stats


def slow_fsync_trial(root: Path, faulty: FaultyUpstream, zygote: Zygote, seed: int) -> None:
    """Kill a recorder while it is certainly between writing its temp file and publishing it."""
    log = root.parent / f"fsync-{seed}.log"
    before = set(temp_files(root))
    pid = zygote.fork(
        {
            "dir": str(root),
            "base_url": faulty.base_url,
            "mode": "record",
            "threads": 2,
            "seed": seed,
            "log": str(log),
            "slow_fsync": True,
        }
    )
    deadline = time.monotonic() + 15
    while not (log.exists() and "fsync" in log.read_text()):
        assert time.monotonic() < deadline, "the recorder never reached fsync"
        time.sleep(0.002)
    kill(pid)
    left = set(temp_files(root)) - before
    assert left, "a kill inside fsync must leave the temp file (and only it) behind"
    check_store(root, log)


def test_sigkilled_recorders_never_leave_a_partial_or_invalid_file(
    tmp_path: Path, faulty: FaultyUpstream, zygote: Zygote
) -> None:
    stats = run_trials(range(50), tmp_path, faulty, zygote, seed=1, spread=10)
    for seed in range(3):
        slow_fsync_trial(tmp_path / "cassette-0", faulty, zygote, seed)
    assert stats["trials"] == 50 and stats["kills"] >= 80
    assert stats["recordings"] > 20
    replayed = sum(
        replay_everything(tmp_path / f"cassette-{i}", faulty.base_url) for i in range(10)
    )
    assert replayed == len(recording_files(tmp_path))


def test_leftover_temp_files_are_ignored_and_removed_once_stale(tmp_path: Path) -> None:
    root = tmp_path / "c"
    root.mkdir()
    stale = root / ".chat-completions-0123456789ab-0.json.deadbeef.partial"
    fresh = root / ".chat-completions-0123456789ab-1.json.cafebabe.partial"
    for p in (stale, fresh):
        p.write_bytes(b'{"llmreel":1,"key":"trunc')  # what a killed writer leaves
    old = time.time() - 3600
    os.utime(stale, (old, old))
    cassette = Cassette(root)
    try:
        assert len(cassette) == 0 and cassette.errors == {}
    finally:
        cassette.close()
    assert not stale.exists(), "a temp file older than a minute is a dead writer's: removed"
    assert fresh.exists(), "a fresh temp file may belong to a live writer: kept"


@pytest.mark.slow
def test_soak_sigkill_many_trials(tmp_path: Path, faulty: FaultyUpstream, zygote: Zygote) -> None:
    # Up to 500 kill rounds, as many as fit in two minutes (at least 100).
    trials = Rounds(500, seconds=120, least=100)
    stats = run_trials(trials, tmp_path, faulty, zygote, seed=2, spread=5)
    for seed in range(20):
        slow_fsync_trial(tmp_path / f"cassette-{seed % 5}", faulty, zygote, 100 + seed)
    replayed = sum(replay_everything(tmp_path / f"cassette-{i}", faulty.base_url) for i in range(5))
    assert stats["trials"] == trials.done >= 100
    assert stats["kills"] > stats["trials"] and stats["recordings"] > 0
    assert replayed == len(recording_files(tmp_path))
