"""A non-Python client: the official ``openai`` npm package streams through ``llmreel serve``.

Recorded against the real llama.cpp server, then replayed with that server stopped: the
Node client gets the same text both times. ``tests/node`` pins the package; it is installed
there with ``npm install`` on first use (node_modules is not committed).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from llmreel.formats import load_file
from server_helpers import serving
from upstreams.llamacpp import LlamaCppServer

NODE_DIR = Path(__file__).parent / "node"
NODE = shutil.which("node")
NPM = shutil.which("npm")


@pytest.fixture(scope="module")
def node_client() -> Path:
    if NODE is None or NPM is None:
        pytest.skip("node and npm are needed for the Node client check (not installed)")
    if not (NODE_DIR / "node_modules" / "openai").is_dir():
        result = subprocess.run(
            [NPM, "install", "--no-audit", "--no-fund"],
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            pytest.fail(f"npm install in {NODE_DIR} failed:\n{result.stderr[-2000:]}")
    return NODE_DIR / "stream_chat.mjs"


def _node_stream(script: Path, base_url: str, model: str, prompt: str) -> dict[str, Any]:
    assert NODE is not None
    result = subprocess.run(
        [NODE, str(script), f"{base_url}/v1", model, prompt],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return out


@pytest.mark.llamacpp
def test_node_openai_client_records_through_server_then_replays_with_upstream_stopped(
    node_client: Path, llamacpp_running: LlamaCppServer, tmp_path: Path
) -> None:
    prompt = "Say something about the sea."
    upstream = llamacpp_running.base_url
    with serving(tmp_path, mode="record-if-missing", upstream=upstream) as server:
        recorded = _node_stream(node_client, server.base_url, llamacpp_running.model, prompt)
    (path,) = tmp_path.glob("*.json")
    recording = load_file(path)
    assert recording.response.stream == "sse" and recording.response.complete
    assert recording.request.body["messages"][0]["content"] == prompt
    assert recorded["text"].strip() and recorded["chunks"] > 2

    with llamacpp_running.stopped(), serving(tmp_path, mode="replay") as server:
        replayed = _node_stream(node_client, server.base_url, llamacpp_running.model, prompt)
    assert replayed == recorded
