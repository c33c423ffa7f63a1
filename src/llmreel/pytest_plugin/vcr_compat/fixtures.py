"""pytest-recording's fixtures, served by llmreel: same names, scopes and defaults.

A suite overrides them in its ``conftest.py`` exactly as it did: ``vcr_config``,
``vcr_cassette_dir``, ``default_cassette_name``, ``record_mode``. The ``vcr``
fixture is the test's :class:`~.cassette.VcrCassette` (None for a test without a
``vcr`` marker); an autouse fixture opens it for every marked test, as
pytest-recording's autouse ``vcr`` fixture does, under another name so a
suite's own fixture called ``vcr`` never becomes autouse. This module is
registered as a plugin only when llmreel serves the vcr marks.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from llmreel.intercept.guard import DEFAULT_ALLOW
from llmreel.pytest_plugin.naming import recording_style_name
from llmreel.pytest_plugin.vcr_compat.cassette import VcrCassette
from llmreel.pytest_plugin.vcr_compat.network import PatternGuard
from llmreel.pytest_plugin.vcr_compat.plugin import VCR_KEY

__all__ = [
    "allow_private_ips",
    "allowed_hosts",
    "default_cassette_name",
    "disable_recording",
    "record_mode",
    "vcr",
    "vcr_cassette_dir",
    "vcr_config",
    "vcr_markers",
]

_BLOCK_KWARGS = frozenset({"allowed_hosts", "allow_private_ips"})


@pytest.fixture(scope="session")
def record_mode(request: pytest.FixtureRequest) -> str:
    """``--record-mode``, or "none": never record."""
    return str(request.config.getoption("record_mode") or "none")


@pytest.fixture(scope="session")
def disable_recording(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("disable_recording"))


@pytest.fixture
def vcr_config() -> dict[str, Any]:
    """vcrpy arguments for every cassette; override it in conftest.py."""
    return {}


@pytest.fixture
def vcr_markers(request: pytest.FixtureRequest) -> list[pytest.Mark]:
    return list(request.node.iter_markers(name="vcr"))


@pytest.fixture(scope="module")
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    """``<module dir>/cassettes/<module name>``."""
    module = request.node.path
    return os.path.join(module.parent, "cassettes", module.stem)


@pytest.fixture
def default_cassette_name(request: pytest.FixtureRequest) -> str:
    """``@pytest.mark.default_cassette("name")``, else ``Class.test_name[params]``."""
    marker = request.node.get_closest_marker("default_cassette")
    if marker is not None:
        if not marker.args:
            raise pytest.UsageError(
                f"{request.node.nodeid}: @pytest.mark.default_cassette needs the cassette name "
                f"as its argument."
            )
        return str(marker.args[0])
    return recording_style_name(request.node)


def _block_marker(request: pytest.FixtureRequest) -> pytest.Mark | None:
    marker: pytest.Mark | None = request.node.get_closest_marker("block_network")
    if marker is not None and (marker.args or not set(marker.kwargs) <= _BLOCK_KWARGS):
        raise pytest.UsageError(
            f"{request.node.nodeid}: @pytest.mark.block_network takes only the keyword "
            f"arguments allowed_hosts and allow_private_ips; got {marker.args!r} {marker.kwargs!r}."
        )
    return marker


@pytest.fixture
def allowed_hosts(request: pytest.FixtureRequest) -> list[str] | None:
    """Host patterns that stay reachable: the block_network marker, --allowed-hosts, or
    ``allowed_hosts`` in vcr_config, in that order."""
    marker = _block_marker(request)
    config = request.getfixturevalue("vcr_config")
    value = (
        (marker.kwargs.get("allowed_hosts") if marker is not None else None)
        or request.config.getoption("allowed_hosts")
        or config.get("allowed_hosts")
    )
    if isinstance(value, str):
        return value.split(",")
    return list(value) if value else None


@pytest.fixture
def allow_private_ips(request: pytest.FixtureRequest) -> bool:
    marker = _block_marker(request)
    config = request.getfixturevalue("vcr_config")
    return bool(
        (marker.kwargs.get("allow_private_ips") if marker is not None else False)
        or request.config.getoption("allow_private_ips")
        or config.get("allow_private_ips")
    )


@pytest.fixture
def vcr(
    request: pytest.FixtureRequest,
    vcr_markers: list[pytest.Mark],
    vcr_cassette_dir: str,
    record_mode: str,
    disable_recording: bool,
) -> Iterator[VcrCassette | None]:
    """The test's cassette (``requests``, ``play_count``, ``all_played``, ...), or None."""
    if disable_recording or not vcr_markers:
        yield None
        return
    plugin = request.config.stash[VCR_KEY]
    with plugin.activate(request, vcr_markers, vcr_cassette_dir, record_mode) as cassette:
        yield cassette


@pytest.fixture(autouse=True)
def _llmreel_vcr(request: pytest.FixtureRequest) -> Iterator[None]:
    """Opens the cassette of every vcr-marked test; blocks the network as
    ``--block-network`` / ``@pytest.mark.block_network`` ask for the other tests."""
    marked = request.node.get_closest_marker("vcr") is not None
    if marked:
        request.getfixturevalue("vcr")
    wants_block = request.config.getoption("block_network") or _block_marker(request)
    if marked or not wants_block:
        yield  # a vcr cassette that only replays guards the network itself
        return
    guard = PatternGuard(
        DEFAULT_ALLOW,
        patterns=request.getfixturevalue("allowed_hosts") or (),
        private_ips=request.getfixturevalue("allow_private_ips"),
    )
    guard.install()
    try:
        yield
    finally:
        guard.uninstall()
