"""``llmreel ls --older-than``: recordings by age, for every format, with clear duration errors."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
from pathlib import Path

import openai
import pytest
from typer.testing import CliRunner

import llmreel
from llmreel.cli import app
from upstreams.faulty import FaultyUpstream

runner = CliRunner()


def ls(*args: str | Path) -> tuple[int, list[dict[str, object]] | None, str]:
    result = runner.invoke(app, ["ls", *map(str, args), "--json"], catch_exceptions=False)
    doc = json.loads(result.stdout) if result.exit_code == 0 else None
    return result.exit_code, doc, result.stderr


def test_older_than_lists_native_and_llama_stack_recordings_by_their_own_time(
    faulty: FaultyUpstream, shared_dir: Path, tmp_path: Path
) -> None:
    native = tmp_path / "native"
    client = openai.OpenAI(base_url=f"{faulty.base_url}/v1", api_key="sk-test", max_retries=0)
    with client, llmreel.use_cassette(native, mode="record"):
        for word in ("old", "new"):
            client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": f"{word} question"}]
            )
    old = next(p for p in native.glob("*.json") if "old question" in p.read_text())
    when = (dt.datetime.now(dt.UTC) - dt.timedelta(days=120)).isoformat(timespec="seconds")
    old.write_text(re.sub(r'"recorded_at":"[^"]*"', f'"recorded_at":"{when}"', old.read_text()))

    conf = shared_dir / "conformance" / "llama-stack"
    shutil.copytree(conf / "v0.2", tmp_path / "v0.2")
    shutil.copytree(conf / "2026", tmp_path / "2026")
    # Every copied file was modified just now: only a time inside the answer makes one old.
    now = dt.datetime.now(dt.UTC).timestamp()
    for p in tmp_path.rglob("*.json"):
        if "native" not in p.parts:
            os.utime(p, (now, now))

    code, rows, _ = ls(tmp_path, "--older-than", "90d")
    assert code == 0 and rows is not None
    files = {str(r["file"]) for r in rows}
    assert f"native/{old.name}" in files
    assert not any(f.startswith("native/") and f != f"native/{old.name}" for f in files)
    # v0.2 answers carry Ollama's 2025 "created"; the 2026 generation writes created=0.
    assert "v0.2/3ca695048bee.json" in files and "v0.2/dd9e7d5913e9.json" in files
    assert not any(f.startswith("2026/") for f in files)

    # A 2026 file whose date is old is old.
    stale = next((tmp_path / "2026").glob("37e10e6ac4*.json"))
    then = (dt.datetime.now(dt.UTC) - dt.timedelta(days=400)).timestamp()
    os.utime(stale, (then, then))
    _, rows, _ = ls(tmp_path / "2026", "--older-than", "1w")
    assert rows is not None and [r["file"] for r in rows] == [stale.name]


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("90", "--older-than: '90' needs a unit"),
        ("3mo", "unknown unit 'mo' in '3mo' (months and years vary in length: use days)"),
    ],
)
def test_a_bad_age_is_a_usage_error(tmp_path: Path, value: str, says: str) -> None:
    code, _, stderr = ls(tmp_path, "--older-than", value)
    assert code == 2 and says in stderr
