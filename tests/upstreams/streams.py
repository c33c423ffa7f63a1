"""A streaming ASGI response with controllable timing, stalls and dropped connections.

Shared by the fake upstreams: SSE for OpenAI/Anthropic, NDJSON for Ollama.
"""

from __future__ import annotations

from collections.abc import Sequence

import anyio
from starlette.types import Message, Receive, Scope, Send

SSE_MEDIA_TYPE = "text/event-stream; charset=utf-8"
NDJSON_MEDIA_TYPE = "application/x-ndjson"


class ChunkStream:
    """ASGI response sending pre-built chunks with delays, optionally stalling or cutting off.

    Starlette's ``StreamingResponse`` always completes the response, so it cannot simulate a
    dropped connection; returning from the ASGI callable mid-body makes uvicorn close the socket
    without the terminating chunk, which is what a crashed upstream looks like to a client.
    A client disconnect cancels the stream at once, so stalls never outlive their client.
    """

    def __init__(
        self,
        chunks: Sequence[bytes],
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        media_type: str,
        delay: float = 0.0,
        cut_after: int | None = None,
        stall_after: int | None = None,
        stall: float = 0.0,
    ) -> None:
        self.chunks = list(chunks)
        self.status = status
        self.headers = {"content-type": media_type, **(headers or {})}
        self.delay = delay
        self.cut_after = cut_after
        self.stall_after = stall_after
        self.stall = stall

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async with anyio.create_task_group() as tg:

            async def watch_disconnect() -> None:
                while True:
                    message: Message = await receive()
                    if message["type"] == "http.disconnect":
                        tg.cancel_scope.cancel()
                        return

            tg.start_soon(watch_disconnect)
            await self._send_all(send)
            tg.cancel_scope.cancel()

    async def _send_all(self, send: Send) -> None:
        raw_headers = [(k.encode(), v.encode()) for k, v in self.headers.items()]
        await send({"type": "http.response.start", "status": self.status, "headers": raw_headers})
        for i, chunk in enumerate(self.chunks):
            if i == self.cut_after:
                return  # drop the connection: no terminating chunk, no [DONE]
            if i == self.stall_after:
                await anyio.sleep(self.stall)
            elif i and self.delay:
                await anyio.sleep(self.delay)
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
