"""Shared pytest fixtures.

Upstreams (see ``tests/upstreams``): ``llamacpp`` (real llama.cpp, session-wide),
``fake_ollama`` and ``faulty`` (in-process Starlette apps, fresh for each test).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path

import pytest
from blockbuster import blockbuster_ctx
from hypothesis import HealthCheck, settings

from llmreel.intercept.guard import block_network
from llmreel.store.remote.objects import ObjectStore
from upstreams.fake_ollama import FakeOllama
from upstreams.faulty import FaultyUpstream
from upstreams.llamacpp import LlamaCppServer, unavailable_reason
from upstreams.s3 import MotoS3
from upstreams.serving import free_port, run_app

# The suite runs on 2 loaded cores: generation speed is not what these tests are about, so
# Hypothesis must not fail a test because producing examples was slow (no timed assertions).
settings.register_profile("llmreel", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("llmreel")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-slow",
        action="store_true",
        default=False,
        help="also run the long soak/fuzz tests marked @pytest.mark.slow (`make soak`)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow soak/fuzz run: use --run-slow (`make soak`)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _soak_stays_on_loopback(request: pytest.FixtureRequest) -> Iterator[None]:
    """A soak run (``@pytest.mark.slow``) may only connect to this machine: any connect or
    name lookup for another host, from any thread of the test process, fails the test."""
    if request.node.get_closest_marker("slow") is None:
        yield
        return
    with block_network():  # loopback only
        yield


@pytest.fixture(autouse=True)
def _async_tests_never_block_their_loop(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every async test runs under blockbuster, as suites that use llmreel do: a blocking
    call (file I/O, ``os.stat``, ``time.sleep``, a blocking socket, waiting on a held lock,
    sqlite) made on an event loop's thread while an in-process adapter of llmreel
    (``llmreel.intercept``: transports, aiohttp, ``use_cassette``) is on the stack raises
    ``BlockingError`` and fails the test. Test code calling llmreel's sync API itself (to
    read a recording back) is the test's business, not scanned."""
    function = getattr(request.node, "function", None)
    if function is None or not inspect.iscoroutinefunction(function):
        yield
        return
    with blockbuster_ctx(["llmreel.intercept"]):
        yield


@pytest.fixture(scope="session")
def llamacpp() -> Iterator[LlamaCppServer]:
    """The real llama.cpp server with SmolLM2 (``.base_url``, ``.model``, ``.stop()``).

    Session-wide because it's a process holding a model. A test that needs it down should use
    ``with llamacpp.stopped():`` so it comes back (same URL) for the tests after it.
    """
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(f"real llama.cpp upstream unavailable: {reason}")
    server = LlamaCppServer(free_port())
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def llamacpp_running(llamacpp: LlamaCppServer) -> LlamaCppServer:
    """``llamacpp``, restarted first if an earlier test left it stopped."""
    llamacpp.start()
    return llamacpp


@pytest.fixture
def fake_ollama() -> Iterator[FakeOllama]:
    """A fake Ollama (native ``/api/*``) served on 127.0.0.1; ``.base_url`` is set."""
    upstream = FakeOllama()
    with run_app(upstream.app) as base_url:
        upstream.base_url = base_url
        yield upstream


@pytest.fixture
def faulty() -> Iterator[FaultyUpstream]:
    """A fault-injecting OpenAI/Anthropic upstream on 127.0.0.1; ``.base_url`` is set."""
    upstream = FaultyUpstream()
    with run_app(upstream.app) as base_url:
        upstream.base_url = base_url
        yield upstream


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The project's shared test data (seed + llama-stack conformance), next to the checkout."""
    path = Path(__file__).resolve().parents[2] / "shared"
    if not (path / "seed").is_dir():
        pytest.skip(f"shared test data not found at {path} (seed and conformance recordings)")
    return path


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoS3]:
    """A real S3 API (moto's server) on 127.0.0.1, for the whole session."""
    server = MotoS3()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3(moto: MotoS3, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> MotoS3:
    """moto up (a test before may have stopped it), its AWS variables set, a private cache."""
    moto.start()
    for k, v in moto.env().items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("LLMREEL_CACHE_DIR", str(tmp_path / "cache"))
    ObjectStore._clients.clear()  # clients are per endpoint; a test may have moved it
    return moto
