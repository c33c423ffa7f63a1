"""The hook pytest-recording declares, declared by llmreel when it serves the session instead.

A suite's ``conftest.py`` implements it to register a serializer, matchers or a
persister on the ``vcr`` object (:class:`~.config.VcrShim`).
"""

from __future__ import annotations

from typing import Any

import pytest

__all__ = ["pytest_recording_configure"]


def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    """Called for each vcr-marked test before its cassette is opened."""
