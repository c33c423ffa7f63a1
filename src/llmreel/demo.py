"""``python -m llmreel.demo`` (``make demo``): replay the seed recording through ``llmreel serve``.

It serves the recording shipped with llmreel (a streamed chat completion from
Ollama, recorded by llama-stack's recorder) on 127.0.0.1:PORT in replay mode,
makes the same call with the real ``openai`` SDK, prints the streamed answer,
and keeps serving until Ctrl-C so you can try other clients (curl, Node, ...).
``--once`` exits after the call.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.resources
import json
import sys
import tempfile
import time
from pathlib import Path

from llmreel.exceptions import ConfigError
from llmreel.server import ServerConfig, ServerThread

__all__ = ["main"]

MODEL = "llama3.2:3b-instruct-fp16"
QUESTION = "What is the name of the US captial?"  # sic: as recorded; the key includes the typo


def _copy_seed(target: Path) -> Path:
    """The embedded seed as files on disk (works from a wheel, a zip or a source tree)."""
    seed = importlib.resources.files("llmreel").joinpath("demo_data", "seed")
    out = target / "seed"
    out.mkdir()
    for item in seed.iterdir():
        if item.is_file() and item.name.endswith((".txt", ".json")):
            (out / item.name).write_bytes(item.read_bytes())
    return out


def _curl(base_url: str) -> str:
    body = json.dumps(
        {"model": MODEL, "messages": [{"role": "user", "content": QUESTION}], "stream": True}
    )
    return (
        f"curl -N {base_url}/v1/chat/completions -H 'content-type: application/json' \\\n"
        f"       -d '{body}'"
    )


def run(port: int, *, once: bool) -> int:
    import openai

    with tempfile.TemporaryDirectory(prefix="llmreel-demo-") as tmp:
        cassette = _copy_seed(Path(tmp))
        # 'repeat' so the call can be made again and again while the demo keeps serving.
        config = ServerConfig.build(cassette, mode="replay", on_exhausted="repeat")
        try:
            server = ServerThread(config, port=port)
        except ConfigError as exc:
            print(f"llmreel demo: {exc}", file=sys.stderr)
            print(f"Try another port: python -m llmreel.demo --port {port + 1}", file=sys.stderr)
            return 1
        with server:
            base = server.base_url
            print(f"llmreel serve is replaying the seed recording on {base} (replay mode).")
            print(f"Asking it, with the openai SDK (base_url={base}/v1): {QUESTION!r}\n")
            client = openai.OpenAI(base_url=f"{base}/v1", api_key="not-needed")
            started = time.perf_counter()
            stream = client.chat.completions.create(
                model=MODEL,
                messages=[{"role": "user", "content": QUESTION}],
                stream=True,
            )
            chunks = 0
            for chunk in stream:
                chunks += 1
                if chunk.choices and chunk.choices[0].delta.content:
                    print(chunk.choices[0].delta.content, end="", flush=True)
            elapsed = (time.perf_counter() - started) * 1000
            client.close()
            print(
                f"\n\nThat answer was {chunks} streamed chunks, replayed in {elapsed:.0f} ms "
                f"from one recorded file:\nno model, no network, no API key. The request was "
                f"matched by its method, path and JSON body;\na different question would be "
                f"answered with an error that names the closest recording\nand shows the "
                f"difference. Record your own with --mode record-if-missing --upstream URL."
            )
            if once:
                return 0
            print(f"\nStill serving on {base}; try it from another terminal:\n  {_curl(base)}")
            print("Press Ctrl-C to stop.")
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(3600)
            print("\nStopped.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m llmreel.demo", description=__doc__)
    parser.add_argument("--port", type=int, default=11434, help="port on 127.0.0.1 (11434)")
    parser.add_argument("--once", action="store_true", help="exit after the call")
    args = parser.parse_args(argv)
    return run(args.port, once=args.once)


if __name__ == "__main__":
    sys.exit(main())
