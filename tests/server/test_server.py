"""``llmreel serve`` in replay mode, checked with curl and the real SDKs on real sockets.

Covers: the seed over ``curl -N`` through the real CLI; every recording of the shared
llama-stack sample (OpenAI, Ollama, Anthropic; sync and async; streamed and not) through
its own SDK, each test picking its cassette with the ``X-Llmreel-Cassette`` header; made-up
model lists; misses answered in each API's error shape; cassette names that try to escape;
the control surface; the request size limit; the CLI's checks; and the demo.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import ollama
import openai
import pytest

import llama_stack_calls as calls
from llmreel.server import OUTCOME_HEADER, ServerThread
from server_helpers import (
    CASSETTE_HEADER,
    SEED_BODY,
    SEED_MESSAGES,
    SEED_MODEL,
    SEED_NAME,
    cli_server,
    serving,
)
from upstreams.serving import free_port

SHARED = Path(__file__).resolve().parents[3] / "shared"
SAMPLE = sorted([*SHARED.glob("conformance/llama-stack/*/*.json"), *SHARED.glob("seed/*.txt")])
CURL = shutil.which("curl")


def _recorded_chunks(path: Path) -> list[Any]:
    return [item["__data__"] for item in json.loads(path.read_text())["response"]["body"]]


@pytest.fixture
def seed_dir(shared_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "seed"
    target.mkdir()
    shutil.copy(shared_dir / "seed" / SEED_NAME, target / SEED_NAME)
    return target


# --------------------------------------------------------------------------- the seed


@pytest.mark.skipif(CURL is None, reason="curl is not installed")
def test_seed_over_curl_gives_46_recorded_events_then_done(
    seed_dir: Path, shared_dir: Path, tmp_path: Path
) -> None:
    assert CURL is not None
    with cli_server(["--dir", str(seed_dir)], tmp_path) as server:
        out = subprocess.run(
            [
                CURL,
                "-sN",
                f"{server.base_url}/v1/chat/completions",
                "-H",
                "content-type: application/json",
                "-d",
                json.dumps(SEED_BODY),
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
        rc = server.signal(signal.SIGINT)
    data = [line[len("data: ") :] for line in out.splitlines() if line.startswith("data:")]
    assert len(data) == 47
    assert data[-1] == "[DONE]"
    assert [json.loads(d) for d in data[:-1]] == _recorded_chunks(shared_dir / "seed" / SEED_NAME)
    assert rc == 0, server.output()
    log = server.output()
    assert "method=POST path=/v1/chat/completions cassette=. outcome=hit status=200" in log


def test_seed_replays_through_openai_sdk_stream_as_recorded_objects(
    seed_dir: Path, shared_dir: Path
) -> None:
    with serving(seed_dir) as server:
        client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="sk-x", max_retries=0)
        with client:
            stream = client.chat.completions.create(
                model=SEED_MODEL, messages=SEED_MESSAGES, stream=True
            )
            got = [c.model_dump(mode="json", exclude_unset=True) for c in stream]
    assert got == _recorded_chunks(shared_dir / "seed" / SEED_NAME)
    assert "".join(c["choices"][0]["delta"]["content"] or "" for c in got).startswith(
        "The capital of the United States is Washington, D.C."
    )


# --------------------------------------------------------------------------- conformance sample

MODES = ("sync", "async")


@pytest.fixture(scope="module")
def sample_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """One server over the whole sample, one cassette (sub-directory) per file and mode."""
    if not SAMPLE:
        pytest.skip("shared conformance sample not found")
    root = tmp_path_factory.mktemp("sample")
    for path in SAMPLE:
        for mode in MODES:
            target = root / _cassette_name(path, mode)
            target.mkdir(parents=True)
            shutil.copy(path, target / path.name)
    with serving(root) as server:
        yield server


def _cassette_name(path: Path, mode: str) -> str:
    return f"{path.parent.name}/{path.stem[:16]}-{mode}"


def _client(sdk: str, base: str, cassette: str, *, is_async: bool) -> Any:
    headers = {CASSETTE_HEADER: cassette}
    if sdk == "openai":
        cls = openai.AsyncOpenAI if is_async else openai.OpenAI
        return cls(base_url=f"{base}/v1", api_key="sk-test", max_retries=0, default_headers=headers)
    if sdk == "anthropic":
        acls = anthropic.AsyncAnthropic if is_async else anthropic.Anthropic
        return acls(base_url=base, api_key="test", max_retries=0, default_headers=headers)
    ocls = ollama.AsyncClient if is_async else ollama.Client
    return ocls(host=base, headers=headers)


@pytest.mark.skipif(not SAMPLE, reason="shared conformance sample not found")
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("path", SAMPLE, ids=[f"{p.parent.name}/{p.name[:16]}" for p in SAMPLE])
def test_sample_recording_replays_through_server_with_its_sdk(
    sample_server: ServerThread, path: Path, mode: str
) -> None:
    plan = calls.plan(calls.load(path))
    assert plan is not None, path
    name = _cassette_name(path, mode)
    base = sample_server.base_url
    try:
        if mode == "async":

            async def run() -> Any:
                client = _client(plan.sdk, base, name, is_async=True)
                try:
                    return await plan.acall(client)
                finally:
                    await client.close()

            got = asyncio.run(run())
        else:
            with _client(plan.sdk, base, name, is_async=False) as client:
                got = plan.call(client)
    except Exception as exc:  # a recorded provider error, replayed
        calls.check_error(plan, exc)
    else:
        calls.check(plan, got)
    stats = httpx.get(f"{sample_server.base_url}/_llmreel/stats", params={"cassette": name}).json()
    assert stats["hits"] == 1 and stats["misses"] == 0, stats


# --------------------------------------------------------------------------- model lists


def test_model_lists_are_made_up_from_the_cassette_when_not_recorded(seed_dir: Path) -> None:
    with serving(seed_dir) as server:
        with openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="x") as client:
            models = client.models.list()
        with ollama.Client(host=server.base_url) as oclient:
            tags = oclient.list()
        stats = httpx.get(f"{server.base_url}/_llmreel/stats").json()["total"]
    assert [m.id for m in models] == [SEED_MODEL]
    assert [m.model for m in tags.models] == [SEED_MODEL]
    assert stats["synthesized"] == 2 and stats["misses"] == 0


def test_recorded_model_list_wins_over_a_made_up_one(shared_dir: Path, tmp_path: Path) -> None:
    tags_file = shared_dir / "conformance/llama-stack/v0.2/4a3a4447b16b.json"
    shutil.copy(tags_file, tmp_path / tags_file.name)
    body = json.loads(tags_file.read_text())["response"]["body"]
    recorded = [m["model"] for m in body["__data__"]["models"]]
    with serving(tmp_path) as server, ollama.Client(host=server.base_url) as client:
        tags = client.list()
    assert [m.model for m in tags.models] == recorded
    assert len(recorded) > 1


# --------------------------------------------------------------------------- misses


def test_miss_is_an_openai_error_that_explains_and_is_not_retried(seed_dir: Path) -> None:
    with serving(seed_dir) as server:
        client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="x", max_retries=3)
        with client, pytest.raises(openai.NotFoundError) as err:
            client.chat.completions.create(
                model=SEED_MODEL,
                messages=[{"role": "user", "content": "What is the name of the US capital?"}],
                stream=True,
            )
        stats = httpx.get(f"{server.base_url}/_llmreel/stats").json()["total"]
    exc = err.value
    assert exc.response.headers["x-should-retry"] == "false"
    assert exc.response.headers[OUTCOME_HEADER] == "miss"
    body = exc.body
    assert isinstance(body, dict) and body["code"] == "llmreel_replay_miss"
    message = body["message"]
    assert "no recording in cassette" in message
    assert SEED_NAME in message  # the closest recording is named
    assert "captial?" in message and "capital?" in message  # the body diff
    assert "--mode record-if-missing" in message
    # x-should-retry: false stopped the SDK's retries: exactly one request reached us.
    assert stats["requests"] == 1 and stats["misses"] == 1


def test_miss_is_an_anthropic_error_in_anthropic_shape(seed_dir: Path) -> None:
    with serving(seed_dir) as server:
        client = anthropic.Anthropic(base_url=server.base_url, api_key="x", max_retries=2)
        with client, pytest.raises(anthropic.NotFoundError) as err:
            client.messages.create(
                model="claude-x", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
            )
    body = err.value.body
    assert isinstance(body, dict)
    assert body["type"] == "error"
    assert body["error"]["type"] == "not_found_error"
    assert "replay miss" in body["error"]["message"]


def test_miss_is_an_ollama_error_in_ollama_shape(seed_dir: Path) -> None:
    with (
        serving(seed_dir) as server,
        ollama.Client(host=server.base_url) as client,
        pytest.raises(ollama.ResponseError) as err,
    ):
        client.chat(model="llama3.2", messages=[{"role": "user", "content": "hi"}])
    assert err.value.status_code == 404
    assert "replay miss" in err.value.error
    assert "POST /api/chat" in err.value.error


def test_sequence_exhausted_then_reset_starts_over(seed_dir: Path) -> None:
    with serving(seed_dir) as server:
        url = f"{server.base_url}/v1/chat/completions"
        first = httpx.post(url, json=SEED_BODY)
        second = httpx.post(url, json=SEED_BODY)
        reset = httpx.post(f"{server.base_url}/_llmreel/reset")
        third = httpx.post(url, json=SEED_BODY)
    assert first.status_code == 200 and third.status_code == 200
    assert third.text == first.text
    assert second.status_code == 404
    assert "was sent 2 times" in second.json()["error"]["message"]
    assert reset.json() == {"reset": ["."]}


def test_on_exhausted_repeat_replays_the_last_recording_again(seed_dir: Path) -> None:
    with serving(seed_dir, on_exhausted="repeat") as server:
        url = f"{server.base_url}/v1/chat/completions"
        texts = [httpx.post(url, json=SEED_BODY).text for _ in range(3)]
    assert texts[0] == texts[1] == texts[2]
    assert texts[0].endswith("data: [DONE]\n\n")


# --------------------------------------------------------------------------- cassettes


def test_cassette_header_selects_a_cassette_under_dir(seed_dir: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "team" / "chat").mkdir(parents=True)
    shutil.copy(seed_dir / SEED_NAME, root / "team" / "chat" / SEED_NAME)
    (root / "empty").mkdir()
    with serving(root) as server:
        url = f"{server.base_url}/v1/chat/completions"
        hit = httpx.post(url, json=SEED_BODY, headers={CASSETTE_HEADER: "team/chat"})
        miss = httpx.post(url, json=SEED_BODY, headers={CASSETTE_HEADER: "empty"})
        stats = httpx.get(f"{server.base_url}/_llmreel/stats").json()["cassettes"]
    assert hit.status_code == 200 and hit.headers[OUTCOME_HEADER] == "hit"
    assert miss.status_code == 404
    assert str(root / "empty") in miss.json()["error"]["message"]
    assert stats["team/chat"]["hits"] == 1 and stats["empty"]["misses"] == 1


@pytest.mark.parametrize(
    "name", ["../outside", "a/../../outside", "a/./b", ".hidden", "a//b", "x\\..\\..\\y", "a b"]
)
def test_cassette_names_that_escape_or_are_unusable_are_rejected(tmp_path: Path, name: str) -> None:
    root = tmp_path / "root"
    root.mkdir()
    with serving(root) as server:
        response = httpx.post(
            f"{server.base_url}/v1/chat/completions",
            json=SEED_BODY,
            headers={CASSETTE_HEADER: name},
        )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "llmreel_invalid_cassette"
    assert "invalid cassette name" in response.json()["error"]["message"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["root"]


# --------------------------------------------------------------------------- control surface


def test_control_surface_reports_health_and_live_counters(seed_dir: Path) -> None:
    with serving(seed_dir, mode="replay") as server:
        base = server.base_url
        health = httpx.get(f"{base}/_llmreel/health").json()
        httpx.post(f"{base}/v1/chat/completions", json=SEED_BODY)
        httpx.post(f"{base}/v1/chat/completions", json={**SEED_BODY, "model": "other"})
        stats = httpx.get(f"{base}/_llmreel/stats").json()
        one = httpx.get(f"{base}/_llmreel/stats", params={"cassette": "never-used"}).json()
        unknown = httpx.get(f"{base}/_llmreel/nope")
    assert health["status"] == "ok"
    assert health["mode"] == "replay" and health["dir"] == str(seed_dir)
    counters = stats["cassettes"]["."]
    assert (counters["hits"], counters["misses"], counters["recorded"], counters["errors"]) == (
        1,
        1,
        0,
        0,
    )
    assert counters["in_flight"] == 0 and counters["requests"] == 2
    assert "model other" in counters["missed"][0]
    assert stats["total"]["hits"] == 1
    assert one == {
        "cassette": "never-used",
        "seen": False,
        "hits": 0,
        "misses": 0,
        "recorded": 0,
        "errors": 0,
        "passed_through": 0,
        "synthesized": 0,
        "requests": 0,
        "faults": 0,
        "in_flight": 0,
        "missed": [],
    }
    assert unknown.status_code == 404 and "/_llmreel/health" in unknown.json()["error"]


def test_request_body_over_the_limit_gets_a_clear_413(seed_dir: Path) -> None:
    with serving(seed_dir, max_body=1024) as server:
        url = f"{server.base_url}/v1/chat/completions"
        big = {**SEED_BODY, "messages": [{"role": "user", "content": "x" * 4000}]}
        declared = httpx.post(url, json=big)

        def chunked() -> Iterator[bytes]:  # no content-length: counted while reading
            data = json.dumps(big).encode()
            for i in range(0, len(data), 500):
                yield data[i : i + 500]

        streamed = httpx.post(url, content=chunked(), headers={"content-type": "application/json"})
        small = httpx.post(url, json=SEED_BODY)
    for response in (declared, streamed):
        assert response.status_code == 413
        error = response.json()["error"]
        assert error["code"] == "llmreel_body_too_large"
        assert "--max-body" in error["message"] and "1024 bytes" in error["message"]
    assert small.status_code == 200


# --------------------------------------------------------------------------- CLI and demo


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llmreel", "serve", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )


def test_serve_help_shows_an_example() -> None:
    result = _cli("--help")
    assert result.returncode == 0, result.stderr
    assert "--upstream" in result.stdout and "--mode" in result.stdout
    assert "llmreel serve --dir tests/cassettes" in result.stdout


def test_record_mode_without_upstream_is_refused_clearly(tmp_path: Path) -> None:
    result = _cli("--dir", str(tmp_path), "--mode", "record-if-missing")
    assert result.returncode == 2
    assert "needs --upstream URL" in result.stderr


def test_mode_and_dir_come_from_the_environment(tmp_path: Path) -> None:
    env = {**os.environ, "LLMREEL_MODE": "record", "LLMREEL_DIR": str(tmp_path)}
    result = _cli(env=env)
    assert result.returncode == 2
    assert "--mode record forwards requests" in result.stderr


def test_taken_port_is_reported_with_a_hint(tmp_path: Path, seed_dir: Path) -> None:
    with serving(seed_dir) as server:
        result = _cli("--dir", str(tmp_path), "--port", str(server.port))
    assert result.returncode == 2
    assert f"port {server.port} on 127.0.0.1 is already in use" in result.stderr
    assert "--port" in result.stderr


def test_demo_once_streams_the_seed_answer() -> None:
    port = free_port()
    result = subprocess.run(
        [sys.executable, "-m", "llmreel.demo", "--port", str(port), "--once"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "The capital of the United States is Washington, D.C." in result.stdout
    assert "46 streamed chunks" in result.stdout


def test_demo_on_a_taken_port_says_so(seed_dir: Path) -> None:
    with serving(seed_dir) as server:
        result = subprocess.run(
            [sys.executable, "-m", "llmreel.demo", "--port", str(server.port), "--once"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert "already in use" in result.stderr and "--port" in result.stderr


@pytest.mark.skipif(not os.environ.get("LLMREEL_CORPUS"), reason="set LLMREEL_CORPUS to a corpus")
def test_full_corpus_pass_rate_through_the_server(tmp_path: Path) -> None:
    """A whole llama-stack corpus through one server, one cassette per file: >= 99% pass."""
    corpus = Path(os.environ["LLMREEL_CORPUS"])
    results: dict[str, str] = {}
    planned: list[tuple[Path, str, Any]] = []
    for i, path in enumerate(sorted(corpus.rglob("*.json"))):
        try:
            plan = calls.plan(calls.load(path))
        except Exception as exc:
            results[str(path)] = f"FAIL unreadable: {exc}"
            continue
        if plan is None:
            results[str(path)] = "skipped: no SDK call"
            continue
        name = f"c{i}"
        (tmp_path / name).mkdir()
        shutil.copy(path, tmp_path / name / path.name)
        planned.append((path, name, plan))
    with serving(tmp_path) as server:
        for path, name, plan in planned:
            try:
                with _client(plan.sdk, server.base_url, name, is_async=False) as client:
                    try:
                        got = plan.call(client)
                    except Exception as exc:
                        calls.check_error(plan, exc)
                    else:
                        calls.check(plan, got)
                results[str(path)] = "ok"
            except Exception as exc:
                results[str(path)] = f"FAIL {type(exc).__name__}: {str(exc)[:300]}"
    ran = [r for r in results.values() if not r.startswith("skipped")]
    ok = sum(r == "ok" for r in ran)
    rate = ok / max(1, len(ran))
    print(f"corpus through llmreel serve: {ok}/{len(ran)} replayed ({rate:.2%})")
    calls.save_report(results, "server")
    failures = [f"{k}: {v}" for k, v in results.items() if v.startswith("FAIL")]
    assert rate >= 0.99, "\n".join(failures[:50])
