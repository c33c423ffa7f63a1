"""``llmreel key`` shows every canonical rule: whether it changed this request's keyed form,
or is off; ``--canonical-off`` switches rules off one by one; ``--help`` lists them all."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from llmreel import Matcher, Response
from llmreel.cli import app
from llmreel.engine import Engine
from llmreel.matching import RULES
from llmreel.store import Cassette
from sdk_requests import openai_request

runner = CliRunner()


def run(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _request_file(tmp_path: Path) -> Path:
    sent = openai_request(
        lambda c: c.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
            stream=False,
        )
    )
    path = tmp_path / "request.json"
    path.write_text(json.dumps({"method": "POST", "path": sent.path, "body": sent.body}))
    return path


def test_key_says_which_rule_changed_the_keyed_form(tmp_path: Path) -> None:
    code, out, _ = run("key", _request_file(tmp_path), "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["endpoint"] == "openai.chat"
    states = {r["rule"]: r["state"] for r in doc["rules"]}
    assert states == {
        "multipart-form@1": "no effect",
        "null-fields@1": "no effect",
        "api-defaults@1": "changed",
        "text-blocks@1": "changed",
        "tool-call-ids@1": "no effect",
        "base64-payloads@1": "no effect",
    }
    assert doc["key_parts"]["body"] == {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "Hi"}],
    }

    code, text, _ = run("key", _request_file(tmp_path))
    assert "rule text-blocks@1: changed the keyed form" in text
    assert "endpoint openai.chat" in text


def test_canonical_off_switches_rules_off_one_by_one(tmp_path: Path) -> None:
    request = _request_file(tmp_path)
    _, on, _ = run("key", request, "--json")
    code, out, _ = run("key", request, "--canonical-off", "text-blocks", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["key"] != json.loads(on)["key"]
    assert {r["rule"]: r["state"] for r in doc["rules"]}["text-blocks@1"] == "off"
    assert doc["key_parts"]["body"]["messages"][0]["content"] == [{"type": "text", "text": "Hi"}]

    _, raw, _ = run("key", request, "--canonical-off", "all", "--json")
    assert all(r["state"] == "off" for r in json.loads(raw)["rules"])
    assert json.loads(raw)["key_parts"]["body"]["stream"] is False

    code, _, err = run("key", request, "--canonical-off", "bogus")
    assert code == 2 and "unknown canonical rule 'bogus'" in err


def test_key_of_a_recorded_upload_shows_its_form_fields(tmp_path: Path) -> None:
    upload = openai_request(
        lambda c: c.files.create(file=("notes.txt", b"hello"), purpose="assistants")
    )
    engine = Engine(Cassette(tmp_path / "c"), "record")
    answer = Response(200, headers={"content-type": "application/json"}, body={"id": "file-1"})
    inter = engine.build_interaction(upload, Matcher().key(upload), answer)
    entry = engine.commit(inter, 0, overwrite=True)
    code, out, _ = run("key", tmp_path / "c" / entry.name, "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["key"] == Matcher().key(upload)
    form = doc["key_parts"]["form"]
    assert form["purpose"] == "assistants"
    assert form["file"]["filename"] == "notes.txt" and form["file"]["size"] == 5
    assert {r["rule"]: r["state"] for r in doc["rules"]}["multipart-form@1"] == "changed"


def test_help_lists_every_rule_with_what_it_merges() -> None:
    code, out, _ = run("key", "--help")
    assert code == 0
    flat = " ".join(out.split())
    for rule in RULES:
        assert f"{rule.name} ({rule.id})" in flat


def test_diff_of_two_uploads_shows_the_form_field_that_differs(tmp_path: Path) -> None:
    engine = Engine(Cassette(tmp_path), "record")
    names = []
    for data in (b"hello", b"hellO"):
        upload = openai_request(
            lambda c, data=data: c.files.create(file=("notes.txt", data), purpose="assistants")
        )
        answer = Response(200, headers={"content-type": "application/json"}, body={"id": "f"})
        inter = engine.build_interaction(upload, Matcher().key(upload), answer)
        names.append(tmp_path / engine.commit(inter, 0, overwrite=True).name)
    code, out, _ = run("diff", *names)
    assert code == 1 and "request bodies are identical" not in out
    assert '"filename": "notes.txt"' in out and '-    "sha256": "' in out
