"""The cassette directory: sequences, refresh, damaged files, concurrent writers."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

import pytest

import llmreel
from llmreel import Cassette, Engine, Interaction, Matcher, Request, Response
from llmreel.store import cassette_path


def _inter(prompt: str, answer: str) -> tuple[Request, Response]:
    req = Request(
        method="POST",
        url="http://x/v1/chat/completions",
        path="/v1/chat/completions",
        body={"model": "m", "messages": [{"role": "user", "content": prompt}]},
    )
    return req, Response(
        status=200, headers={"content-type": "application/json"}, body={"answer": answer}
    )


def _record(root: Path, prompt: str, answer: str, engine: Engine | None = None) -> bool:
    """One record-if-missing call; True when it recorded, False when it replayed."""
    engine = engine or Engine(Cassette(root), "record-if-missing")
    req, resp = _inter(prompt, answer)
    d = engine.decide(req)
    if d.recorder is None:
        return False
    d.recorder.start(resp.status, resp.headers.items())
    d.recorder.feed(resp.body_bytes())
    d.recorder.finish()
    return True


def _replay(engine: Engine, prompt: str) -> object:
    d = engine.decide(_inter(prompt, "")[0])
    assert d.interaction is not None
    return d.interaction.response.body


def test_identical_requests_form_an_ordered_sequence(tmp_path: Path) -> None:
    engine = Engine(Cassette(tmp_path), "record-if-missing")
    for answer in ("first", "second", "third"):
        req, resp = _inter("same", answer)
        d = engine.decide(req)
        assert d.recorder is not None
        d.recorder.start(200, resp.headers.items())
        d.recorder.feed(resp.body_bytes())
        d.recorder.finish()
    replay = Engine(Cassette(tmp_path), "replay")
    assert [_replay(replay, "same") for _ in range(3)] == [
        {"answer": "first"},
        {"answer": "second"},
        {"answer": "third"},
    ]
    with pytest.raises(llmreel.SequenceExhaustedError) as err:
        _replay(replay, "same")
    assert "holds only 3" in str(err.value) and "repeat" in str(err.value)
    repeat = Engine(Cassette(tmp_path), "replay", on_exhausted="repeat")
    assert [_replay(repeat, "same") for _ in range(4)][-1] == {"answer": "third"}


def test_files_added_edited_or_removed_are_seen(tmp_path: Path) -> None:
    cassette = Cassette(tmp_path)
    assert len(cassette) == 0
    _record(tmp_path, "a", "1")
    engine = Engine(cassette, "replay")
    assert _replay(engine, "a") == {"answer": "1"}  # found by refresh-on-miss
    for f in tmp_path.glob("*.json"):
        f.unlink()
    cassette.refresh()
    assert len(cassette) == 0


def test_damaged_file_is_reported_by_name_and_the_rest_works(tmp_path: Path) -> None:
    _record(tmp_path, "good", "ok")
    (tmp_path / "broken.json").write_text('{"llmreel": 1, "request": {')
    cassette = Cassette(tmp_path)
    assert "broken.json" in cassette.errors
    assert _replay(Engine(cassette, "replay"), "good") == {"answer": "ok"}
    with pytest.raises(llmreel.ReplayMissError) as err:
        _replay(Engine(cassette, "replay"), "other")
    assert "broken.json" in str(err.value)


def test_large_cassette_uses_and_refreshes_the_index(tmp_path: Path) -> None:
    engine = Engine(Cassette(tmp_path), "record-if-missing")
    for i in range(230):
        req, resp = _inter(f"p{i}", f"a{i}")
        d = engine.decide(req)
        assert d.recorder is not None
        d.recorder.start(200, resp.headers.items())
        d.recorder.feed(resp.body_bytes())
        d.recorder.finish()
    c1 = Cassette(tmp_path)
    assert (tmp_path / ".llmreel" / "index.sqlite").exists()
    assert (tmp_path / ".llmreel" / ".gitignore").read_text().strip().endswith("*")
    assert len(c1) == 230
    # a corrupt index is rebuilt, not trusted
    (tmp_path / ".llmreel" / "index.sqlite").write_bytes(b"garbage" * 100)
    c2 = Cassette(tmp_path)
    assert len(c2) == 230
    assert _replay(Engine(c2, "replay"), "p7") == {"answer": "a7"}


def _worker(root: str, worker: int, n: int) -> None:
    shared = Engine(Cassette(Path(root)), "record-if-missing")  # its own sequence counter
    for i in range(n):
        assert _record(Path(root), f"w{worker}-{i}", f"{worker}-{i}")
        _record(Path(root), "shared", f"{worker}-{i}", shared)


def test_concurrent_processes_and_threads_lose_nothing(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(str(tmp_path), w, 5)) for w in range(3)]
    threads = [threading.Thread(target=_worker, args=(str(tmp_path), 10 + w, 5)) for w in range(3)]
    for p in procs:
        p.start()
    for t in threads:
        t.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    for t in threads:
        t.join(60)
    cassette = Cassette(tmp_path)
    assert not cassette.errors
    assert not list(tmp_path.glob(".*.partial"))
    # 6 workers x 5 distinct keys, plus one shared key that every worker called 5 times:
    # each call replayed its position or recorded at the first free one, so positions are
    # 0..N-1 with no gap and no duplicate, and at least 5 (one worker's whole sequence).
    distinct = [e for e in cassette.entries() if "shared" not in str(cassette.load(e).request.body)]
    assert len(distinct) == 30
    shared = cassette.sequence(Matcher().key(_inter("shared", "")[0]))
    assert [e.pos for e in shared] == list(range(len(shared)))
    assert 5 <= len(shared) <= 30


@pytest.mark.parametrize("name", ["../x", "/etc", "a/../../b", ".hidden", "", "a\\..\\b"])
def test_cassette_names_cannot_escape(tmp_path: Path, name: str) -> None:
    with pytest.raises(llmreel.InvalidCassetteNameError):
        cassette_path(tmp_path, name)


def test_interaction_keys_are_stable_on_disk(tmp_path: Path) -> None:
    _record(tmp_path, "a", "1")
    inter: Interaction = llmreel.load_file(next(tmp_path.glob("*.json")))
    assert inter.key == Matcher().key(inter.request)
    assert inter.key[:12] in next(tmp_path.glob("*.json")).name


def test_large_cassette_opens_from_its_index_and_sees_edits(tmp_path: Path) -> None:
    engine = Engine(Cassette(tmp_path), "record-if-missing")
    for i in range(210):
        _record(tmp_path, f"q{i}", f"a{i}", engine)
    Cassette(tmp_path).close()  # a full check records the directory state in the index
    trusted = Cassette(tmp_path)
    assert len(trusted) == 210
    # An in-place edit (no directory change) is caught when the file is used.
    replay = Engine(trusted, "replay")
    target = next(e for e in trusted.entries() if '"q5"' in (tmp_path / e.name).read_text())
    path = tmp_path / target.name
    path.write_text(path.read_text().replace('"answer":"a5"', '"answer":"edited"'))
    assert _replay(replay, "q5") == {"answer": "edited"}
    # A file added by someone else is found on the next open.
    _record(tmp_path, "new", "n")
    assert _replay(Engine(Cassette(tmp_path), "replay"), "new") == {"answer": "n"}
