"""The inspector's index: rows for every recording, filters, search, sort, refresh, usage."""

from __future__ import annotations

import os
import time
from pathlib import Path

from llmreel.tools.catalog import find_files
from llmreel.ui import Query, RecordingIndex
from llmreel.ui.usage import usage_table
from ui_helpers import HOSTILE, SEED_NAME, conformance, find_row


def _public(index: RecordingIndex, **query: object) -> list[dict[str, object]]:
    _, rows = index.query(Query(limit=1000, **query))  # type: ignore[arg-type]
    return [r.public() for r in rows]


def test_every_file_of_every_format_becomes_rows(corpus: Path) -> None:
    index = RecordingIndex(corpus)
    index.refresh()
    files = find_files([corpus], include_yaml=True)
    rows = _public(index)
    assert {r["file"] for r in rows} == {p.relative_to(corpus).as_posix() for p, _ in files}
    seed = find_row(rows, file=f"seed/{SEED_NAME}")
    assert seed["format"] == "llama-stack"
    assert (seed["endpoint"], seed["model"]) == (
        "/v1/chat/completions",
        "llama3.2:3b-instruct-fp16",
    )
    assert seed["streamed"] is True
    assert seed["events"] == 46  # the chunks; the [DONE] sentinel is not an event of the answer
    assert seed["preview"] == "What is the name of the US captial?"
    assert seed["recorded_from"] == "file"  # llama-stack keeps no date: the file's is shown
    stream = find_row(rows, model="beta-model", preview="what is the weather in Paris")
    assert stream["format"] == "llmreel"
    assert stream["recorded_from"] == "recording" and stream["key"]
    assert stream["tokens"]["total"] and stream["tokens"]["in"]


def test_filters_search_and_sort(corpus: Path) -> None:
    index = RecordingIndex(corpus)
    models = {r["model"] for r in _public(index, model="alpha-model")}
    assert models == {"alpha-model"}
    assert len(_public(index, model="alpha-model")) == 2
    # Search looks in prompts and answers, any case; every word must appear.
    assert {r["preview"] for r in _public(index, q="PARIS weather")} == {
        "what is the weather in Paris"
    }
    assert [r["file"] for r in _public(index, q="washington district")] == [f"seed/{SEED_NAME}"]
    assert _public(index, q="washington nosuchword") == []
    streamed = _public(index, streamed=True)
    assert streamed and all(r["streamed"] for r in streamed)
    by_size = [r["size"] for r in _public(index, sort="-size")]
    assert by_size == sorted(by_size, reverse=True)
    assert {r["cassette"] for r in _public(index, cassette="app")} == {"app"}
    facets = index.facets()
    assert {"value": "alpha-model", "count": 2} in facets["model"]


def test_paging_reads_only_from_the_index(corpus: Path) -> None:
    index = RecordingIndex(corpus)
    total, first = index.query(Query(limit=2))
    total2, second = index.query(Query(limit=2, offset=2))
    assert total == total2 and total >= 4
    assert len(first) == len(second) == 2
    assert {r.id for r in first}.isdisjoint({r.id for r in second})


def test_refresh_reads_only_what_changed(corpus: Path, tmp_path: Path) -> None:
    root = tmp_path / "c"
    (root / "a").mkdir(parents=True)
    seed = corpus / "seed" / SEED_NAME
    (root / "a" / "one.json").write_bytes(seed.read_bytes())
    index = RecordingIndex(root, max_age=0)
    assert [r.file for r in index.rows()] == ["a/one.json"]
    before = index.rows()[0]
    assert index.refresh() is False  # nothing changed: nothing was read again
    assert index.rows()[0] is before
    (root / "a" / "two.json").write_bytes(seed.read_bytes().replace(b"captial", b"capital"))
    (root / "a" / "one.json").write_bytes(b"{ broken")
    assert sorted(r.file for r in index.rows()) == ["a/one.json", "a/two.json"]
    broken = index.get("a/one.json")
    assert broken is not None and broken.error.startswith("unreadable: is truncated")
    os.unlink(root / "a" / "two.json")
    assert [r.file for r in index.rows()] == ["a/one.json"]


def test_links_pointing_outside_the_directory_are_not_indexed(corpus: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.json").write_bytes((corpus / "seed" / SEED_NAME).read_bytes())
    root = tmp_path / "root"
    root.mkdir()
    (root / "inside.json").write_bytes((corpus / "seed" / SEED_NAME).read_bytes())
    (root / "escape.json").symlink_to(outside / "secret.json")
    (root / "escaped-dir").symlink_to(outside, target_is_directory=True)
    (root / "alias.json").symlink_to(root / "inside.json")  # a link inside DIR is fine
    index = RecordingIndex(root)
    assert sorted(r.file for r in index.rows()) == ["alias.json", "inside.json"]
    assert index.facets()["skipped"] == ["escape.json"]


def test_usage_adds_up_recorded_token_counts(corpus: Path) -> None:
    index = RecordingIndex(corpus)
    rows = index.rows()
    table = usage_table(rows)
    beta = next(m for m in table["models"] if m["model"] == "beta-model")
    expected = [r for r in rows if r.model == "beta-model" and r.tokens_total is not None]
    assert beta["with_usage"] == len(expected) >= 1
    assert beta["total"] == sum(r.tokens_total or 0 for r in expected)
    assert beta["in"] + beta["out"] == beta["total"]
    assert table["total"]["recordings"] == sum(1 for r in rows if not r.error.startswith("unread"))
    group = next(g for g in table["groups"] if g["model"] == "beta-model")
    assert group["endpoint"] == "/v1/chat/completions"
    if conformance() is not None:
        # Real llama-stack recordings carry usage in their SDK objects; they count too.
        assert any(m["with_usage"] for m in table["models"] if m["model"] not in ("", "beta-model"))


def test_a_hostile_prompt_is_indexed_as_plain_text(corpus: Path) -> None:
    index = RecordingIndex(corpus)
    row = find_row(_public(index), preview=HOSTILE)
    assert row["model"] == "alpha-model"
    assert _public(index, q="<script>alert(1)</script>")[0]["id"] == row["id"]


def test_three_thousand_files_index_once_then_answer_from_memory(tmp_path: Path) -> None:
    seed = Path(__file__).resolve().parents[2] / "src/llmreel/demo_data/seed" / SEED_NAME
    data = seed.read_bytes()
    root = tmp_path / "big"
    for i in range(3000):
        folder = root / f"c{i % 30}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"r{i}.json").write_bytes(data.replace(b"captial", b"captial %d" % i))
    index = RecordingIndex(root, max_age=3600)
    index.refresh()
    assert index.query(Query())[0] == 3000
    # Relative, not timed: a query costs a small fraction of what reading the files cost.
    started = time.perf_counter()
    total, page = index.query(Query(q="captial 2999"))
    query_s = time.perf_counter() - started
    assert total == 1 and page[0].file == "c29/r2999.json"
    assert query_s < index.build_s / 5
