"""Clients for the tests: built from the app's own settings, closed after each test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import anthropic
import app
import openai
import pytest
import pytest_asyncio


@pytest.fixture
def openai_client() -> Iterator[openai.OpenAI]:
    with app.openai_client() as client:
        yield client


@pytest_asyncio.fixture
async def async_openai_client() -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(base_url=app.base_url() + "/v1", api_key="not-needed") as client:
        yield client


@pytest.fixture
def anthropic_client() -> Iterator[anthropic.Anthropic]:
    with app.anthropic_client() as client:
        yield client
