"""The pytest plugin: every test that asks gets its own cassette, recorded once and replayed in CI.

Loaded by the ``pytest11`` entry point once llmreel is installed, and inert
until a test asks for it: the ``@pytest.mark.llmreel(...)`` marker, the
``llmreel_cassette`` / ``llmreel_server`` fixtures, or ``--llmreel-all``.
With pytest-recording disabled or uninstalled it also serves a pytest-recording
suite's ``@pytest.mark.vcr`` tests from their cassette files, unedited (see
:mod:`llmreel.pytest_plugin.vcr_compat`).

Settings (all in the "llmreel" option group), as option / env var / ini key::

    --llmreel-mode    LLMREEL_MODE    llmreel_mode    replay (default), record-if-missing,
                                                      record or live
    --llmreel-dir     LLMREEL_DIR     llmreel_dir     where cassettes live (default: next to
                                                      each test module)
    --llmreel-all     LLMREEL_ALL     llmreel_all     every test gets a cassette, marker or not
    --llmreel-prune   LLMREEL_PRUNE   llmreel_prune   delete recordings passing tests did not use
    --llmreel-server  LLMREEL_SERVER  llmreel_server  tag requests for a running ``llmreel serve``
    --llmreel-max-age LLMREEL_MAX_AGE llmreel_max_age recordings older than this (90d) are stale
    --llmreel-on-stale LLMREEL_ON_STALE llmreel_on_stale  warn (default), fail, or record (in
                                                      record-if-missing) when one is replayed

Precedence, for every setting: command line > environment variable > ini /
``[tool.pytest.ini_options]`` > built-in default. A marker's ``mode=`` (and
``max_age=``, ``on_stale=``) sits between the environment and the ini file: it
beats the project-wide ini value, but an explicit ``--llmreel-mode`` or
``$LLMREEL_MODE`` wins over every marker, so ``LLMREEL_MODE=replay`` in CI
guarantees that no test reaches the network and ``--llmreel-mode=record``
re-records everything. A relative ``--llmreel-dir`` is
taken from the directory pytest was started in, ``$LLMREEL_DIR`` from the
current directory, ``llmreel_dir`` from the ini file's directory.

Layout: a test's cassette is ``<module dir>/cassettes/<module>/<test>/``, or
``<llmreel dir>/<module>/<test>/`` when a directory is set. ``<test>`` is the
node id after the file: ``TestClass.test_name`` with parameters as
``-<id>`` (``test_chat[gpt-4]`` -> ``test_chat-gpt-4``; ids with characters
outside ``[A-Za-z0-9._-]`` are cleaned and get a short hash so they stay unique).
``scope="module"`` shares ``<module>/_module`` among the module's tests and
``scope="session"`` shares ``_session`` (under the llmreel dir, else
``<rootdir>/cassettes``) among all tests that ask for it: one engine each, so
sequences of identical requests continue from test to test (under xdist, use
``--dist loadscope``/``loadfile`` so such a cassette stays on one worker).
``name=`` picks any cassette under the same base as the module's; with the
default function scope each test starts its sequences afresh and, among
identical requests, replays the recordings it wrote itself (the engine's
``test_id`` preference, which also reads llama-stack directories right).

In replay mode the test may not reach the network around llmreel: socket
connects and name lookups for anything but loopback (and the ``--llmreel-server``
host, and the marker's ``passthrough_hosts``) raise
:class:`~llmreel.exceptions.NetworkBlockedError` (the guard of :mod:`llmreel.intercept.guard`)
and fail the test, naming the host:port that escaped, the code that made the call and
the pytest command that records it. A replay miss fails only its test, with the engine's
full explanation (closest recordings, body diff) and the exact pytest command
that records it.

Usage: when the session ends, each cassette the run touched gets
``<cassette>/.llmreel/last-run.json`` (see :mod:`llmreel.store.usage`: ``used``,
``files``, ``run_id``, ``complete``), which ``llmreel prune`` reads; the same
data is merged from xdist workers on the controller (``workeroutput``).
``complete`` is true only when every test that used the cassette ran and
passed and the cassette cannot belong to tests that were not selected.
``--llmreel-prune`` deletes, right away, the unused recordings of tests that
ran and passed: the whole unused part of a test's own cassette, and in shared
cassettes only unused files whose recorded ``test_id`` is one of those tests.
"""

from llmreel.pytest_plugin.fixtures import _llmreel_autouse as _llmreel_autouse
from llmreel.pytest_plugin.fixtures import llmreel_cassette, llmreel_server
from llmreel.pytest_plugin.naming import cassette_dir_name
from llmreel.pytest_plugin.options import CASSETTE_HEADER, TEST_HEADER, pytest_addoption
from llmreel.pytest_plugin.plugin import pytest_configure
from llmreel.pytest_plugin.server_mode import ServerCassette
from llmreel.pytest_plugin.settings import Settings

# The vcrpy / pytest-recording compatibility registers as a plugin of its own (it stands aside
# when pytest-recording is active).
pytest_plugins = ["llmreel.pytest_plugin.vcr_compat.entry"]

__all__ = [
    "CASSETTE_HEADER",
    "TEST_HEADER",
    "ServerCassette",
    "Settings",
    "cassette_dir_name",
    "llmreel_cassette",
    "llmreel_server",
    "pytest_addoption",
    "pytest_configure",
]
