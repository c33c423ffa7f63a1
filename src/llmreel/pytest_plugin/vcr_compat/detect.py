"""Whether pytest-recording (or pytest-vcr) runs this session: then llmreel leaves vcr marks alone.

Asked while llmreel's plugin registers, before the other plugin may have been
loaded: a plugin that is registered already, or whose ``pytest11`` entry point
is installed and neither blocked (``-p no:recording``) nor kept from loading
(``PYTEST_DISABLE_PLUGIN_AUTOLOAD``), counts as active.
"""

from __future__ import annotations

import importlib.metadata
import os

import pytest

__all__ = ["OTHER_PLUGINS", "other_vcr_plugin"]

# Entry point name -> the package users know it by.
OTHER_PLUGINS = {"recording": "pytest-recording", "vcr": "pytest-vcr"}
_MODULES = {"recording": "pytest_recording.plugin", "vcr": "pytest_vcr"}


def _installed(name: str) -> bool:
    try:
        points = importlib.metadata.entry_points(group="pytest11", name=name)
    except Exception:  # a broken distribution's metadata must not break the session
        return False
    return bool(points)


def other_vcr_plugin(pluginmanager: pytest.PytestPluginManager) -> str | None:
    """The package name of the vcrpy plugin that serves this session, or None (llmreel does)."""
    autoload = not os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    listed = os.environ.get("PYTEST_PLUGINS", "")
    for name, package in OTHER_PLUGINS.items():
        module = _MODULES[name]
        if pluginmanager.has_plugin(name) or pluginmanager.has_plugin(module):
            return package
        if pluginmanager.is_blocked(name) or pluginmanager.is_blocked(module):
            continue
        if module in listed.split(",") or (autoload and _installed(name)):
            return package
    return None
