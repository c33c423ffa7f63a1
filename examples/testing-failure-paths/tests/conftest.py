"""Clients for the tests: built from the app's own settings, closed after each test."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import app
import openai
import pytest


@pytest.fixture
def openai_client() -> Iterator[openai.OpenAI]:
    with app.openai_client() as client:
        yield client


@pytest.fixture
def anthropic_client() -> Iterator[anthropic.Anthropic]:
    with app.anthropic_client() as client:
        yield client
