"""Real recordings the llama-stack reader must bridge, replayed through the real SDKs.

- A chat call the recorder filed under ``/v1/completions``: the answer's type
  (``ChatCompletionChunk``) says it was ``chat.completions.create``, and it replays
  through that call, in process and through ``llmreel serve``.
- IBM watsonx model lists recorded with ``extra_query={"project_id": ...}``: the real
  call sends ``?project_id=...``; the recording keeps it as the request's query, and a
  replay matches whatever project the client is configured with, as llama-stack does.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import openai
import pytest

import llama_stack_calls as calls
import llmreel
from llmreel.formats.llama_stack import from_document
from server_helpers import serving

DATA = Path(__file__).parent / "data"
MISLABELLED = (
    DATA
    / "llama_stack_reader"
    / "632ce0140a65d71196900f356f4790795b4504dd4bf4a31c9e3d2733f0faf2db.json"
)
WATSONX = sorted((DATA / "llama_stack_names" / "fresh").glob("models-*-c99eb79a.json"))
BASE = "http://127.0.0.1:11434"


def _doc(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(path.read_text())
    return doc


def _cassette(path: Path, tmp: Path) -> Path:
    (tmp / "c").mkdir()
    shutil.copy(path, tmp / "c" / path.name)
    return tmp / "c"


def test_a_chat_call_filed_under_completions_is_read_as_the_chat_call_it_was() -> None:
    doc = _doc(MISLABELLED)
    assert doc["request"]["endpoint"] == "/v1/completions" and "messages" in doc["request"]["body"]
    inter = from_document(doc, str(MISLABELLED))
    assert inter.request.path == "/v1/chat/completions"
    assert inter.response.stream == "sse" and inter.response.events[-1].data == "[DONE]"


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_the_mislabelled_chat_stream_replays_through_chat_completions_create(
    is_async: bool, tmp_path: Path
) -> None:
    doc = _doc(MISLABELLED)
    body = doc["request"]["body"]
    expected = [c["__data__"] for c in doc["response"]["body"]]
    cassette = _cassette(MISLABELLED, tmp_path)
    with llmreel.use_cassette(cassette, mode="replay") as session:
        if is_async:

            async def run() -> list[Any]:
                c = openai.AsyncOpenAI(base_url=f"{BASE}/v1", api_key="k", max_retries=0)
                return [calls._dump(x) async for x in await c.chat.completions.create(**body)]

            got = asyncio.run(run())
        else:
            c = openai.OpenAI(base_url=f"{BASE}/v1", api_key="k", max_retries=0)
            got = [calls._dump(x) for x in c.chat.completions.create(**body)]
    assert session.played == 1 and not session.misses
    assert [calls._same(g, e) for g, e in zip(got, expected, strict=True)] == [True] * len(got)


def test_the_mislabelled_chat_stream_replays_through_the_server(tmp_path: Path) -> None:
    doc = _doc(MISLABELLED)
    cassette = _cassette(MISLABELLED, tmp_path)
    with serving(cassette, mode="replay") as srv:
        c = openai.OpenAI(base_url=f"{srv.base_url}/v1", api_key="k", max_retries=0)
        got = [calls._dump(x) for x in c.chat.completions.create(**doc["request"]["body"])]
    assert len(got) == len(doc["response"]["body"]) and got[0]["object"] == "chat.completion.chunk"


@pytest.mark.parametrize("path", WATSONX, ids=lambda p: p.name[:16])
def test_a_watsonx_model_list_keeps_its_project_query_and_matches_any_project(
    path: Path, tmp_path: Path
) -> None:
    doc = _doc(path)
    project = doc["request"]["body"]["extra_query"]["project_id"]
    inter = from_document(doc, str(path))
    assert inter.request.method == "GET" and inter.request.query == [("project_id", project)]
    cassette = _cassette(path, tmp_path)
    expected = [m["__data__"]["id"] for m in doc["response"]["body"]]
    for extra in ({"project_id": project}, {"project_id": "another-project"}, None):
        with llmreel.use_cassette(cassette, mode="replay") as session:
            c = openai.OpenAI(base_url=f"{BASE}/v1", api_key="k", max_retries=0)
            got = [m.id for m in c.models.list(extra_query=extra)]
        assert got == expected and session.played == 1 and not session.misses, extra
