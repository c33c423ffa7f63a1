"""Helpers for the inspector tests (``tests/ui``): a corpus of real recordings, Chromium.

The corpus holds the seed (a llama-stack recording), recordings made here through the real
openai SDK against the fault-injecting upstream (two models, a stream with usage, a stalled
stream, and one whose prompt and answer are hostile HTML), and the public llama-stack
conformance files when they are next to the checkout.
"""

from __future__ import annotations

import importlib.resources
import os
import shutil
from pathlib import Path
from typing import Any

import openai

import llmreel
from upstreams.faulty import FaultyUpstream
from upstreams.serving import run_app

SEED_NAME = "000_982269f9e631f14c.txt"
SEED_ANSWER = "The capital of the United States is Washington, D.C."
HOSTILE = "<script>alert(1)</script> <img src=x onerror=alert(1)>"
CHROMIUM = Path(os.environ.get("LLMREEL_CHROMIUM", "/usr/bin/chromium"))
# What works here for Debian's Chromium headless, as root, on a machine with no outside network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def conformance() -> Path | None:
    path = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "llama-stack"
    return path if path.is_dir() else None


def record_app_cassette(path: Path, base_url: str) -> None:
    """Recordings made by llmreel itself, through the openai SDK, from a real HTTP upstream."""
    client = openai.OpenAI(base_url=f"{base_url}/v1", api_key="sk-test", max_retries=0)
    with client, llmreel.use_cassette(path, mode="record"):
        client.chat.completions.create(
            model="alpha-model", messages=[{"role": "user", "content": "alpha beta gamma"}]
        )
        list(
            client.chat.completions.create(
                model="beta-model",
                messages=[{"role": "user", "content": "what is the weather in Paris"}],
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        client.chat.completions.create(
            model="alpha-model", messages=[{"role": "user", "content": HOSTILE}]
        )
        list(
            client.chat.completions.create(
                model="beta-model",
                messages=[{"role": "user", "content": "one two three four five six"}],
                stream=True,
                extra_headers={
                    "X-Fault": "stall",
                    "X-Fault-After": "3",
                    "X-Fault-Stall": "1.5",
                    "X-Fault-Events": "8",
                    "X-Fault-Delay-Ms": "5",
                },
            )
        )


def build_corpus(root: Path) -> Path:
    (root / "seed").mkdir(parents=True)
    seed = importlib.resources.files("llmreel").joinpath("demo_data", "seed", SEED_NAME)
    (root / "seed" / SEED_NAME).write_bytes(seed.read_bytes())
    upstream = FaultyUpstream()
    with run_app(upstream.app) as base_url:
        upstream.base_url = base_url
        record_app_cassette(root / "app", base_url)
    conf = conformance()
    if conf is not None:
        shutil.copytree(conf, root / "llama-stack")
    return root


def find_row(ui_rows: list[dict[str, Any]], **want: Any) -> dict[str, Any]:
    for row in ui_rows:
        if all(row.get(k) == v for k, v in want.items()):
            return row
    raise AssertionError(f"no row with {want} in {[r['id'] for r in ui_rows]}")
