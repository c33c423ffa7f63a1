"""``llmreel sync`` and the other commands on ``s3://`` URLs, against a real S3 API (moto)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import openai
import pytest
from typer.testing import CliRunner

import llmreel
from llmreel.cli import app
from upstreams.faulty import FaultyUpstream
from upstreams.s3 import MotoS3

runner = CliRunner()


def run(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def checkout(faulty: FaultyUpstream, tmp_path: Path) -> Path:
    """A cassette tree as it sits in git: two cassettes recorded live with the openai SDK."""
    root = tmp_path / "checkout"
    client = openai.OpenAI(base_url=f"{faulty.base_url}/v1", api_key="sk-test", max_retries=0)
    with client:
        for name, text in (("chat", "alpha beta"), ("nested/weather", "weather in Paris")):
            with llmreel.use_cassette(root / name, mode="record"):
                client.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": text}]
                )
    return root


def test_push_uploads_only_what_differs_and_pull_brings_it_back(
    s3: MotoS3, checkout: Path, tmp_path: Path
) -> None:
    url = f"s3://{s3.bucket()}/team"
    code, out, _ = run("sync", "push", checkout, url, "--json")
    assert code == 0 and len(json.loads(out)["copied"]) == 2
    code, out, _ = run("sync", "push", checkout, url, "--json")
    assert json.loads(out)["copied"] == [] and json.loads(out)["unchanged"] == 2

    changed = next((checkout / "chat").glob("*.json"))
    changed.write_text(changed.read_text().replace("alpha", "ALPHA"))
    code, out, err = run("sync", "push", checkout, url)
    assert code == 0 and "upload chat/" in out and "1 file(s)" in err

    elsewhere = tmp_path / "review"
    code, out, _ = run("sync", "pull", url, elsewhere, "--json")
    assert code == 0 and len(json.loads(out)["copied"]) == 2
    mine = sorted(p.relative_to(checkout) for p in checkout.rglob("*.json"))
    theirs = sorted(p.relative_to(elsewhere) for p in elsewhere.rglob("*.json"))
    assert mine == theirs
    assert all((elsewhere / p).read_bytes() == (checkout / p).read_bytes() for p in mine)

    shutil.rmtree(checkout / "nested")
    code, out, _ = run("sync", "push", checkout, url, "--delete", "--dry-run", "--json")
    assert json.loads(out)["deleted"] == [str(p) for p in mine if "nested" in str(p)]
    assert len(s3.objects(url.split("/")[2])) == 2  # a dry run changes nothing


def test_the_read_commands_take_an_object_store_url(s3: MotoS3, checkout: Path) -> None:
    url = f"s3://{s3.bucket()}/team"
    assert run("sync", "push", checkout, url)[0] == 0
    code, out, _ = run("ls", url, "--json")
    assert code == 0 and sorted(r["endpoint"] for r in json.loads(out)) == [
        "/v1/chat/completions",
        "/v1/chat/completions",
    ]
    code, _, err = run("check", url)
    assert code == 0 and "ok: 2 file(s)" in err
    code, out, _ = run("show", "chat-completions", "--dir", f"{url}/chat")
    assert code == 0 and "alpha beta" in out


def test_import_into_a_store_and_prune_on_a_url_says_what_to_do(
    s3: MotoS3, tmp_path: Path, shared_dir: Path
) -> None:
    bucket = s3.bucket()
    code, _, err = run("import", shared_dir / "seed", "--to", f"s3://{bucket}/imported")
    assert code == 0 and "pushed 1 file(s)" in err
    ((key, data),) = s3.objects(bucket).items()
    assert key.startswith("imported/") and b"llama3.2:3b-instruct-fp16" in data
    code, _, err = run("prune", f"s3://{bucket}/imported")
    assert code == 2 and "llmreel sync pull" in err


def test_a_url_with_credentials_in_it_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    code, _, err = run("sync", "push", tmp_path, "s3://AKIAX:supersecret@bucket/x")
    assert code == 2 and "must not carry credentials" in err and "supersecret" not in err
