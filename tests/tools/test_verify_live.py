"""``llmreel verify`` against the real llama.cpp server, directly and through a proxy that drifts.

Recordings made from llama.cpp with the real SDKs verify clean; each change the drifting
proxy (tests/upstreams/drifting.py) makes to the live answers is named at the right place
in the right recordings, with exit code 1; words that change are not drift; nothing is
written unless ``--update``, and then only drifted recordings, under recording's rules.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from llmreel.cli import app
from llmreel.formats import load_file
from llmreel.tools.verify import answer_text
from upstreams.llamacpp import LlamaCppServer
from upstreams.serving import free_port

pytestmark = pytest.mark.llamacpp
runner = CliRunner()

CHAT, COMPLETIONS = "/v1/chat/completions", "/v1/completions"
RESPONSES, MESSAGES = "/v1/responses", "/v1/messages"
ALL = [(e, s) for e in (CHAT, COMPLETIONS, RESPONSES, MESSAGES) for s in (False, True)]


def verify(*args: str | Path) -> tuple[int, dict[str, Any], str]:
    result = runner.invoke(app, ["verify", *map(str, args), "--json"], catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout), result.stderr


def by_call(doc: dict[str, Any]) -> dict[tuple[str, bool], list[str]]:
    return {(r["endpoint"], r["streamed"]): r["drift"] for r in doc["recordings"]}


def digests(path: Path) -> dict[str, str]:
    return {
        p.relative_to(path).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def test_recordings_made_from_llamacpp_verify_clean(
    recordings: Path, llamacpp: LlamaCppServer
) -> None:
    before = digests(recordings)
    code, doc, _ = verify(recordings, "--upstream", llamacpp.base_url)
    assert code == 0, doc["recordings"]
    assert doc["summary"] == {
        "clean": 8,
        "drift": 0,
        "error": 0,
        "skipped": 0,
        "text_changed": 0,  # temperature 0 on a deterministic server: same words too
    }
    assert sorted(by_call(doc)) == sorted(ALL)
    assert digests(recordings) == before  # verify writes nothing, not even an index


USAGE = "`usage` missing"
FIELD = "new field `service_tier` (string)"
# Two changes at once, each named where it shows: in every recording.
ADDED_AND_DROPPED = {
    (CHAT, False): [USAGE, f"body: {FIELD}"],
    (CHAT, True): [
        USAGE,
        "events: new field `choices[].delta.reasoning_content` (string)",
        f"events: {FIELD}",
    ],
    (COMPLETIONS, False): [USAGE, f"body: {FIELD}"],
    (COMPLETIONS, True): [USAGE, f"events: {FIELD}"],
    (RESPONSES, False): [USAGE, f"body: {FIELD}"],
    (RESPONSES, True): [USAGE, f"events (every type): {FIELD}"],
    (MESSAGES, False): [USAGE, f"body: {FIELD}"],
    (MESSAGES, True): [USAGE, f"events (every type): {FIELD}"],
}
RENAMED = {
    (CHAT, True): [
        "events: event type `chat.completion.delta` never seen before, and "
        "`chat.completion.chunk` no longer sent (renamed?)"
    ],
    (COMPLETIONS, False): [
        'body: `object` has a value never seen before: "text_completion.chunk" (recorded: '
        '"text_completion")'
    ],
    (COMPLETIONS, True): [
        "events: event type `text_completion.chunk` never seen before, and "
        "`text_completion` no longer sent (renamed?)"
    ],
    (RESPONSES, True): [
        "events: event type `response.text.delta` never seen before, and "
        "`response.output_text.delta` no longer sent (renamed?)"
    ],
    (MESSAGES, True): [
        "events: event type `content_block_chunk` never seen before, and "
        "`content_block_delta` no longer sent (renamed?)"
    ],
}
ERROR = "status 200 -> 400, body shape changed (drifting proxy: this request is no longer accepted)"


def test_a_new_field_and_a_dropped_usage_are_named_in_every_recording(
    recordings: Path, drifting: str
) -> None:
    code, doc, _ = verify(recordings, "--upstream", f"{drifting}/add-field,drop-usage")
    assert code == 1
    assert by_call(doc) == ADDED_AND_DROPPED
    groups = {g["drift"]: g["recordings"] for g in doc["drifts"]}
    assert len(groups[USAGE]) == 8  # identical drifts are grouped across recordings
    assert len(groups[f"body: {FIELD}"]) == 4


def test_a_renamed_event_type_is_named_in_the_streams_that_carry_it(
    pick: Callable[..., Path], drifting: str
) -> None:
    code, doc, _ = verify(pick(*RENAMED), "--upstream", f"{drifting}/rename-event")
    assert code == 1
    assert by_call(doc) == RENAMED


def test_a_200_that_becomes_a_400_error_is_named_with_its_message(
    recordings: Path, drifting: str
) -> None:
    code, doc, _ = verify(recordings, "--upstream", f"{drifting}/error-400")
    assert code == 1
    assert by_call(doc) == {call: [ERROR] for call in ALL}


def test_the_human_report_groups_identical_drifts_and_shows_progress(
    recordings: Path, drifting: str
) -> None:
    result = runner.invoke(
        app, ["verify", str(recordings), "-u", f"{drifting}/error-400"], catch_exceptions=False
    )
    assert result.exit_code == 1
    assert "The same drift in several recordings" in result.stdout
    assert "accepted)  (8 recordings)" in result.stdout
    assert "8 of 8 recording(s) verified" in result.stdout
    assert result.stderr.count("verify [") == 8  # one progress line per recording
    assert "[8/8]" in result.stderr


def test_words_that_change_are_not_drift(
    llamacpp: LlamaCppServer, drifting: str, tmp_path: Path, record_from_llamacpp: Any
) -> None:
    path = tmp_path / "sampled"
    record_from_llamacpp(
        llamacpp.base_url, path, ["chat"], [True], temperature=3.0, top_k=1000, seed=7
    )
    code, doc, _ = verify(path, "--upstream", f"{drifting}/reseed")
    assert code == 0, doc["recordings"]
    assert doc["summary"]["clean"] == 1
    # The proxy sent another seed: the sampled words differ, the structure does not.
    assert doc["summary"]["text_changed"] == 1, doc["recordings"]


def test_update_rewrites_only_drifted_recordings_and_they_then_verify_clean(
    pick: Callable[..., Path], drifting: str
) -> None:
    recordings = pick((CHAT, False), (CHAT, True))
    before = digests(recordings)
    old = {p.name: load_file(p) for p in recordings.glob("*.json")}
    code, doc, _ = verify(recordings, "--upstream", f"{drifting}/rename-event", "--update")
    assert code == 1
    written = {r["file"] for r in doc["recordings"] if r["written"]}
    drifted = {r["file"] for r in doc["recordings"] if r["outcome"] == "drift"}
    assert written == drifted and len(written) == 1
    after = digests(recordings)
    assert set(after) == set(before)  # same file names, nothing added
    for name in before:
        assert (after[name] != before[name]) == (name in written), name
    for name in written:
        new = load_file(recordings / name)
        assert (new.key, new.position, new.request) == (
            old[name].key,
            old[name].position,
            old[name].request,
        )
        assert new.recorded_at >= old[name].recorded_at
    [name] = written
    code, doc, _ = verify(recordings / name, "--upstream", f"{drifting}/rename-event")
    assert code == 0 and doc["summary"]["clean"] == 1


def test_an_error_answer_is_reported_but_not_written_over_a_good_recording(
    recordings: Path, drifting: str
) -> None:
    before = digests(recordings)
    code, doc, _ = verify(recordings, "--upstream", f"{drifting}/error-400", "--update")
    assert code == 1
    assert all("--allow-errors" in r["not_written"] for r in doc["recordings"])
    assert digests(recordings) == before
    code, doc, _ = verify(
        recordings, "--upstream", f"{drifting}/error-400", "--update", "--allow-errors"
    )
    assert all(r["written"] for r in doc["recordings"])
    assert {load_file(p).response.status for p in recordings.glob("*.json")} == {400}


def test_a_live_answer_holding_a_secret_is_refused_and_the_file_stays_whole(
    pick: Callable[..., Path], drifting: str
) -> None:
    recordings = pick((MESSAGES, True))
    before = digests(recordings)
    code, doc, _ = verify(recordings, "--upstream", f"{drifting}/leak-key", "--update")
    assert code == 1
    for r in doc["recordings"]:
        assert not r["written"]
        assert "refused to write a recording" in r["not_written"], r
        assert "Anthropic API key" in r["not_written"]
    assert digests(recordings) == before


def test_an_unreachable_upstream_is_an_error_not_drift(recordings: Path) -> None:
    code, doc, _ = verify(recordings, "--upstream", f"http://127.0.0.1:{free_port()}")
    assert code == 2
    assert doc["summary"]["error"] == 8
    assert "could not reach the upstream" in doc["recordings"][0]["error"]


def test_a_sample_covers_every_kind_first_and_names_its_seed(recordings: Path) -> None:
    # Which recordings a sample takes does not depend on the answers: no upstream needed.
    dead = f"http://127.0.0.1:{free_port()}"
    code, doc, _ = verify(recordings, "--upstream", dead, "--sample", "3")
    assert code == 2
    assert doc["recordings_found"] == 8 and len(doc["recordings"]) == 3
    assert isinstance(doc["seed"], int)
    again = verify(recordings, "--upstream", dead, "--sample", "3", "--seed", str(doc["seed"]))[1]
    assert [r["file"] for r in again["recordings"]] == [r["file"] for r in doc["recordings"]]
    # Every (endpoint, streamed, model) kind is its own group: 3 picks, 3 different kinds.
    assert len(by_call(doc)) == 3


def test_llama_stack_recordings_are_verified_and_stay_read_only(
    recordings: Path, llamacpp: LlamaCppServer, shared_dir: Path
) -> None:
    conf = shared_dir / "conformance" / "llama-stack" / "v0.2" / "3ca695048bee.json"
    copy = recordings / "llama-stack" / conf.name
    copy.parent.mkdir()
    # Recorded from Ollama without a limit; llama.cpp would write 256 tokens: ask for 3.
    doc = json.loads(conf.read_text())
    doc["request"]["body"]["max_tokens"] = 3
    copy.write_text(json.dumps(doc, indent=2))
    original = copy.read_bytes()
    code, doc, _ = verify(copy, "--upstream", llamacpp.base_url, "--update")
    [r] = doc["recordings"]
    assert r["format"] == "llama-stack" and r["endpoint"] == CHAT and r["streamed"]
    # Recorded from Ollama, checked against llama.cpp: its extra fields are drift, named.
    assert code == 1 and "events: new field `timings` (object)" in r["drift"]
    assert "read-only" in r["not_written"]
    assert copy.read_bytes() == original
    assert answer_text(load_file(copy))
