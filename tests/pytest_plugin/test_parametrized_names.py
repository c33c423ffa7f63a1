"""Parametrized tests' cassettes under pytest-recording's names (``test_x[gpt-4o]``) are reachable.

Two ways: ``@pytest.mark.llmreel(name="test_x[gpt-4o]")`` (brackets are allowed in names, and
names still cannot leave the cassette directory), and cassettes imported from pytest-recording
(``llmreel import`` keeps ``test_x[gpt-4o]``), which a test's default cassette falls back to.
"""

from __future__ import annotations

import openai  # noqa: F401  (kept imported across pytester's inner runs)
import pytest
from vcr_helpers import RECORDING_ON, make_project

from llmreel.tools.migrate import import_recordings
from upstreams.faulty import FaultyUpstream

pytest_plugins = ["pytester"]


def test_a_name_with_brackets_records_and_replays_and_cannot_escape(
    pytester: pytest.Pytester, faulty: FaultyUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(pytester, faulty, monkeypatch)
    test = """
        import pytest
        from helpers import ask

        @pytest.mark.llmreel(name={name!r})
        def test_named():
            assert ask("brackets please").startswith("brackets")
        """
    project.makepyfile(test_names=test.format(name="test_named[gpt-4o,t=0+1]"))
    project.runpytest("--llmreel-mode=record").assert_outcomes(passed=1)
    assert (project.path / "cassettes" / "test_named[gpt-4o,t=0+1]").is_dir()
    project.runpytest().assert_outcomes(passed=1)
    assert len(faulty.received) == 1

    project.makepyfile(test_names=test.format(name="[x]/../../outside"))
    result = project.runpytest("--llmreel-mode=record")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*invalid cassette name*"])
    assert not (project.path.parent / "outside").exists()


def test_cassettes_imported_from_pytest_recording_keep_their_names_and_are_found(
    pytester: pytest.Pytester, faulty: FaultyUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(pytester, faulty, monkeypatch, ini=RECORDING_ON)
    test = """
        import pytest
        from helpers import ask

        @pytest.mark.{marker}
        @pytest.mark.parametrize("model", ["gpt-4o", "o3 mini"])
        def test_model(model):
            assert ask(f"hello {{model}}").startswith("hello")
        """
    project.makepyfile(test_models=test.format(marker="vcr"))
    project.runpytest("--record-mode=once").assert_outcomes(passed=2)  # pytest-recording
    source = project.path / "cassettes"
    imported = import_recordings(source, project.path / "imported")
    assert imported.interactions == 2 and not imported.skipped
    assert sorted(p.name for p in (project.path / "imported" / "test_models").iterdir()) == [
        "test_model[gpt-4o]",
        "test_model[o3 mini]",
    ]

    # The same test on llmreel's own marker finds them under those names.
    sent = len(faulty.received)
    project.makepyfile(test_models=test.format(marker="llmreel"))
    result = project.runpytest("--llmreel-dir=imported", "-p", "no:recording")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*2 replayed, 0 recorded, 0 missed"])
    assert len(faulty.received) == sent
