"""The floor: a minimal Starlette app on uvicorn streaming one prebuilt response.

It does the least any replay server must do: read the request, send the status and
headers, then the body chunks (one per SSE event, as they were recorded). With
``ttfb``/``gap`` it is the fixed-delay upstream of the record benchmark: it waits
``ttfb`` seconds before the first chunk and ``gap`` seconds between chunks.

Run as a process: ``python -m bench.floor_server --file RECORDING --port N``.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route


def make_app(
    headers: list[tuple[str, str]], chunks: list[bytes], *, ttfb: float = 0.0, gap: float = 0.0
) -> Starlette:
    streamed = any(k.lower() == "content-type" and "event-stream" in v for k, v in headers)
    head = {k: v for k, v in headers if k.lower() != "content-length"}
    body = b"".join(chunks)

    async def stream() -> AsyncIterator[bytes]:
        if ttfb:
            await asyncio.sleep(ttfb)
        for i, chunk in enumerate(chunks):
            if gap and i:
                await asyncio.sleep(gap)
            yield chunk

    async def endpoint(request: Request) -> Response:
        await request.body()
        if streamed:
            return StreamingResponse(stream(), status_code=200, headers=head)
        if ttfb:
            await asyncio.sleep(ttfb)
        return Response(body, status_code=200, headers=head)

    return Starlette(routes=[Route("/{path:path}", endpoint, methods=["GET", "POST"])])


def main() -> None:
    import uvicorn

    from llmreel.formats import load_file

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--file", required=True, help="a recording file (llmreel or llama-stack)")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--ttfb", type=float, default=0.0)
    p.add_argument("--gap", type=float, default=0.0)
    a = p.parse_args()
    resp = load_file(a.file).response
    app = make_app(resp.replay_headers(), resp.wire_chunks(), ttfb=a.ttfb, gap=a.gap)
    uvicorn.run(app, host="127.0.0.1", port=a.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
