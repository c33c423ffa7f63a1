"""Wires the vcrpy compatibility into a session, or stands aside for pytest-recording.

Loaded with llmreel's plugin (its ``pytest_plugins``). When pytest-recording
(or pytest-vcr) serves the session, llmreel adds nothing for vcr marks and says
so once, at the end, if any test had one. Otherwise it adds pytest-recording's
options, markers, fixtures and ``pytest_recording_configure`` hook, and serves
``@pytest.mark.vcr`` tests itself (see :mod:`.plugin`).
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from llmreel.exceptions import ConfigError
from llmreel.pytest_plugin.plugin import PLUGIN_KEY
from llmreel.pytest_plugin.vcr_compat import fixtures, hookspec
from llmreel.pytest_plugin.vcr_compat.detect import other_vcr_plugin
from llmreel.pytest_plugin.vcr_compat.options import (
    ENV_STRICT,
    add_strict_option,
    add_vcr_options,
)
from llmreel.pytest_plugin.vcr_compat.plugin import VCR_KEY, VcrPlugin

__all__ = ["pytest_addhooks", "pytest_addoption", "pytest_configure"]

_MARKERS = (
    "vcr(*extra_cassettes, **vcr_kwargs): replay (or record) this test's HTTP traffic from "
    "its vcrpy cassette (served by llmreel).",
    "default_cassette(name): the name of this test's vcr cassette.",
    "block_network(allowed_hosts=None, allow_private_ips=False): block network access.",
    "allowed_hosts(*patterns): hosts that stay reachable while the network is blocked.",
)


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    add_strict_option(parser)
    if other_vcr_plugin(pluginmanager) is None:
        add_vcr_options(parser)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    if other_vcr_plugin(pluginmanager) is None:
        pluginmanager.add_hookspecs(hookspec)


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})


def strict_setting(config: pytest.Config) -> bool:
    """``--llmreel-strict`` > ``$LLMREEL_STRICT`` > ini ``llmreel_strict`` > off."""
    for value, source in (
        (config.getoption("llmreel_strict"), "--llmreel-strict"),
        (os.environ.get(ENV_STRICT), f"${ENV_STRICT}"),
        (config.getini("llmreel_strict"), "ini llmreel_strict"),
    ):
        if value is None or not str(value).strip():
            continue
        low = str(value).strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ConfigError(f"{source}: {value!r} is not a yes/no value; use true or false.")
    return False


class StandAside:
    """pytest-recording serves the vcr marks; says so once when a test has one."""

    def __init__(self, package: str) -> None:
        self.package = package
        self.marked = 0

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        self.marked = sum(1 for item in items if item.get_closest_marker("vcr") is not None)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.marked:
            flag = "-p no:recording" if self.package == "pytest-recording" else "-p no:vcr"
            terminalreporter.write_line(
                f"llmreel: {self.package} is active, so it served the {self.marked} "
                f"@pytest.mark.vcr test(s); run with {flag} (or uninstall it) to let llmreel "
                f"replay them."
            )


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    llmreel = config.stash.get(PLUGIN_KEY, None)
    if llmreel is None:
        return
    other = other_vcr_plugin(config.pluginmanager)
    if other is not None:
        config.pluginmanager.register(StandAside(other), "llmreel-vcr-aside")
        return
    if not hasattr(config.option, "record_mode"):
        return  # the other plugin was expected when options were added, and did not load
    try:
        strict = strict_setting(config)
    except ConfigError as exc:
        raise pytest.UsageError(f"llmreel: {exc}") from None
    for line in _MARKERS:
        config.addinivalue_line("markers", line)
    plugin = VcrPlugin(config, llmreel, strict=strict)
    config.stash[VCR_KEY] = plugin
    config.pluginmanager.register(plugin, "llmreel-vcr")
    config.pluginmanager.register(fixtures, "llmreel-vcr-fixtures")
