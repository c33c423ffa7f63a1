"""The pytest-recording configuration the suite had before llmreel: nothing here names llmreel."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import app
import openai
import pytest

from tests import json_body_serializer


def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    # Cassettes keep JSON bodies parsed (readable diffs in review).
    vcr.register_serializer("yaml", json_body_serializer)


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, Any]:
    return {
        "filter_headers": ["authorization", "user-agent"],
        "match_on": ["method", "scheme", "host", "port", "path", "query", "body"],
    }


@pytest.fixture
def llm() -> Iterator[openai.OpenAI]:
    with app.client() as c:
        yield c
