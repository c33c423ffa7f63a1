"""The plugin's fixtures: ``llmreel_cassette``, ``llmreel_server``, and the autouse hook."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from llmreel.intercept.use_cassette import CassetteSession
from llmreel.pytest_plugin.plugin import PLUGIN_KEY, LlmreelPlugin
from llmreel.pytest_plugin.server_mode import ServerCassette

__all__ = ["llmreel_cassette", "llmreel_server"]


def _plugin(config: pytest.Config) -> LlmreelPlugin:
    return config.stash[PLUGIN_KEY]


@pytest.fixture
def llmreel_cassette(
    request: pytest.FixtureRequest,
) -> Iterator[CassetteSession | ServerCassette]:
    """This test's cassette, active for the test: ``.played``, ``.recorded``, ``.misses``, ...

    With ``--llmreel-server`` it is a :class:`ServerCassette` (name, headers, env) instead.
    """
    with _plugin(request.config).activate(request.node) as handle:
        yield handle


@pytest.fixture
def llmreel_server(request: pytest.FixtureRequest) -> ServerCassette:
    """The running ``llmreel serve`` (``--llmreel-server``) and this test's cassette headers.

    Hand ``.env`` to a subprocess, or ``.headers`` / ``.base_url`` to a client.
    """
    plugin = _plugin(request.config)
    if plugin.settings.server is None:
        pytest.fail(
            "the llmreel_server fixture needs a running `llmreel serve`: pass "
            "--llmreel-server URL (or set $LLMREEL_SERVER / llmreel_server in the ini file).",
            pytrace=False,
        )
    handle = request.getfixturevalue("llmreel_cassette")
    assert isinstance(handle, ServerCassette)
    return handle


@pytest.fixture(autouse=True)
def _llmreel_autouse(request: pytest.FixtureRequest) -> None:
    """Gives marked tests (or every test, with --llmreel-all) their cassette."""
    plugin = request.config.stash.get(PLUGIN_KEY, None)
    if plugin is not None and isinstance(request.node, pytest.Item) and plugin.wants(request.node):
        request.getfixturevalue("llmreel_cassette")
