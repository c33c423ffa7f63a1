"""The ``llmreel`` tools run as a user runs them (typer's CliRunner, and one real subprocess):
ls, show, check, prune, import, export, diff, key; their output is checked, not just the exit code.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import openai
import pytest
from typer.testing import CliRunner

import llmreel
from llmreel.cli import app
from llmreel.store.usage import read_usage, write_usage
from synthetic_corpus import build, conformance_dir
from upstreams.faulty import FaultyUpstream

CONF = conformance_dir()
needs_conformance = pytest.mark.skipif(CONF is None, reason="conformance data not available")
runner = CliRunner()


def run(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def cassette(faulty: FaultyUpstream, tmp_path: Path) -> Path:
    """A real llmreel cassette: a plain and a streamed chat completion, recorded live."""
    path = tmp_path / "cassette"
    client = openai.OpenAI(base_url=f"{faulty.base_url}/v1", api_key="sk-test", max_retries=0)
    with client, llmreel.use_cassette(path, mode="record"):
        client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "alpha beta gamma"}], temperature=0
        )
        list(
            client.chat.completions.create(
                model="m",
                messages=[{"role": "user", "content": "what is the weather in Paris"}],
                stream=True,
                stream_options={"include_usage": True},
            )
        )
    return path


def _file_with(path: Path, text: str) -> Path:
    return next(p for p in path.glob("*.json") if text in p.read_text())


# --------------------------------------------------------------------------- help


@pytest.mark.parametrize(
    "command", ["ls", "show", "check", "prune", "import", "export", "diff", "key"]
)
def test_every_subcommand_has_help_with_an_example(command: str) -> None:
    code, out, _ = run(command, "--help")
    assert code == 0
    assert "Example:" in out and f"llmreel {command}" in out


# --------------------------------------------------------------------------- ls


def test_ls_lists_endpoint_model_stream_and_events(cassette: Path) -> None:
    code, out, err = run("ls", cassette)
    assert code == 0
    lines = [ln for ln in out.splitlines() if "/v1/chat/completions" in ln]
    assert len(lines) == 2
    streamed = next(ln for ln in lines if " yes " in ln)
    assert "POST /v1/chat/completions" in streamed and " m " in streamed
    assert "chat-completions-" in streamed
    assert "2 recording(s) listed from 2 file(s)" in err


def test_ls_json_and_filters(cassette: Path) -> None:
    code, out, _ = run("ls", cassette, "--json")
    rows = json.loads(out)
    assert code == 0 and len(rows) == 2
    stream = next(r for r in rows if r["streamed"])
    assert stream["events"] >= 3 and stream["model"] == "m" and stream["status"] == 200
    assert stream["recorded"][:2] == "20" and stream["size"] > 0

    _, out, _ = run("ls", cassette, "--json", "--grep", "PARIS")
    assert [r["streamed"] for r in json.loads(out)] == [True]
    _, out, _ = run("ls", cassette, "--json", "--endpoint", "/v1/embeddings")
    assert json.loads(out) == []
    _, out, _ = run("ls", cassette, "--json", "--model", "nope")
    assert json.loads(out) == []


@needs_conformance
def test_ls_reads_both_llama_stack_generations() -> None:
    assert CONF is not None
    code, out, _ = run("ls", CONF / "llama-stack", "--json")
    rows = {r["file"]: r for r in json.loads(out)}
    assert code == 0 and len(rows) == 19
    tags = rows["v0.2/4a3a4447b16b.json"]
    assert tags["method"] == "GET" and tags["endpoint"] == "/api/tags"
    messages = next(r for r in rows.values() if r["endpoint"] == "/v1/messages")
    assert (
        messages["streamed"] and messages["events"] > 50 and messages["test"].startswith("tests/")
    )


# --------------------------------------------------------------------------- show


def test_show_reassembles_the_streamed_answer_and_usage(cassette: Path) -> None:
    path = _file_with(cassette, '"stream":"sse"')
    code, out, _ = run("show", path)
    assert code == 0
    assert "[user] what is the weather in Paris" in out
    # The answer is every chunk's delta put back together, in order.
    events = json.loads(path.read_text())["response"]["events"]
    deltas = [
        e["json"]["choices"][0]["delta"].get("content") or ""
        for e in events
        if "json" in e and e["json"]["choices"]
    ]
    expected = "".join(deltas)
    assert len([d for d in deltas if d]) >= 3
    assert f"\n  {expected}\n" in out
    assert "finish: stop" in out
    assert "usage:" in out and "total_tokens=" in out
    assert "events/s" in out and "first event after" in out

    code, out, _ = run("show", path, "--json")
    [doc] = json.loads(out)
    assert doc["streamed"] and doc["finish_reason"] == "stop" and doc["text"] == expected
    assert doc["first_event_s"] is not None and doc["events_per_s"] > 0


def test_show_finds_a_recording_by_key_prefix_and_prints_raw(cassette: Path) -> None:
    path = _file_with(cassette, "alpha beta")
    key = json.loads(path.read_text())["key"]
    code, out, _ = run("show", key[:10], "--dir", cassette)
    assert code == 0 and "[user] alpha beta gamma" in out and "not streamed" in out
    code, out, _ = run("show", path, "--raw")
    assert code == 0 and out == path.read_text()
    code, _, err = run("show", "ffffffffffff", "--dir", cassette)
    assert code == 2 and "llmreel ls" in err


@needs_conformance
def test_show_reassembles_anthropic_and_tool_call_streams() -> None:
    assert CONF is not None
    messages = next((CONF / "llama-stack" / "2026").glob("f22657*.json"))
    code, out, _ = run("show", messages)
    assert code == 0
    assert "1, 2, 3, 4, 5" in out.replace("\n", " ")
    assert "reasoning:" in out and "timing: not recorded" in out
    tools = next((CONF / "llama-stack" / "2026").glob("585a2c*.json"))
    code, out, _ = run("show", tools, "--json")
    [doc] = json.loads(out)
    assert [c["name"] for c in doc["tool_calls"]] == ["get_current_time"]
    assert doc["finish_reason"] == "tool_calls" and doc["usage"]["total_tokens"] > 0


# --------------------------------------------------------------------------- check


def test_check_passes_a_clean_cassette(cassette: Path) -> None:
    code, out, err = run("check", cassette)
    assert code == 0, out
    assert "ok: 2 file(s) checked (2 llmreel)" in err


def test_check_names_each_bad_file_and_why(cassette: Path) -> None:
    edited = _file_with(cassette, "alpha beta")
    edited.write_text(edited.read_text().replace("alpha beta gamma", "alpha beta delta"))
    streamed = _file_with(cassette, '"stream":"sse"')
    doc = json.loads(streamed.read_text())
    leak = "sk-proj-" + "Ab3dE6gH9jK2mN5pQ8rS1tU4vW7xY0zA"
    doc["request"]["headers"]["x-debug"] = f"Bearer {leak}"
    (cassette / "copy.json").write_text(json.dumps(doc))  # same key and position
    (cassette / "cut.json").write_bytes(streamed.read_bytes()[:200])
    (cassette / "latin.json").write_bytes(b'{"llmreel": 1, "x": "caf\xe9"}')
    (cassette / "types.json").write_text('{"llmreel": 1, "request": [], "response": 5}')
    (cassette / "future.json").write_text('{"llmreel": 7, "request": {}, "response": {}}')

    code, out, err = run("check", cassette)
    assert code == 1
    by_file: dict[str, str] = {}
    for line in out.splitlines():
        kind, _, rest = line.partition(" ")
        by_file.setdefault(Path(rest.split(":")[0]).name, "")
        by_file[Path(rest.split(":")[0]).name] += kind + " " + rest
    assert "stale-key" in by_file[edited.name] and "stale-name" in by_file[edited.name]
    assert "secret" in by_file["copy.json"] and leak not in out
    assert "duplicate" in by_file["copy.json"] and "duplicate" in by_file[streamed.name]
    assert "truncated" in by_file["cut.json"]
    assert "not UTF-8" in by_file["latin.json"]
    assert "request should be dict, found a list" in by_file["types.json"]
    assert "version" in by_file["future.json"]
    assert "file(s) have problems" in err

    code, out, _ = run("check", cassette, "--json")
    report = json.loads(out)
    assert code == 1 and not report["ok"] and report["files"] == 7
    assert report["counts"]["secret"] == 1


@needs_conformance
def test_check_passes_the_conformance_files_and_names_stale_llama_stack_files(
    tmp_path: Path,
) -> None:
    assert CONF is not None
    code, _, err = run("check", CONF / "llama-stack")
    assert code == 0 and "19 llama-stack" in err
    shutil.copytree(CONF / "llama-stack" / "v0.2", tmp_path / "v0.2")
    os.rename(tmp_path / "v0.2" / "211b1562d4e6.json", tmp_path / "v0.2" / "aaaaaaaaaaaa.json")
    code, out, _ = run("check", tmp_path)
    assert code == 1
    [line] = out.splitlines()
    assert "aaaaaaaaaaaa.json" in line and "211b1562d4e6.json" in line and "stale-name" in line


@needs_conformance
def test_check_ls_and_import_handle_a_large_corpus(tmp_path: Path) -> None:
    """Every stale name and broken file is found, nothing crashes. How fast it is, is
    measured on 3,300 files outside the suite (never a timed assertion here)."""
    info = build(tmp_path / "corpus", files=600)
    code, out, _ = run("check", tmp_path / "corpus", "--json")
    report = json.loads(out)
    assert code == 1
    stale = {Path(p["file"]).relative_to(tmp_path / "corpus").as_posix()
             for p in report["problems"] if p["kind"] == "stale-name"}  # fmt: skip
    assert stale == set(info["stale"])
    broken = {Path(p["file"]).name for p in report["problems"] if p["kind"] != "stale-name"}
    assert broken == {Path(b).name for b in info["broken"]}

    code, out, _ = run("ls", tmp_path / "corpus", "--json")
    assert code == 0 and len(json.loads(out)) == 606

    code, _, err = run("import", tmp_path / "corpus", "--to", tmp_path / "native")
    assert code == 0 and "imported 600 interaction(s) from 606 file(s)" in err
    assert "6 skipped" in err


# --------------------------------------------------------------------------- prune


def test_prune_deletes_only_what_the_last_run_did_not_use(cassette: Path) -> None:
    files = sorted(p.name for p in cassette.glob("*.json"))
    used = _file_with(cassette, "alpha beta").name
    write_usage(cassette, {used}, files)
    (cassette / "added-after-the-run.json").write_text("{}")

    code, out, err = run("prune", cassette.parent, "--dry-run")
    assert code == 0
    [unused] = [f for f in files if f != used]
    assert out.strip() == f"would delete {cassette / unused}"
    assert (cassette / unused).exists()
    assert "would delete 1 unused recording(s) in 1 cassette(s); 1 used" in err

    code, out, _ = run("prune", cassette.parent)
    assert code == 0 and not (cassette / unused).exists()
    assert (cassette / used).exists() and (cassette / "added-after-the-run.json").exists()


def test_prune_refuses_a_partial_run_and_needs_a_usage_record(cassette: Path) -> None:
    files = [p.name for p in cassette.glob("*.json")]
    write_usage(cassette, set(), files, complete=False)
    code, out, _ = run("prune", cassette)
    assert code == 0 and "--force" in out and all((cassette / f).exists() for f in files)
    code, _, err = run("prune", cassette.parent.parent / "nowhere-here")
    assert code == 2
    empty = cassette.parent / "empty"
    empty.mkdir()
    code, _, err = run("prune", empty)
    assert code == 1 and "last-run.json" in err


def test_usage_writers_of_one_run_merge(tmp_path: Path) -> None:
    write_usage(tmp_path, {"a.json"}, {"a.json", "b.json", "c.json"}, run_id="r1")
    write_usage(tmp_path, {"b.json"}, {"a.json", "b.json", "c.json"}, run_id="r1")
    usage = read_usage(tmp_path)
    assert usage is not None and usage.used == {"a.json", "b.json"}
    assert usage.unused == {"c.json"}
    write_usage(tmp_path, {"c.json"}, {"a.json", "c.json"}, run_id="r2")
    usage = read_usage(tmp_path)
    assert usage is not None and usage.used == {"c.json"} and usage.unused == {"a.json"}


# --------------------------------------------------------------------------- import / export


@needs_conformance
def test_import_then_export_round_trips_llama_stack_through_the_cli(tmp_path: Path) -> None:
    assert CONF is not None
    code, _, err = run("import", CONF / "llama-stack", "--to", tmp_path / "native")
    assert code == 0 and "imported 19 interaction(s) from 19 file(s) (19 llama-stack)" in err
    code, _, err = run("check", tmp_path / "native")
    assert code == 0, err
    code, _, err = run(
        "export", tmp_path / "native" / "2026", "--to", tmp_path / "back", "--format",
        "llama-stack-2026",
    )  # fmt: skip
    assert code == 0 and "exported 9 recording(s)" in err
    for original in (CONF / "llama-stack" / "2026").glob("*.json"):
        assert (tmp_path / "back" / original.name).read_bytes() == original.read_bytes()
    code, _, err = run(
        "export", tmp_path / "native" / "v0.2", "--to", tmp_path / "v02", "--format",
        "llama-stack-v0.2", "--sqlite",
    )  # fmt: skip
    assert code == 0 and (tmp_path / "v02" / "index.sqlite").exists()
    assert len(list((tmp_path / "v02" / "responses").glob("*.json"))) == 10
    code, _, err = run("export", tmp_path / "native", "--to", tmp_path / "x", "--format", "yaml")
    assert code == 2 and "llama-stack-2026" in err


# --------------------------------------------------------------------------- key / diff


def test_key_matches_the_recording_and_reports_normalizer_effects(
    cassette: Path, tmp_path: Path
) -> None:
    path = _file_with(cassette, "alpha beta")
    stored = json.loads(path.read_text())
    request = {"method": "POST", "url": "http://other-host:1/v1/chat/completions",
               "body": stored["request"]["body"]}  # fmt: skip
    req_file = tmp_path / "request.json"
    req_file.write_text(json.dumps(request))
    code, out, _ = run("key", req_file, "--dir", cassette)
    assert code == 0
    assert out.splitlines()[0] == f"key {stored['key']}"
    assert f"recorded in {path}" in out

    code, out, _ = run("key", req_file, "-N", "ignore:temperature", "-N", "drop:nothing", "--json")
    doc = json.loads(out)
    assert doc["key"] != stored["key"]
    assert doc["normalizers"] == [
        {"normalizer": "ignore:temperature", "changed": True},
        {"normalizer": "drop:nothing", "changed": False},
    ]
    assert "temperature" not in doc["key_parts"]["body"]
    code, _, err = run("key", req_file, "-N", "bogus:x")
    assert code == 2 and "unknown normalizer" in err


def test_diff_two_recordings_and_a_request_against_the_closest(
    cassette: Path, tmp_path: Path
) -> None:
    path = _file_with(cassette, "alpha beta")
    other = tmp_path / "other.json"
    doc = json.loads(path.read_text())
    doc["request"]["body"]["messages"][0]["content"] = "alpha beta delta"
    doc["response"]["body"]["choices"][0]["message"]["content"] = "omega"
    other.write_text(json.dumps(doc))
    code, out, _ = run("diff", path, other)
    assert code == 1
    assert "request body" in out and '-      "content": "alpha beta gamma"' in out
    assert '+      "content": "alpha beta delta"' in out
    assert "response text" in out and "\n+omega\n" in out
    code, out, _ = run("diff", path, path)
    assert code == 0 and "identical" in out

    request = tmp_path / "req.json"
    request.write_text(json.dumps({"model": "m", "messages": [
        {"role": "user", "content": "alpha beta epsilon"}], "temperature": 0}))  # fmt: skip
    code, out, _ = run("diff", request, "--dir", cassette)
    assert code == 1
    assert f"closest recording: {path}" in out and "epsilon" in out


def test_the_installed_command_runs_in_a_subprocess(cassette: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "llmreel", "ls", str(cassette), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)) == 2
    assert "2 recording(s) listed" in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "llmreel", "check", str(cassette), "--progress"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0 and "ok: 2 file(s)" in proc.stderr
