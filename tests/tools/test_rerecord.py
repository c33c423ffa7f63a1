"""``llmreel rerecord``: stale (or chosen) recordings recorded again in place from real llama.cpp.

Only the chosen files change, each keeping its name, key and position; every other file
stays byte-identical; a re-record that would write a secret, or an error over a good
answer, is refused and the old file stays whole; llama-stack files are never even sent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openai
import pytest
from typer.testing import CliRunner

import llmreel
from llmreel.cli import app
from llmreel.formats import load_file
from llmreel.formats.age import parse_time
from llmreel.model.interaction import Interaction
from upstreams.faulty import FaultyUpstream
from upstreams.llamacpp import LlamaCppServer
from upstreams.serving import free_port

runner = CliRunner()
CHAT, MESSAGES = "/v1/chat/completions", "/v1/messages"


def run(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, ["rerecord", *map(str, args)], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def digests(path: Path) -> dict[str, str]:
    return {
        p.relative_to(path).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def streamed_text(inter: Interaction) -> str:
    """The words of an OpenAI chat stream."""
    out = []
    for e in inter.response.events:
        if e.data and e.data.startswith("{"):
            for choice in json.loads(e.data)["choices"]:
                out.append(choice["delta"].get("content") or "")
    return "".join(out)


def age_file(path: Path, days: int) -> None:
    """Make a native recording look ``days`` old (only its ``recorded_at`` changes)."""
    when = (dt.datetime.now(dt.UTC) - dt.timedelta(days=days)).isoformat(timespec="seconds")
    text = re.sub(r'"recorded_at":"[^"]*"', f'"recorded_at":"{when}"', path.read_text(), count=1)
    path.write_text(text)


def find(path: Path, endpoint: str, streamed: bool) -> Path:
    return next(
        p
        for p in sorted(path.glob("*.json"))
        if (load_file(p).request.path, load_file(p).response.stream is not None)
        == (endpoint, streamed)
    )


@pytest.mark.llamacpp
def test_stale_recordings_are_refreshed_in_place_and_the_others_stay_byte_identical(
    recordings: Path, llamacpp: LlamaCppServer
) -> None:
    stale = [find(recordings, CHAT, True), find(recordings, MESSAGES, False)]
    for p in stale:
        age_file(p, 200)
    age_file(find(recordings, CHAT, False), 30)  # old, but not older than 90 days
    before = digests(recordings)
    old = {p.name: load_file(p) for p in stale}

    code, stdout, stderr = run(recordings, "--upstream", llamacpp.base_url, "--stale", "90d")
    assert code == 0, stdout + stderr
    after = digests(recordings)
    assert set(after) == set(before)  # same names, no file added or removed
    changed = {name for name in after if after[name] != before[name]}
    assert changed == {p.name for p in stale}
    for p in stale:
        new = load_file(p)
        assert (new.key, new.position, new.request) == (
            old[p.name].key,
            old[p.name].position,
            old[p.name].request,
        )
        when = parse_time(new.recorded_at)
        assert when is not None and dt.datetime.now(dt.UTC) - when < dt.timedelta(hours=1)
    # What changed in the answers: llama.cpp at temperature 0 gives the same words again.
    assert stdout.count("written ") == 2
    assert stdout.count("structure unchanged") == 2
    assert stdout.count("text unchanged") == 2
    assert "2 of 8 recording(s) chosen; 2 re-recorded, 0 not" in stdout
    assert stderr.count("rerecord [") == 2  # progress


@pytest.fixture
def offline(faulty: FaultyUpstream, tmp_path: Path) -> Path:
    """Three chat recordings from the in-process fault upstream (no llama.cpp needed)."""
    path = tmp_path / "offline"
    client = openai.OpenAI(base_url=f"{faulty.base_url}/v1", api_key="sk-test", max_retries=0)
    with client, llmreel.use_cassette(path, mode="record"):
        for word in ("alpha", "beta", "gamma"):
            client.chat.completions.create(
                model="smollm2", messages=[{"role": "user", "content": word}]
            )
    return path


def test_filters_choose_what_a_dry_run_lists(offline: Path) -> None:
    path = offline
    tagged = sorted(path.glob("*.json"))[:2]
    for p in tagged:
        p.write_text(p.read_text().replace('"test":null', '"test":"tests/test_chat.py::test_one"'))
    dead = f"http://127.0.0.1:{free_port()}"

    def chosen(*args: str) -> list[str]:
        code, stdout, _ = run(path, "-u", dead, "--dry-run", "--json", *args)
        assert code == 0
        doc: dict[str, Any] = json.loads(stdout)
        assert all(r["outcome"] == "skipped" for r in doc["recordings"])
        return [r["file"] for r in doc["recordings"]]

    assert chosen("--test", "test_one") == [p.name for p in tagged]
    assert len(chosen("--model", "SMOLLM")) == 3
    assert chosen("--model", "gpt-4o") == []
    assert chosen("--stale", "90d") == []
    assert chosen("--test", "test_one", "--model", "gpt") == []  # filters combine
    assert len(chosen("--all")) == 3


def test_bad_selections_are_usage_errors(tmp_path: Path) -> None:
    code, _, stderr = run(tmp_path, "-u", "http://127.0.0.1:1")
    assert code == 2 and "--stale DURATION, --test TEXT, --model TEXT, or --all" in stderr
    code, _, stderr = run(tmp_path, "-u", "http://127.0.0.1:1", "--stale", "3 months")
    assert code == 2 and "unknown unit 'months'" in stderr and "use days" in stderr
    code, _, stderr = run(tmp_path, "--all")
    assert code == 2 and "--upstream URL is required" in stderr
    code, _, stderr = run(tmp_path / "missing", "--all", "-u", "http://127.0.0.1:1")
    assert code == 2 and "does not exist" in stderr
    code, _, stderr = run(tmp_path, "--all", "-u", "ftp://example")
    assert code == 2 and "is not an http(s) URL" in stderr


@pytest.mark.llamacpp
def test_a_rerecord_that_would_write_a_secret_is_refused_and_the_old_file_stays(
    pick: Callable[..., Path], drifting: str
) -> None:
    path = pick((CHAT, False))
    before = digests(path)
    code, stdout, _ = run(path, "-u", f"{drifting}/leak-key", "--all", "--json")
    assert code == 1
    [r] = json.loads(stdout)["recordings"]
    assert not r["written"]
    assert "refused to write a recording" in r["not_written"]
    assert "Nothing was written" in r["not_written"]
    assert digests(path) == before
    assert not list(path.glob(".*.partial"))


def test_llama_stack_files_are_read_only_and_never_sent(shared_dir: Path, tmp_path: Path) -> None:
    src = shared_dir / "conformance" / "llama-stack" / "v0.2"
    dst = tmp_path / "v0.2"
    dst.mkdir()
    for p in src.glob("*.json"):
        (dst / p.name).write_bytes(p.read_bytes())
    before = digests(dst)
    # A closed port: had anything been sent, the result would say it could not be reached.
    code, stdout, _ = run(dst, "-u", f"http://127.0.0.1:{free_port()}", "--all", "--json")
    assert code == 1
    doc = json.loads(stdout)
    assert doc["chosen"] == len(before) and doc["written"] == 0
    for r in doc["recordings"]:
        assert r["outcome"] == "skipped" and r["error"] is None
        assert "llama-stack recordings are read-only" in r["not_written"]
    assert digests(dst) == before


def test_an_imported_llama_stack_recording_is_re_recorded_and_exports_the_new_answer(
    shared_dir: Path, tmp_path: Path, faulty: FaultyUpstream
) -> None:
    src = shared_dir / "conformance" / "llama-stack" / "v0.2" / "3ca695048bee.json"
    (tmp_path / "ls").mkdir()
    (tmp_path / "ls" / src.name).write_bytes(src.read_bytes())
    imported = tmp_path / "imported"
    assert (
        runner.invoke(app, ["import", str(tmp_path / "ls"), "--to", str(imported)]).exit_code == 0
    )
    [file] = [p for p in imported.rglob("*.json") if ".llmreel" not in p.parts]
    old = load_file(file)

    code, stdout, _ = run(imported, "-u", faulty.base_url, "--all", "--json")
    assert code == 0, stdout
    new = load_file(file)
    assert (new.key, new.position, new.request) == (old.key, old.position, old.request)
    assert new.meta["llama_stack"]["request"] == old.meta["llama_stack"]["request"]
    assert "response" not in new.meta["llama_stack"]  # the old answer's flags are gone

    out = tmp_path / "exported"
    result = runner.invoke(
        app, ["export", str(imported), "--to", str(out), "--format", "llama-stack-v0.2"]
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    [exported] = out.rglob("*.json")
    again = load_file(exported)  # llama-stack's format, read back by llmreel's reader
    assert again.source == "llama-stack"
    assert streamed_text(again) == streamed_text(new)  # the new answer, not the old one
    assert streamed_text(new) and streamed_text(new) != streamed_text(old)
