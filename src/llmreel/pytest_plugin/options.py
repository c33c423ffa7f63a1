"""The plugin's command-line options and ini keys, and the names it shares with its users.

Every setting is an option, an environment variable and an ini key (see
:class:`~llmreel.pytest_plugin.settings.Settings` for their precedence).
"""

from __future__ import annotations

import pytest

from llmreel.engine.freshness import ENV_MAX_AGE, ENV_ON_STALE
from llmreel.engine.modes import ENV_DIR, ENV_MODE, Mode

__all__ = [
    "CASSETTE_HEADER",
    "ENV_ALL",
    "ENV_CANONICAL_OFF",
    "ENV_CASSETTE",
    "ENV_FAULTS",
    "ENV_PRUNE",
    "ENV_SERVER",
    "FAULT_HEADER",
    "MARKER",
    "TEST_HEADER",
    "pytest_addoption",
]

CASSETTE_HEADER = "X-Llmreel-Cassette"
TEST_HEADER = "X-Llmreel-Test"
ENV_ALL = "LLMREEL_ALL"
ENV_CANONICAL_OFF = "LLMREEL_CANONICAL_OFF"
ENV_PRUNE = "LLMREEL_PRUNE"
ENV_SERVER = "LLMREEL_SERVER"
ENV_CASSETTE = "LLMREEL_CASSETTE"  # exported during a test in server mode, for subprocesses
ENV_FAULTS = "LLMREEL_FAULTS"
FAULT_HEADER = "X-Llmreel-Fault"
MARKER = "llmreel"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("llmreel", "llmreel: record and replay LLM API traffic")
    modes = ", ".join(m.value for m in Mode)
    group.addoption(
        "--llmreel-mode",
        dest="llmreel_mode",
        default=None,
        metavar="MODE",
        help=f"{modes} (default replay: never touch the network). Env: ${ENV_MODE}.",
    )
    group.addoption(
        "--llmreel-dir",
        dest="llmreel_dir",
        default=None,
        metavar="DIR",
        help="where cassettes live (default: cassettes/ next to each test module). "
        f"Env: ${ENV_DIR}.",
    )
    group.addoption(
        "--llmreel-all",
        dest="llmreel_all",
        action="store_const",
        const="true",
        default=None,
        help=f"give every test a cassette, marker or not. Env: ${ENV_ALL}=1.",
    )
    group.addoption(
        "--llmreel-prune",
        dest="llmreel_prune",
        action="store_const",
        const="true",
        default=None,
        help="delete recordings that the tests which ran and passed did not use.",
    )
    group.addoption(
        "--llmreel-server",
        dest="llmreel_server",
        default=None,
        metavar="URL",
        help="a running `llmreel serve`: tag each test's requests to it with "
        f"{CASSETTE_HEADER}. Env: ${ENV_SERVER}.",
    )
    group.addoption(
        "--llmreel-fault",
        dest="llmreel_fault",
        action="append",
        default=None,
        metavar="SPEC",
        help="inject a fault into every test's cassette traffic, repeatable (e.g. "
        f"'http=500,p=0.1,seed=7'); added to each marker's faults=. Env: ${ENV_FAULTS}.",
    )
    group.addoption(
        "--llmreel-max-age",
        dest="llmreel_max_age",
        default=None,
        metavar="DURATION",
        help="recordings older than this (90d, 12h, 2w) are stale: see --llmreel-on-stale. "
        f"Env: ${ENV_MAX_AGE}.",
    )
    group.addoption(
        "--llmreel-on-stale",
        dest="llmreel_on_stale",
        default=None,
        metavar="ACTION",
        help="replaying a stale recording: warn (default), fail, or record (re-record it in "
        f"record-if-missing mode). Env: ${ENV_ON_STALE}.",
    )
    group.addoption(
        "--llmreel-canonical-off",
        dest="llmreel_canonical_off",
        default=None,
        metavar="RULES",
        help="canonical rules to switch off for every test, comma-separated ('all': key bodies "
        f"as sent); see `llmreel key --help`. Env: ${ENV_CANONICAL_OFF}.",
    )
    for name, help_text in (
        ("llmreel_faults", "fault specs for every test with a cassette (joined with ';')"),
        ("llmreel_mode", "llmreel mode when neither --llmreel-mode nor $LLMREEL_MODE is given"),
        ("llmreel_dir", "llmreel cassette directory, relative to this file"),
        ("llmreel_all", "true: every test gets a cassette"),
        ("llmreel_prune", "true: delete recordings that passing tests did not use"),
        ("llmreel_server", "URL of a running `llmreel serve` to tag requests for"),
        ("llmreel_max_age", "recordings older than this (90d, 12h, 2w) are stale"),
        ("llmreel_on_stale", "warn, fail or record when a stale recording is replayed"),
        ("llmreel_canonical_off", "canonical rules to switch off ('all': raw bodies)"),
    ):
        parser.addini(name, help_text, type="string", default="")
