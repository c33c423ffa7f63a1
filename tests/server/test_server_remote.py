"""``llmreel serve --dir s3://bucket/prefix``: replicas share one store.

One replica records what is missing from the upstream; a second replica, with a cache
of its own and no upstream, replays it to the real openai SDK; each ``X-Llmreel-Cassette``
is its own prefix.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import openai
import pytest

from llmreel.server import ServerConfig, ServerThread
from upstreams.faulty import FaultyUpstream
from upstreams.s3 import MotoS3


def _ask(base_url: str, text: str, cassette: str | None = None) -> str:
    headers = {"X-Llmreel-Cassette": cassette} if cassette else None
    client = openai.OpenAI(base_url=f"{base_url}/v1", api_key="k", max_retries=0)
    with client:
        chunks = client.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": text}],
            stream=True,
            extra_headers=headers,
        )
        return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def test_a_replica_replays_what_another_recorded_into_the_store(
    s3: MotoS3, faulty: FaultyUpstream, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bucket = s3.bucket()
    url = f"s3://{bucket}/replicas"
    recorder = ServerConfig.build(url, mode="record-if-missing", upstream=faulty.base_url)
    with ServerThread(recorder) as srv:
        live = [_ask(srv.base_url, "root one"), _ask(srv.base_url, "team", cassette="team-a")]
    assert sorted(k.rsplit("/", 1)[0] for k in s3.objects(bucket)) == [
        "replicas",
        "replicas/team-a",
    ]
    monkeypatch.setenv("LLMREEL_CACHE_DIR", str(tmp_path / "replica-2"))
    asked = len(faulty.received)
    with ServerThread(ServerConfig.build(url)) as srv:
        assert _ask(srv.base_url, "root one") == live[0]
        assert _ask(srv.base_url, "team", cassette="team-a") == live[1]
        # A cassette is its own prefix: team-a's recording does not answer the root's.
        with pytest.raises(openai.NotFoundError, match="replay miss"):
            _ask(srv.base_url, "team")
    assert len(faulty.received) == asked


def test_the_inspector_on_a_store_says_how_to_look_at_its_files(s3: MotoS3) -> None:
    url = f"s3://{s3.bucket()}/replicas"
    with ServerThread(ServerConfig.build(url)) as srv:
        answer = httpx.get(f"{srv.base_url}/_llmreel/ui/")
    assert answer.status_code == 404
    assert "llmreel sync pull" in answer.json()["error"]
    assert url in answer.json()["error"]
