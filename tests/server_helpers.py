"""Helpers for the ``llmreel serve`` tests: servers on threads and as real CLI subprocesses."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from llmreel.server import CASSETTE_HEADER, ServerConfig, ServerThread
from upstreams.serving import free_port

SEED_NAME = "000_982269f9e631f14c.txt"
SEED_MODEL = "llama3.2:3b-instruct-fp16"
SEED_MESSAGES = [{"role": "user", "content": "What is the name of the US captial?"}]
SEED_BODY = {"model": SEED_MODEL, "messages": SEED_MESSAGES, "stream": True}

__all__ = [
    "CASSETTE_HEADER",
    "SEED_BODY",
    "SEED_MESSAGES",
    "SEED_MODEL",
    "SEED_NAME",
    "CliServer",
    "cli_server",
    "serving",
]


@contextlib.contextmanager
def serving(directory: Path, **settings: Any) -> Iterator[ServerThread]:
    """``llmreel serve`` on a background thread on a free 127.0.0.1 port."""
    with ServerThread(ServerConfig.build(directory, **settings)) as server:
        yield server


class CliServer:
    """A ``python -m llmreel serve`` child process."""

    def __init__(self, proc: subprocess.Popen[str], base_url: str, log: Path) -> None:
        self.proc = proc
        self.base_url = base_url
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def signal(self, sig: int) -> int:
        """Send ``sig`` and wait for the process to exit; returns its exit code."""
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=30)


@contextlib.contextmanager
def cli_server(args: list[str], tmp: Path, *, timeout: float = 20.0) -> Iterator[CliServer]:
    """Start the real CLI on a free port and wait until /_llmreel/health answers."""
    port = free_port()
    log = tmp / f"serve-{port}.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("LLMREEL_MODE", None)
    env.pop("LLMREEL_DIR", None)
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llmreel", "serve", "--port", str(port), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
    base = f"http://127.0.0.1:{port}"
    server = CliServer(proc, base, log)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"llmreel serve exited early:\n{server.output()}")
            try:
                if httpx.get(f"{base}/_llmreel/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"llmreel serve did not start:\n{server.output()}")
            time.sleep(0.05)
        yield server
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
