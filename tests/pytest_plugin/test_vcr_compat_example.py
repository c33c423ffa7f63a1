"""The migration example (examples/migrating-from-vcr) passes on llmreel, unedited, in both modes.

Its cassettes were recorded with vcrpy (pytest-recording) against llama.cpp; here the suite runs
in a fresh process with ``-p no:recording``, so llmreel serves its vcr marks, with no model
server. A request that got past the cassettes would be counted as recorded or missed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "migrating-from-vcr"


@pytest.mark.parametrize("strict", [False, True], ids=["vcr-matching", "llmreel-strict"])
def test_migration_example_passes_unedited_without_pytest_recording(
    tmp_path: Path, strict: bool
) -> None:
    project = tmp_path / "example"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".llmreel", "__pycache__"))
    cassettes = {p: p.read_bytes() for p in (project / "tests" / "cassettes").rglob("*.yaml")}
    assert len(cassettes) == 4
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMREEL_")}
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("LLM_BASE_URL", None)
    args = [sys.executable, "-m", "pytest", "-q", "-W", "error", "-p", "no:recording"]
    if strict:
        args.append("--llmreel-strict")
    result = subprocess.run(args, cwd=project, env=env, capture_output=True, text=True, timeout=180)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "4 passed" in out
    assert "4 test(s) with cassettes: 4 replayed, 0 recorded, 0 missed" in out
    if strict:
        assert "matching with llmreel's own keys (--llmreel-strict)." in out
    else:
        assert "all 4 replay(s) would also match under --llmreel-strict." in out
    assert {p: p.read_bytes() for p in cassettes} == cassettes  # replay wrote nothing
    assert not (project / ".llmreel").exists()
