"""The pytest plugin, tested by running pytest on small projects (``pytester``).

Each inner project calls a real upstream (the fault-injecting OpenAI/Anthropic
server of ``tests/upstreams/faulty.py``, which answers with the words of the
prompt) through the real openai and anthropic SDKs. Its URL reaches the inner
tests through ``$UPSTREAM``; pointing that at a closed port proves a replay
needs no upstream. Inner runs are in-process (fast) except where a fresh
process is the point.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

# Imported here so pytester's sys.modules snapshot keeps them between inner runs (each inner run
# would otherwise import the SDKs again, ~1 s apiece).
import anthropic  # noqa: F401
import openai  # noqa: F401
import pytest

from llmreel.pytest_plugin import cassette_dir_name
from upstreams.faulty import FaultyUpstream
from upstreams.serving import free_port

pytest_plugins = ["pytester"]

# hypothesis' plugin imports all of hypothesis at the end of every inner run (~2 s), and
# pytester's sys.modules snapshot throws it away each time: inner runs do without it.
INNER_INI = """
[pytest]
addopts = -p no:hypothesispytest -p no:langsmith_plugin -p no:recording -p no:cacheprovider
asyncio_default_fixture_loop_scope = function
"""

LLMREEL_ENV = ("LLMREEL_MODE", "LLMREEL_DIR", "LLMREEL_ALL", "LLMREEL_PRUNE", "LLMREEL_SERVER")

HELPERS = """
import os

import openai
import pytest


def client():
    return openai.OpenAI(
        base_url=os.environ["UPSTREAM"] + "/v1", api_key="test-key", max_retries=0
    )


def ask(prompt, **extra):
    with client() as c:
        reply = c.chat.completions.create(
            model="tiny", messages=[{"role": "user", "content": prompt}], **extra
        )
    return reply.choices[0].message.content
"""


@pytest.fixture
def project(
    pytester: pytest.Pytester, faulty: FaultyUpstream, monkeypatch: pytest.MonkeyPatch
) -> pytest.Pytester:
    """An inner pytest project whose tests reach the faulty upstream through ``$UPSTREAM``."""
    for var in LLMREEL_ENV:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("UPSTREAM", faulty.base_url)
    pytester.makeini(INNER_INI)
    pytester.makepyfile(helpers=HELPERS)
    return pytester


def dead_upstream(monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the inner tests at a port nobody listens on: any real call would fail."""
    monkeypatch.setenv("UPSTREAM", f"http://127.0.0.1:{free_port()}")


def recordings(root: Path) -> list[str]:
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*.json")
        if not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


TWO_TESTS = """
import pytest
from helpers import ask

@pytest.mark.llmreel
def test_greeting():
    assert ask("say hello to Paris") .startswith("say")

@pytest.mark.llmreel
def test_farewell():
    assert "goodbye" in ask("say goodbye to Rome")
"""


# ---------------------------------------------------------------------------- modes


def test_record_once_then_replay_without_the_upstream(
    project: pytest.Pytester, faulty: FaultyUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.makepyfile(test_chat=TWO_TESTS)
    result = project.runpytest("--llmreel-mode=record")
    result.assert_outcomes(passed=2)
    assert len(faulty.received) == 2
    root = project.path / "cassettes" / "test_chat"
    files = recordings(root)
    assert [f.split("/")[0] for f in files] == ["test_farewell", "test_greeting"]
    result.stdout.fnmatch_lines(
        ["*llmreel: mode record (from --llmreel-mode)*0 replayed, 2 recorded, 0 missed"]
    )

    dead_upstream(monkeypatch)
    result = project.runpytest()  # default mode: replay
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        ["*llmreel: mode replay (from default)*2 replayed, 0 recorded, 0 missed"]
    )
    assert len(faulty.received) == 2  # nothing reached the upstream
    assert recordings(root) == files


def test_unmarked_tests_are_untouched(project: pytest.Pytester, faulty: FaultyUpstream) -> None:
    project.makepyfile(
        test_plain="""
        from helpers import ask

        def test_plain():
            assert ask("plain call") == "plain call plain call plain"
        """
    )
    result = project.runpytest()
    result.assert_outcomes(passed=1)
    assert len(faulty.received) == 1  # went to the upstream, in "replay" mode: not ours
    assert not (project.path / "cassettes").exists()
    assert "llmreel:" not in result.stdout.str()


def test_llmreel_all_gives_every_test_a_cassette(
    project: pytest.Pytester, faulty: FaultyUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.makepyfile(
        test_plain="""
        from helpers import ask

        def test_plain():
            ask("plain call")

        def test_no_calls():
            pass
        """
    )
    project.runpytest("--llmreel-all", "--llmreel-mode=record-if-missing").assert_outcomes(passed=2)
    assert recordings(project.path / "cassettes") != []
    assert [p.name for p in (project.path / "cassettes" / "test_plain").iterdir()] == [
        "test_plain"
    ]  # a test that sent nothing leaves no empty directory behind
    dead_upstream(monkeypatch)
    monkeypatch.setenv("LLMREEL_ALL", "1")
    project.runpytest().assert_outcomes(passed=2)
    assert len(faulty.received) == 1


def test_record_if_missing_records_only_what_is_missing(
    project: pytest.Pytester, faulty: FaultyUpstream
) -> None:
    project.makepyfile(test_chat=TWO_TESTS)
    project.runpytest("--llmreel-mode=record-if-missing").assert_outcomes(passed=2)
    assert len(faulty.received) == 2
    result = project.runpytest("--llmreel-mode=record-if-missing")
    result.assert_outcomes(passed=2)
    assert len(faulty.received) == 2
    result.stdout.fnmatch_lines(["*2 replayed, 0 recorded, 0 missed"])


def test_live_mode_records_nothing(project: pytest.Pytester, faulty: FaultyUpstream) -> None:
    project.makepyfile(test_chat=TWO_TESTS)
    project.runpytest("--llmreel-mode=live").assert_outcomes(passed=2)
    assert len(faulty.received) == 2
    assert not (project.path / "cassettes").exists()


# ---------------------------------------------------------------------------- misses


def test_one_changed_word_fails_that_test_with_the_word_in_the_diff(
    project: pytest.Pytester, faulty: FaultyUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.makepyfile(test_chat=TWO_TESTS)
    project.runpytest("--llmreel-mode=record").assert_outcomes(passed=2)
    project.makepyfile(test_chat=TWO_TESTS.replace("hello to Paris", "hello to London"))
    dead_upstream(monkeypatch)
    result = project.runpytest()
    result.assert_outcomes(passed=1, failed=1)  # only the changed test fails
    out = result.stdout.str()
    assert "FAILED test_chat.py::test_greeting" in out
    # The engine's diagnosis: the closest recording and a body diff with the changed word.
    result.stdout.fnmatch_lines(
        [
            "*replay miss: no recording in cassette *test_greeting matches POST "
            "/v1/chat/completions*",
            "*Closest recordings*",
            '*-*"say hello to Paris"*',
            '*+*"say hello to London"*',
            "*changed words:*Paris*London*",
            "*To record what is missing, run:",
            "*pytest 'test_chat.py::test_greeting' --llmreel-mode=record-if-missing",
        ]
    )
    # The summary names the test that missed.
    result.stdout.fnmatch_lines(
        [
            "*1 replayed, 0 recorded, 1 missed",
            "missed*",
            "  test_chat.py::test_greeting: replay miss*",
        ]
    )

    # The command it prints records exactly the missing call, after which replay is green.
    monkeypatch.setenv("UPSTREAM", faulty.base_url)
    project.runpytest(
        "test_chat.py::test_greeting", "--llmreel-mode=record-if-missing"
    ).assert_outcomes(passed=1)
    assert json.loads(faulty.last.body)["messages"][0]["content"] == "say hello to London"
    dead_upstream(monkeypatch)
    project.runpytest().assert_outcomes(passed=2)


def test_a_miss_the_test_swallows_still_fails_it(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead_upstream(monkeypatch)
    project.makepyfile(
        test_swallow="""
        import openai, pytest
        from helpers import ask

        @pytest.mark.llmreel
        def test_swallow():
            try:
                ask("never recorded")
            except openai.NotFoundError:
                pass  # the app under test hides errors; llmreel must not
        """
    )
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*llmreel: 1 request(s) of test_swallow.py::test_swallow had no recording*",
            "*The cassette directory * does not exist yet.*",
            "*pytest 'test_swallow.py::test_swallow' --llmreel-mode=record-if-missing",
        ]
    )


def test_sequences_and_on_exhausted(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.makepyfile(
        test_seq="""
        import pytest
        from helpers import ask

        CALLS = 1

        @pytest.mark.llmreel(on_exhausted="repeat")
        def test_repeat():
            for _ in range(CALLS):
                ask("again")

        @pytest.mark.llmreel
        def test_strict():
            for _ in range(CALLS):
                ask("again")
        """
    )
    project.runpytest("--llmreel-mode=record").assert_outcomes(passed=2)
    dead_upstream(monkeypatch)
    source = (project.path / "test_seq.py").read_text().replace("CALLS = 1", "CALLS = 3")
    (project.path / "test_seq.py").write_text(source)
    result = project.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*was sent 2 times, but cassette *test_strict holds only 1 recording(s) of it*",
            "*record the extra call(s) with `pytest 'test_seq.py::test_strict' "
            "--llmreel-mode=record-if-missing`*",
        ]
    )


# ---------------------------------------------------------------------------- network guard


def test_replay_blocks_network_access_around_llmreel(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.makepyfile(
        test_net="""
        import os, socket, urllib.request
        import pytest

        # Numeric look-ups: the guard sees them as it sees a connect, but, let through,
        # they send no packet (this suite never sends traffic off the machine).
        @pytest.mark.llmreel
        def test_escape_by_ip():
            socket.getaddrinfo("192.0.2.1", 443)

        @pytest.mark.llmreel
        def test_escape_by_name():
            urllib.request.urlopen("http://llm.example.invalid/v1/models", timeout=1)

        @pytest.mark.llmreel
        def test_loopback_is_fine():
            with urllib.request.urlopen(os.environ["UPSTREAM"] + "/v1/models") as r:
                assert r.status == 200

        @pytest.mark.llmreel(passthrough_hosts=["192.0.2.1"])
        def test_passthrough_host_is_allowed():
            assert socket.getaddrinfo("192.0.2.1", 9)

        def test_unmarked_is_not_guarded():
            assert socket.getaddrinfo("192.0.2.1", 9)
        """
    )
    result = project.runpytest()
    result.assert_outcomes(passed=3, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*NetworkBlockedError: llmreel blocked a network connection to 192.0.2.1:443 during "
            "test_net.py::test_escape_by_ip*It was made at *test_net.py:* in test_escape_by_ip*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*llmreel blocked a network connection to llm.example.invalid:80 during "
            "test_net.py::test_escape_by_name*`pytest 'test_net.py::test_escape_by_name' "
            "--llmreel-mode=record-if-missing`*",
        ]
    )
    # Recording needs the network, so the guard is only there in replay mode.
    result = project.runpytest("--llmreel-mode=record-if-missing", "-k", "escape_by_ip")
    result.assert_outcomes(passed=1)
    assert "NetworkBlockedError" not in result.stdout.str()


# ---------------------------------------------------------------------------- settings

MODE_PROBE = """
import os, pytest

@pytest.mark.llmreel
def test_mode(llmreel_cassette):
    assert llmreel_cassette.mode.value == os.environ["EXPECT_MODE"]
    assert llmreel_cassette.path.parent == __import__("pathlib").Path(os.environ["EXPECT_DIR"])

@pytest.mark.llmreel(mode="record-if-missing")
def test_marker_mode(llmreel_cassette):
    assert llmreel_cassette.mode.value == os.environ["EXPECT_MARKER_MODE"]
"""


@pytest.mark.parametrize(
    ("ini", "env", "cli", "mode", "marker_mode", "where", "source"),
    [
        pytest.param(
            {}, {}, [], "replay", "record-if-missing", "cassettes", "default", id="defaults"
        ),
        pytest.param(
            {"llmreel_mode": "live", "llmreel_dir": "from-ini"},
            {},
            [],
            "live",
            "record-if-missing",  # a marker beats the ini file
            "from-ini",
            "ini llmreel_mode",
            id="ini",
        ),
        pytest.param(
            {"llmreel_mode": "live", "llmreel_dir": "from-ini"},
            {"LLMREEL_MODE": "record", "LLMREEL_DIR": "from-env"},
            [],
            "record",
            "record",  # an environment variable beats the marker
            "from-env",
            "$LLMREEL_MODE",
            id="env-over-ini",
        ),
        pytest.param(
            {"llmreel_mode": "live"},
            {"LLMREEL_MODE": "record", "LLMREEL_DIR": "from-env"},
            ["--llmreel-mode=replay", "--llmreel-dir=from-cli"],
            "replay",
            "replay",  # so CI's --llmreel-mode=replay can't be undone by a marker
            "from-cli",
            "--llmreel-mode",
            id="cli-over-env",
        ),
    ],
)
def test_settings_precedence_cli_env_marker_ini_default(
    project: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    ini: dict[str, str],
    env: dict[str, str],
    cli: list[str],
    mode: str,
    marker_mode: str,
    where: str,
    source: str,
) -> None:
    lines = [f"{k} = {v}" for k, v in ini.items()]
    project.makeini(INNER_INI + "\n".join(lines) + "\n")
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("EXPECT_MODE", mode)
    monkeypatch.setenv("EXPECT_MARKER_MODE", marker_mode)
    monkeypatch.setenv("EXPECT_DIR", str(project.path / where / "test_probe"))
    project.makepyfile(test_probe=MODE_PROBE)
    result = project.runpytest(*cli)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines([f"*llmreel: mode {mode} (from {source})*"])


def test_a_bad_mode_is_a_usage_error_naming_its_source(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMREEL_MODE", "replya")
    project.makepyfile(test_x="def test_x(): pass")
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*llmreel: $LLMREEL_MODE: unknown mode 'replya'; choose one of live, record, "
            "replay, record-if-missing.*"
        ]
    )


def test_a_bad_marker_argument_names_itself(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_x="""
        import pytest

        @pytest.mark.llmreel(scope="class")
        def test_x(): pass
        """
    )
    result = project.runpytest()
    assert result.ret != 0
    assert (
        "@pytest.mark.llmreel(scope='class'): use 'function' (default), 'module' or 'session'"
        in (result.stdout.str() + result.stderr.str())
    )


# ---------------------------------------------------------------------------- names and scopes


def test_cassette_names_from_node_ids() -> None:
    assert cassette_dir_name("tests/test_a.py::test_x") == "test_x"
    assert cassette_dir_name("tests/test_a.py::TestChat::test_x") == "TestChat.test_x"
    assert cassette_dir_name("t.py::test_x[gpt-4]") == "test_x-gpt-4"
    spaced = cassette_dir_name("t.py::test_x[a b]")
    underscored = cassette_dir_name("t.py::test_x[a_b]")
    assert spaced.startswith("test_x-a_b-") and underscored == "test_x-a_b"
    assert cassette_dir_name("t.py::test_x[../../etc]").startswith("test_x-etc-")
    assert len(cassette_dir_name("t.py::test_x[" + "y" * 500 + "]")) < 130


def test_parametrized_and_class_tests_get_their_own_cassettes(
    project: pytest.Pytester, faulty: FaultyUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.makepyfile(
        test_names="""
        import pytest
        from helpers import ask

        @pytest.mark.llmreel
        @pytest.mark.parametrize("city", ["Paris", "New York", "New_York", "../up"])
        def test_city(city):
            assert city.split()[0] in ask(f"hello {city}")

        @pytest.mark.llmreel
        class TestGroup:
            def test_inside(self):
                ask("from a class")
        """
    )
    project.runpytest("--llmreel-mode=record").assert_outcomes(passed=5)
    dirs = sorted(p.name for p in (project.path / "cassettes" / "test_names").iterdir())
    assert len(dirs) == 5 and len(set(dirs)) == 5
    assert "test_city-Paris" in dirs and "test_city-New_York" in dirs
    assert "TestGroup.test_inside" in dirs
    assert any(d.startswith("test_city-New_York-") for d in dirs)  # the space, hashed apart
    assert any(d.startswith("test_city-up-") for d in dirs)  # no path escape
    dead_upstream(monkeypatch)
    project.runpytest().assert_outcomes(passed=5)


def test_module_session_and_named_cassettes_are_shared(
    project: pytest.Pytester, faulty: FaultyUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.makepyfile(
        test_shared="""
        import pytest
        from helpers import ask

        pytestmark = pytest.mark.llmreel(scope="module")

        def test_one(llmreel_cassette):
            ask("same question")
            assert llmreel_cassette.path.name == "_module"

        def test_two():
            ask("same question")  # the second of a sequence: position 1

        @pytest.mark.llmreel(scope="session")
        def test_session(llmreel_cassette):
            ask("session-wide")
            assert llmreel_cassette.path.name == "_session"

        @pytest.mark.llmreel(name="shared/named", normalizers=["ignore:temperature"])
        def test_named(llmreel_cassette):
            import random
            ask("named", temperature=random.random())
            assert llmreel_cassette.path.parts[-2:] == ("shared", "named")
        """
    )
    result = project.runpytest("--llmreel-mode=record", "-p", "no:randomly")
    result.assert_outcomes(passed=4)
    module = project.path / "cassettes" / "test_shared" / "_module"
    names = recordings(module)
    assert len(names) == 2 and {n[-7:] for n in names} == {"-0.json", "-1.json"}
    assert len(recordings(project.path / "cassettes" / "_session")) == 1
    assert len(recordings(project.path / "cassettes" / "shared" / "named")) == 1
    dead_upstream(monkeypatch)
    result = project.runpytest()
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*4 replayed, 0 recorded, 0 missed"])


# ---------------------------------------------------------------------------- summary and prune

PRUNE_TESTS = """
import pytest
from helpers import ask

PROMPTS = ["first", "second"]

@pytest.mark.llmreel
def test_a():
    for p in PROMPTS:
        ask(p)

@pytest.mark.llmreel
def test_b():
    ask("bee")

@pytest.mark.llmreel
def test_c():
    ask("sea")
    assert FAIL is False

@pytest.mark.llmreel(name="pool")
def test_d():
    if POOL:
        ask("dee")

@pytest.mark.llmreel(name="pool")
def test_e():
    ask("eee")

FAIL = False
POOL = True
"""


def _stray(cassette: Path) -> Path:
    """A copy of the cassette's recording that no test will use (sorted after the original)."""
    original = cassette / recordings(cassette)[0]
    stray = cassette / "zz-stray.json"
    shutil.copyfile(original, stray)
    return stray


def test_prune_deletes_only_unused_recordings_of_selected_passing_tests(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.makepyfile(test_p=PRUNE_TESTS)
    project.runpytest("--llmreel-mode=record").assert_outcomes(passed=5)
    cassettes = project.path / "cassettes"
    a, b, c = (cassettes / "test_p" / t for t in ("test_a", "test_b", "test_c"))
    pool = cassettes / "pool"
    assert len(recordings(a)) == 2 and len(recordings(pool)) == 2
    stray_b, stray_c = _stray(b), _stray(c)
    usage_b = (b / ".llmreel" / "last-run.json").read_text()
    source = PRUNE_TESTS.replace('["first", "second"]', '["first"]')
    source = source.replace("FAIL = False", "FAIL = True").replace("POOL = True", "POOL = False")
    project.makepyfile(test_p=source)
    dead_upstream(monkeypatch)

    # Without --llmreel-prune: the summary lists what is unused, nothing is deleted.
    result = project.runpytest("-k", "not test_b")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*llmreel: mode replay (from default), in-process; 4 test(s) with cassettes: "
            "3 replayed, 0 recorded, 0 missed",
            "unused recordings (3 in 3 cassette(s)):",
            "  cassettes/pool/chat-completions-*.json",
            "  cassettes/test_p/test_a/chat-completions-*.json",
            "  cassettes/test_p/test_c/zz-stray.json",
            "2 of them from tests that passed: --llmreel-prune deletes them",
        ]
    )
    assert len(recordings(a)) == 2

    # With it: test_a's and test_d's unused recordings go; test_b was not selected, test_c
    # failed, and test_e (not selected) keeps its recording in the shared cassette.
    result = project.runpytest("-k", "not test_b", "--llmreel-prune")
    result.stdout.fnmatch_lines(["pruned 2 unused recording(s) of passing tests:"])
    assert len(recordings(a)) == 1
    assert stray_b.exists() and stray_c.exists()
    left = [json.loads((pool / n).read_text()) for n in recordings(pool)]
    assert [r["test"] for r in left] == ["test_p.py::test_e"]

    # The usage files `llmreel prune` reads: per cassette, what the run used.
    usage = json.loads((a / ".llmreel" / "last-run.json").read_text())
    assert usage["used"] == usage["files"] == recordings(a)
    assert usage["complete"] is True
    usage_c = json.loads((c / ".llmreel" / "last-run.json").read_text())
    assert usage_c["complete"] is False  # test_c failed: its usage is not the whole truth
    assert "zz-stray.json" in usage_c["files"] and "zz-stray.json" not in usage_c["used"]
    assert (b / ".llmreel" / "last-run.json").read_text() == usage_b  # not selected: untouched
    usage_pool = json.loads((pool / ".llmreel" / "last-run.json").read_text())
    assert usage_pool["complete"] is False  # shared, and the run deselected tests

    # Now test_b ran and passed: its stray copy is what a prune would delete next.
    result = project.runpytest("-k", "not test_c")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(
        ["  cassettes/test_p/test_b/zz-stray.json", "1 of them from tests that passed:*"]
    )


# ---------------------------------------------------------------------------- xdist and async


def test_xdist_workers_record_everything_and_the_controller_sums_up(
    project: pytest.Pytester, faulty: FaultyUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.makepyfile(
        test_par="""
        import pytest
        from helpers import ask

        @pytest.mark.llmreel
        @pytest.mark.parametrize("n", range(4))
        def test_own(n):
            ask(f"own {n}")

        @pytest.mark.llmreel(name="pool")
        @pytest.mark.parametrize("n", range(4))
        def test_pool(n):
            ask(f"pooled {n}")
        """
    )
    result = project.runpytest("-n", "2", "--llmreel-mode=record-if-missing")
    result.assert_outcomes(passed=8)
    result.stdout.fnmatch_lines(["*8 test(s) with cassettes: 0 replayed, 8 recorded, 0 missed"])
    pool = project.path / "cassettes" / "pool"
    assert len(recordings(pool)) == 4  # two processes wrote into one cassette: nothing lost
    assert len(recordings(project.path / "cassettes" / "test_par")) == 4
    usage = json.loads((pool / ".llmreel" / "last-run.json").read_text())
    assert len(usage["used"]) == 4  # merged from both workers

    dead_upstream(monkeypatch)
    result = project.runpytest()  # in one process: what was recorded in parallel is all there
    result.assert_outcomes(passed=8)
    result.stdout.fnmatch_lines(["*8 test(s) with cassettes: 8 replayed, 0 recorded, 0 missed"])


ASYNC_TESTS = """
import os

import anthropic
import openai
import pytest

EXPECTED = "red green blue red green"


@pytest.mark.llmreel
@pytest.mark.asyncio
async def test_asyncio_openai_stream():
    url = os.environ["UPSTREAM"] + "/v1"
    async with openai.AsyncOpenAI(base_url=url, api_key="k", max_retries=0) as client:
        stream = await client.chat.completions.create(
            model="tiny", stream=True, messages=[{"role": "user", "content": "red green blue"}]
        )
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == EXPECTED


@pytest.mark.llmreel
@pytest.mark.anyio
async def test_anyio_anthropic_stream():
    url = os.environ["UPSTREAM"]
    async with anthropic.AsyncAnthropic(base_url=url, api_key="k", max_retries=0) as client:
        async with client.messages.stream(
            model="tiny", max_tokens=20, messages=[{"role": "user", "content": "red green blue"}]
        ) as stream:
            text = "".join([t async for t in stream.text_stream])
    assert text == EXPECTED
"""


def test_async_tests_with_pytest_asyncio_and_anyio(
    project: pytest.Pytester, faulty: FaultyUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.makepyfile(test_async=ASYNC_TESTS)
    result = project.runpytest("--llmreel-mode=record")
    result.assert_outcomes(passed=2)
    assert len(faulty.received) == 2
    dead_upstream(monkeypatch)
    result = project.runpytest()
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*2 replayed, 0 recorded, 0 missed"])


# ---------------------------------------------------------------------------- server mode


def test_server_mode_tags_requests_and_hands_the_name_to_subprocesses(
    project: pytest.Pytester, faulty: FaultyUpstream
) -> None:
    # The faulty upstream stands in for `llmreel serve` here: it shows which headers arrive.
    project.makepyfile(
        test_srv=f"""
        import os, subprocess, sys
        import httpx, openai, pytest

        @pytest.mark.llmreel
        def test_tagged(llmreel_server):
            with openai.OpenAI(base_url=llmreel_server.url("v1"), api_key="k") as client:
                client.chat.completions.create(
                    model="m", messages=[{{"role": "user", "content": "x"}}]
                )
            assert llmreel_server.headers["X-Llmreel-Cassette"] == "test_srv/test_tagged"
            child = subprocess.run(
                [sys.executable, "-c", "import os; print(os.environ['LLMREEL_CASSETTE'])"],
                capture_output=True, text=True, check=True,
            )
            assert child.stdout.strip() == "test_srv/test_tagged"
            # Only requests to the server are tagged.
            httpx.get("http://localhost:{faulty.base_url.rsplit(":", 1)[1]}/v1/models")

        def test_untagged():
            assert "LLMREEL_CASSETTE" not in os.environ
            httpx.get(os.environ["UPSTREAM"] + "/v1/models")
        """
    )
    result = project.runpytest(f"--llmreel-server={faulty.base_url}")
    result.assert_outcomes(passed=2)
    tagged, other_host, untagged = faulty.received
    assert tagged.headers["x-llmreel-cassette"] == "test_srv/test_tagged"
    assert tagged.headers["x-llmreel-test"] == "test_srv.py::test_tagged"
    assert "x-llmreel-cassette" not in other_host.headers
    assert "x-llmreel-cassette" not in untagged.headers
    result.stdout.fnmatch_lines(
        [f"*llmreel: mode replay (from default), server {faulty.base_url}*"]
    )


def test_llmreel_server_fixture_without_a_server_says_how(project: pytest.Pytester) -> None:
    project.makepyfile(test_x="def test_x(llmreel_server): pass")
    result = project.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*the llmreel_server fixture needs a running `llmreel serve`*"])


# ---------------------------------------------------------------------------- the example project

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "testing-your-llm-app"


def test_example_project_replays_green_offline(tmp_path: Path) -> None:
    """The tutorial's tests, recorded once against llama.cpp, pass with no model server.

    The base URL points at a non-loopback address (TEST-NET-1) with nothing behind it: any
    request that got past the cassettes would be refused by the replay-mode network guard.
    """
    project = tmp_path / "example"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".llmreel", "__pycache__"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMREEL_")}
    env["LLM_BASE_URL"] = "http://192.0.2.1:8080"
    env.pop("PYTEST_ADDOPTS", None)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-W", "error"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "6 passed" in result.stdout
    assert "7 replayed, 0 recorded, 0 missed" in result.stdout
    before = sorted(p.name for p in (EXAMPLE / "tests" / "cassettes").rglob("*.json"))
    after = sorted(
        p.name
        for p in (project / "tests" / "cassettes").rglob("*.json")
        if ".llmreel" not in p.parts
    )
    assert after == before  # replay wrote nothing


def test_server_mode_records_per_test_through_a_real_llmreel_serve(
    project: pytest.Pytester, faulty: FaultyUpstream, tmp_path: Path
) -> None:
    from llmreel.server import ServerConfig, create_app
    from upstreams.serving import run_app

    project.makepyfile(
        test_srv="""
        import openai, pytest

        @pytest.mark.llmreel
        @pytest.mark.parametrize("city", ["Oslo", "Lima"])
        def test_through_server(llmreel_server, city):
            with openai.OpenAI(base_url=llmreel_server.url("v1"), api_key="k") as client:
                reply = client.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": f"visit {city}"}]
                )
            assert city in reply.choices[0].message.content
        """
    )
    served = tmp_path / "served"
    config = ServerConfig(dir=served, mode="record-if-missing", upstream=faulty.base_url)
    with run_app(create_app(config)) as url:
        project.runpytest(f"--llmreel-server={url}").assert_outcomes(passed=2)
    assert len(faulty.received) == 2
    assert sorted(p.parent.name for p in served.rglob("*.json") if ".llmreel" not in p.parts) == [
        "test_through_server-Lima",
        "test_through_server-Oslo",
    ]
    # Replay through a fresh server with no upstream at all.
    with run_app(create_app(ServerConfig(dir=served, mode="replay"))) as url:
        project.runpytest(f"--llmreel-server={url}").assert_outcomes(passed=2)
    assert len(faulty.received) == 2
