"""Stale-name verdicts agree with llama-stack's own recorder, on files it named itself.

The fixtures are real recordings from llama-stack's (OGX's) public test suite
(see data/llama_stack_names/SOURCE.md): ``fresh/`` ones the current recorder
finds under their name, ``stale/`` ones it never finds. Both directions are
checked (no false alarm, no miss), and each hash rule is shown to matter by
changing what the rule ignores (the name still holds) and what it keeps (it
no longer does).
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from llmreel.formats.llama_stack.hashing import hash_text, normalize_body_for_hash
from llmreel.formats.llama_stack.naming import check_name, expected_name
from llmreel.tools.audit import check_files

DATA = Path(__file__).parent / "data" / "llama_stack_names"
FRESH = sorted((DATA / "fresh").glob("*.json"))
STALE = sorted((DATA / "stale").glob("*.json"))


def _doc(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(path.read_text())
    return doc


def _one(name: str) -> Path:
    [path] = [p for p in FRESH + STALE if p.name.startswith(name)]
    return path


@pytest.mark.parametrize("path", FRESH, ids=lambda p: p.name[:20])
def test_a_file_the_recorder_finds_is_not_stale(path: Path) -> None:
    result = check_name(path.name, _doc(path))
    assert result.ok, f"false alarm: {path.name} expected {result.expected}"
    assert result.variant.startswith("2026")


@pytest.mark.parametrize("path", STALE, ids=lambda p: p.name[:20])
def test_a_file_the_recorder_never_finds_is_stale(path: Path) -> None:
    result = check_name(path.name, _doc(path))
    assert not result.ok, f"missed: {path.name}"
    assert result.expected != path.name and len(result.expected.split("-")[-1]) >= 13


def test_a_file_edited_after_recording_is_stale_and_its_old_content_names_it() -> None:
    # The previous release of the same file had the test's old name in test_id: with it the
    # file's name is the current hash; with the edited one llama-stack looks elsewhere.
    path = _one("bd978bcd")
    doc = _doc(path)
    assert not check_name(path.name, doc).ok
    old = copy.deepcopy(doc)
    old["test_id"] = doc["test_id"].replace(
        "test_output_guardrails", "test_output_safety_guardrails"
    )
    assert expected_name(old, "2026") == path.name
    assert check_name(path.name, old).ok


def test_bedrock_requests_are_hashed_without_stream_options() -> None:
    path = _one("1f7f4726")
    doc = _doc(path)
    changed = copy.deepcopy(doc)
    changed["request"]["body"]["stream_options"] = {"include_usage": False}
    assert check_name(path.name, changed).ok  # ignored for a Bedrock host
    elsewhere = copy.deepcopy(doc)
    elsewhere["request"]["url"] = doc["request"]["url"].replace("bedrock-runtime", "runtime")
    assert not check_name(path.name, elsewhere).ok  # kept for any other host


def test_watsonx_project_id_is_left_out_of_the_hash() -> None:
    for prefix in ("1a5a9da6", "models-83953d70", "models-105da620"):
        path = _one(prefix)
        doc = _doc(path)
        text = json.dumps(doc["request"]["body"])
        assert "project_id" in text, prefix
        changed = json.loads(json.dumps(doc).replace(_project_id(doc), "another-project"))
        assert check_name(path.name, changed).ok, prefix
        other = copy.deepcopy(changed)
        other["request"]["body"]["model"] = "another/model"
        assert not check_name(path.name, other).ok, prefix


def _project_id(doc: dict[str, Any]) -> str:
    body = doc["request"]["body"]
    for name in ("extra_body", "extra_query"):
        inner = body.get(name)
        if isinstance(inner, dict) and "project_id" in inner:
            return str(inner["project_id"])
    raise AssertionError("no project_id")


def test_file_search_scores_and_document_ids_are_normalized_before_hashing() -> None:
    path = _one("912468ad")
    doc = _doc(path)
    text = json.dumps(doc)
    assert "score:" in text
    rescored = json.loads(text.replace("score: 0.", "score: 0.9"))
    assert rescored != doc and check_name(path.name, rescored).ok
    reworded = json.loads(text.replace("score:", "relevance:", 1))
    assert not check_name(path.name, reworded).ok


def test_model_lists_hash_the_test_id_unless_the_url_path_is_a_shared_one() -> None:
    # /v1/v1/models keeps test_id in the hash (also a null one); /v1/models leaves it out.
    with_id = _one("models-2b9bac5d")
    doc = _doc(with_id)
    assert doc["test_id"] and check_name(with_id.name, doc).ok
    assert not check_name(with_id.name, {**doc, "test_id": doc["test_id"] + "x"}).ok
    shared = copy.deepcopy(doc)
    shared["request"]["url"] = doc["request"]["url"].replace("/v1/v1/models", "/v1/models")
    name = expected_name(shared, "2026")
    assert check_name(name, {**shared, "test_id": "any other test"}).ok


def test_check_agrees_with_the_recorder_on_every_fixture(tmp_path: Path) -> None:
    for path in FRESH + STALE:
        shutil.copy(path, tmp_path / path.name)
    report = check_files([(p, tmp_path) for p in sorted(tmp_path.iterdir())])
    stale = {Path(p.file).name for p in report.problems if p.kind == "stale-name"}
    assert stale == {p.name for p in STALE}
    for problem in report.problems:
        if problem.kind == "stale-name":
            doc = _doc(tmp_path / Path(problem.file).name)
            assert expected_name(doc, "2026") in problem.message


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.lists(
        st.sampled_from(
            [*"ab 0.12345678-:{}<|>,é٣", "score: 0.91", "attributes: {x}", "project_id", "1e-07"]
        ),
        max_size=8,
    ).map("".join),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@example(body={"temperature": 1e-07}, host="api.openai.com")
@example(body={"x": "pi ٣.١٤١٥٩٢"}, host="api.openai.com")
@example(body={"messages": [{"extra_body": {"project_id": "p", "a": 1}}]}, host="api.openai.com")
@example(body={"stream_options": {"include_usage": True}}, host="bedrock.example")
@example(body={"x": "<|0123abcd-0123-4567-89ab-0123456789ab|> score: 7"}, host="api.openai.com")
@given(
    body=st.dictionaries(
        st.sampled_from(
            ["messages", "temperature", "extra_body", "extra_query", "stream_options", "x"]
        ),
        _JSON,
        max_size=4,
    ),
    host=st.sampled_from(["api.openai.com", "bedrock-runtime.us-east-1.amazonaws.com"]),
)
def test_hashing_skips_normalization_only_when_it_would_change_nothing(
    body: dict[str, Any], host: str
) -> None:
    # The recorder's way, spelled out: normalize the whole body, then dump the dict.
    request = {"method": "POST", "url": f"https://{host}/v1/v1/chat/completions", "body": body}
    slow = json.dumps(
        {
            "method": "POST",
            "endpoint": "/v1/v1/chat/completions",
            "body": normalize_body_for_hash(body, "bedrock" in host),
            "test_id": "t",
        },
        sort_keys=True,
    )
    assert hash_text(request, current=True, test_id="t") == slow


def test_check_in_several_processes_reports_exactly_what_one_process_does(tmp_path: Path) -> None:
    # The parallel path (used for very large corpora) must agree with the plain one.
    for copy_no in range(4):  # more files than one chunk (50), so work is shared out
        folder = tmp_path / f"copy{copy_no}"
        folder.mkdir()
        for path in FRESH + STALE:
            shutil.copy(path, folder / path.name)
    files = [(p, tmp_path) for p in sorted(tmp_path.rglob("*.json"))]
    one = check_files(files, workers=1)
    two = check_files(files, workers=2)
    assert one.as_dict() == two.as_dict() and one.counts()["stale-name"] == 4 * len(STALE)
