"""A pre-warmed process that forks recorders for the crash tests to SIGKILL.

Starting a Python interpreter with llmreel, httpx and httpx2 imported takes about half a
second; forking one that already has them takes milliseconds, which is what makes hundreds of
kill trials affordable. Run as ``python -m crash_worker`` with ``tests`` on ``PYTHONPATH``.

Protocol (one line per command on stdin, JSON)::

    {"dir": ..., "base_url": ..., "mode": "record", "threads": 4, "seed": 1,
     "slow_fsync": false, "log": "/path/to/log"}

For each command the worker forks a child that records through ``use_cassette`` against the
upstream until it is killed (or 20 s pass), and answers with the child's pid on stdout. The
child writes ``ready PID`` to ``log`` once it is recording, then appends the name of every
recording it completed (one ``os.write`` per line, so a kill never leaves half a name).
With ``slow_fsync`` the child sleeps inside ``os.fsync`` and first writes ``fsync`` to the log,
so the test can kill it in the middle of a write.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import threading
import time
import traceback
from typing import Any

import httpx
import httpx2

from llmreel import use_cassette

PROMPTS = [f"prompt number {i} about crashes" for i in range(12)]


def _append(fd: int, line: str) -> None:
    os.write(fd, (line + "\n").encode())


def _workload(cmd: dict[str, Any]) -> None:
    rng = random.Random(cmd["seed"])
    log_fd = os.open(cmd["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    if cmd.get("slow_fsync"):
        real_fsync = os.fsync

        def slow_fsync(fd: int) -> None:
            _append(log_fd, "fsync")
            time.sleep(5)
            real_fsync(fd)

        os.fsync = slow_fsync  # widen the write window so the kill lands inside it
    url = cmd["base_url"] + "/v1/chat/completions"
    lock = threading.Lock()
    seen: set[str] = set()
    deadline = time.monotonic() + 20

    def one_thread(tid: int) -> None:
        trng = random.Random(rng.random())
        mod = httpx2 if tid % 2 else httpx
        with mod.Client(timeout=30, verify=False) as client:
            while time.monotonic() < deadline:
                stream = trng.random() < 0.5
                big = trng.random() < 0.15
                body = {
                    "model": "crash",
                    "stream": stream,
                    "messages": [{"role": "user", "content": trng.choice(PROMPTS)}],
                }
                headers = {"x-fault-events": str(800 if big else trng.randint(1, 8))}
                client.post(url, json=body, headers=headers).raise_for_status()
                with lock:
                    new = session.stats.written - seen
                    seen.update(new)
                for name in sorted(new):
                    _append(log_fd, name)
                time.sleep(trng.random() * 0.005)

    with use_cassette(cmd["dir"], mode=cmd["mode"]) as session:
        threads = [
            threading.Thread(target=one_thread, args=(i,), daemon=True)
            for i in range(cmd["threads"])
        ]
        for t in threads:
            t.start()
        # The test times its kill from here: fork, imports and cassette opening are done.
        _append(log_fd, f"ready {os.getpid()}")
        for t in threads:
            t.join()


def main() -> None:
    # Children are reaped automatically; the test watches their pids disappear.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                _workload(cmd)
            except BaseException:
                traceback.print_exc()  # shows in the test's output if a recorder breaks
                code = 1
            os._exit(code)
        print(pid, flush=True)


if __name__ == "__main__":
    main()
