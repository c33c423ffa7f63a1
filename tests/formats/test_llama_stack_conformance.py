"""Every llama-stack recording replays through the real SDK it came from, unchanged.

The sample in ``shared/conformance`` (and the seed) always runs. Point
``LLMREEL_CORPUS`` at a directory of llama-stack recordings (either
generation, any depth) to run the same check on a full corpus; the test then
reports the pass rate and fails below 99%.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

import llama_stack_calls as calls
import llmreel

SHARED = Path(__file__).resolve().parents[3] / "shared"
FILES = sorted([*SHARED.glob("conformance/llama-stack/*/*.json"), *SHARED.glob("seed/*.txt")])
BASE = "http://0.0.0.0:11434"


def _replay(path: Path, tmp: Path, *, is_async: bool) -> None:
    doc = calls.load(path)
    p = calls.plan(doc)
    assert p is not None, f"no SDK call known for {path.name}"
    cassette = tmp / "cassette"
    cassette.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, cassette / path.name)
    c = calls.client(p.sdk, BASE, is_async=is_async)
    with llmreel.use_cassette(cassette, mode="replay") as session:
        try:
            got: Any = asyncio.run(p.acall(c)) if is_async else p.call(c)
        except Exception as exc:  # the recorded provider error, replayed
            if session.misses:
                raise AssertionError(session.misses) from exc
            calls.check_error(p, exc)
            return
    calls.check(p, got)
    assert session.played == 1 and not session.misses


@pytest.mark.skipif(not FILES, reason="shared/conformance is not next to this checkout")
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("path", FILES, ids=[f.parent.name + "/" + f.name[:16] for f in FILES])
def test_recording_replays_through_its_sdk(path: Path, is_async: bool, tmp_path: Path) -> None:
    _replay(path, tmp_path, is_async=is_async)


@pytest.mark.skipif(not FILES, reason="shared/conformance is not next to this checkout")
def test_whole_sample_replays_as_one_cassette() -> None:
    """The whole tree (both generations mixed) as one cassette: every file is found.

    The same request recorded in both generations forms a sequence ordered by
    file path, so replaying the files in path order gives each file's own answer.
    """
    root = SHARED / "conformance" / "llama-stack"
    with llmreel.use_cassette(root, mode="replay") as session:
        for path in sorted(root.rglob("*.json")):
            p = calls.plan(calls.load(path))
            assert p is not None
            try:
                got = p.call(calls.client(p.sdk, BASE, is_async=False))
            except Exception as exc:
                assert not session.misses, session.misses
                calls.check_error(p, exc)
                continue
            calls.check(p, got)
    assert not session.misses


@pytest.mark.skipif(not os.environ.get("LLMREEL_CORPUS"), reason="set LLMREEL_CORPUS to a corpus")
def test_full_corpus_pass_rate(tmp_path: Path) -> None:
    root = Path(os.environ["LLMREEL_CORPUS"])
    results: dict[str, str] = {}
    for i, path in enumerate(sorted(root.rglob("*.json"))):
        try:
            doc = calls.load(path)
            if calls.plan(doc) is None:
                results[str(path)] = "skipped: no SDK call"
                continue
            _replay(path, tmp_path / str(i), is_async=False)
            results[str(path)] = "ok"
        except Exception as exc:
            results[str(path)] = f"FAIL {type(exc).__name__}: {str(exc)[:300]}"
    ran = [r for r in results.values() if not r.startswith("skipped")]
    ok = sum(r == "ok" for r in ran)
    failures = [f"{k}: {v}" for k, v in results.items() if v.startswith("FAIL")]
    rate = ok / max(1, len(ran))
    print(f"corpus: {ok}/{len(ran)} replayed ({rate:.2%})")
    calls.save_report(results, "in_process")
    assert rate >= 0.99, "\n".join(failures[:50])
