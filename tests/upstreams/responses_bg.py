"""OpenAI Responses API background mode: create, then poll ``GET /v1/responses/{id}``.

llama.cpp answers ``/v1/responses`` synchronously only. With ``background: true`` the real
API returns a response object in ``queued`` status at once, and clients poll
``GET /v1/responses/{id}`` until the status is ``completed`` (``in_progress`` meanwhile);
``POST /v1/responses/{id}/cancel`` stops it. This upstream does that with a fixed script:
``polls_until_done`` polls see ``in_progress``, later ones ``completed`` with the output text.
Identical polls get different answers, which is the point: a cassette must replay them as an
ordered sequence of one key.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

CREATED = 1_700_000_000


class BackgroundResponses:
    def __init__(self, polls_until_done: int = 2) -> None:
        self.polls_until_done = polls_until_done
        self.base_url = ""
        self.polls: dict[str, int] = {}
        self.bodies: dict[str, dict[str, Any]] = {}
        self._next = 0

    @property
    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/responses", self._create, methods=["POST"]),
                Route("/v1/responses/{rid}", self._retrieve, methods=["GET"]),
                Route("/v1/responses/{rid}/cancel", self._cancel, methods=["POST"]),
            ]
        )

    def _object(self, rid: str, status: str) -> dict[str, Any]:
        body = self.bodies[rid]
        done = status == "completed"
        text = "Background says: " + str(body.get("input", ""))
        return {
            "id": rid,
            "object": "response",
            "created_at": CREATED,
            "status": status,
            "background": True,
            "model": body.get("model", ""),
            "output": [
                {
                    "id": f"msg_{rid}",
                    "type": "message",
                    "role": "assistant",
                    "status": "completed",
                    "content": [{"type": "output_text", "text": text, "annotations": []}],
                }
            ]
            if done
            else [],
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
            "error": None,
            "incomplete_details": None,
            "instructions": None,
            "metadata": {},
            "temperature": body.get("temperature"),
            "top_p": None,
            "usage": {
                "input_tokens": 3,
                "output_tokens": 4,
                "total_tokens": 7,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens_details": {"reasoning_tokens": 0},
            }
            if done
            else None,
        }

    async def _create(self, request: Request) -> Response:
        body = json.loads(await request.body())
        if not body.get("background"):
            return JSONResponse(
                {"error": {"message": "this test upstream only does background", "type": "x"}},
                400,
            )
        self._next += 1
        rid = f"resp_bg{self._next:04d}"
        self.bodies[rid] = body
        self.polls[rid] = 0
        return JSONResponse(self._object(rid, "queued"))

    async def _retrieve(self, request: Request) -> Response:
        rid = request.path_params["rid"]
        if rid not in self.bodies:
            return JSONResponse({"error": {"message": "not found", "type": "invalid"}}, 404)
        self.polls[rid] += 1
        await anyio.sleep(0.005)  # a real server takes a moment
        done = self.polls[rid] > self.polls_until_done
        return JSONResponse(self._object(rid, "completed" if done else "in_progress"))

    async def _cancel(self, request: Request) -> Response:
        rid = request.path_params["rid"]
        return JSONResponse(self._object(rid, "cancelled"))
