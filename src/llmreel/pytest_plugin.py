"""The pytest plugin: every test that asks gets its own cassette, recorded once and replayed in CI.

Loaded by the ``pytest11`` entry point once llmreel is installed, and inert
until a test asks for it: the ``@pytest.mark.llmreel(...)`` marker, the
``llmreel_cassette`` / ``llmreel_server`` fixtures, or ``--llmreel-all``.

Settings (all in the "llmreel" option group), as option / env var / ini key::

    --llmreel-mode    LLMREEL_MODE    llmreel_mode    replay (default), record-if-missing,
                                                      record or live
    --llmreel-dir     LLMREEL_DIR     llmreel_dir     where cassettes live (default: next to
                                                      each test module)
    --llmreel-all     LLMREEL_ALL     llmreel_all     every test gets a cassette, marker or not
    --llmreel-prune   LLMREEL_PRUNE   llmreel_prune   delete recordings passing tests did not use
    --llmreel-server  LLMREEL_SERVER  llmreel_server  tag requests for a running ``llmreel serve``

Precedence, for every setting: command line > environment variable > ini /
``[tool.pytest.ini_options]`` > built-in default. A marker's ``mode=`` sits
between the environment and the ini file: it beats the project-wide ini value,
but an explicit ``--llmreel-mode`` or ``$LLMREEL_MODE`` wins over every marker,
so ``LLMREEL_MODE=replay`` in CI guarantees that no test reaches the network and
``--llmreel-mode=record`` re-records everything. A relative ``--llmreel-dir`` is
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
:class:`~llmreel.exceptions.NetworkBlockedError` (the guard of :mod:`llmreel.guard`)
and fail the test, naming the host:port that escaped, the code that made the call and
the pytest command that records it. A replay miss fails only its test, with the engine's
full explanation (closest recordings, body diff) and the exact pytest command
that records it.

Usage: when the session ends, each cassette the run touched gets
``<cassette>/.llmreel/last-run.json`` (see :mod:`llmreel.usage`: ``used``,
``files``, ``run_id``, ``complete``), which ``llmreel prune`` reads; the same
data is merged from xdist workers on the controller (``workeroutput``).
``complete`` is true only when every test that used the cassette ran and
passed and the cassette cannot belong to tests that were not selected.
``--llmreel-prune`` deletes, right away, the unused recordings of tests that
ran and passed: the whole unused part of a test's own cassette, and in shared
cassettes only unused files whose recorded ``test_id`` is one of those tests.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import shlex
import uuid
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import httpx2
import pytest

from llmreel.context import CassetteSession
from llmreel.engine import Engine, Exhausted
from llmreel.exceptions import ConfigError, ReplayMissError
from llmreel.guard import DEFAULT_ALLOW, NetworkGuard
from llmreel.interaction import Interaction
from llmreel.intercept import ActiveCassette, activate, deactivate
from llmreel.matching import Matcher
from llmreel.modes import ENV_DIR, ENV_MODE, Mode
from llmreel.store import Cassette, cassette_path, validate_cassette_name
from llmreel.usage import write_usage

__all__ = [
    "CASSETTE_HEADER",
    "TEST_HEADER",
    "ServerCassette",
    "Settings",
    "cassette_dir_name",
    "llmreel_cassette",
    "llmreel_server",
]

CASSETTE_HEADER = "X-Llmreel-Cassette"
TEST_HEADER = "X-Llmreel-Test"
ENV_ALL = "LLMREEL_ALL"
ENV_PRUNE = "LLMREEL_PRUNE"
ENV_SERVER = "LLMREEL_SERVER"
ENV_CASSETTE = "LLMREEL_CASSETTE"  # exported during a test in server mode, for subprocesses
MARKER = "llmreel"
_SCOPES = ("function", "module", "session")
_MARKER_KWARGS = frozenset(
    {
        "name",
        "mode",
        "normalizers",
        "ignore_query",
        "on_exhausted",
        "pace",
        "allow_secrets",
        "passthrough_hosts",
        "scope",
    }
)
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})


# ---------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class Settings:
    """The session-wide settings after precedence; ``*_source`` says where each came from."""

    mode: Mode = Mode.REPLAY
    mode_source: str = "default"
    mode_explicit: bool = False  # from the command line or the environment: beats markers
    dir: Path | None = None
    dir_source: str = "default"
    all: bool = False
    prune: bool = False
    server: str | None = None

    @classmethod
    def from_config(cls, config: pytest.Config) -> Settings:
        def pick(opt: str, env: str, ini: str) -> tuple[str | None, str]:
            value = config.getoption(opt)
            if value is not None:
                return str(value), f"--{opt.replace('_', '-')}"
            text = os.environ.get(env)
            if text is not None and text.strip():
                return text, f"${env}"
            ini_value = config.getini(ini)
            if ini_value not in (None, ""):
                return str(ini_value), f"ini {ini}"
            return None, "default"

        def flag(opt: str, env: str, ini: str) -> bool:
            text, source = pick(opt, env, ini)
            if text is None:
                return False
            low = text.strip().lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
            raise ConfigError(f"{source}: {text!r} is not a yes/no value; use true or false.")

        mode_text, mode_source = pick("llmreel_mode", ENV_MODE, "llmreel_mode")
        mode = Mode.parse(mode_text, source=mode_source) if mode_text else Mode.REPLAY
        dir_text, dir_source = pick("llmreel_dir", ENV_DIR, "llmreel_dir")
        directory: Path | None = None
        if dir_text:
            base = {
                "--llmreel-dir": config.invocation_params.dir,
                f"${ENV_DIR}": Path.cwd(),
            }.get(dir_source, config.inipath.parent if config.inipath else config.rootpath)
            directory = (base / Path(dir_text).expanduser()).resolve()
        server, server_source = pick("llmreel_server", ENV_SERVER, "llmreel_server")
        if server is not None:
            parts = urlsplit(server.strip())
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ConfigError(
                    f"{server_source}: {server!r} is not the URL of an `llmreel serve`; give "
                    f"its base URL, e.g. http://127.0.0.1:11434."
                )
            server = server.strip().rstrip("/")
        return cls(
            mode=mode,
            mode_source=mode_source,
            mode_explicit=mode_source.startswith(("--", "$")),
            dir=directory,
            dir_source=dir_source,
            all=flag("llmreel_all", ENV_ALL, "llmreel_all"),
            prune=flag("llmreel_prune", ENV_PRUNE, "llmreel_prune"),
            server=server,
        )


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("llmreel", "llmreel: record and replay LLM API traffic")
    modes = ", ".join(m.value for m in Mode)
    group.addoption(
        "--llmreel-mode",
        dest="llmreel_mode",
        default=None,
        metavar="MODE",
        help=f"{modes} (default replay: never touch the network). Env: ${ENV_MODE}.",
    )
    group.addoption(
        "--llmreel-dir",
        dest="llmreel_dir",
        default=None,
        metavar="DIR",
        help="where cassettes live (default: cassettes/ next to each test module). "
        f"Env: ${ENV_DIR}.",
    )
    group.addoption(
        "--llmreel-all",
        dest="llmreel_all",
        action="store_const",
        const="true",
        default=None,
        help=f"give every test a cassette, marker or not. Env: ${ENV_ALL}=1.",
    )
    group.addoption(
        "--llmreel-prune",
        dest="llmreel_prune",
        action="store_const",
        const="true",
        default=None,
        help="delete recordings that the tests which ran and passed did not use.",
    )
    group.addoption(
        "--llmreel-server",
        dest="llmreel_server",
        default=None,
        metavar="URL",
        help="a running `llmreel serve`: tag each test's requests to it with "
        f"{CASSETTE_HEADER}. Env: ${ENV_SERVER}.",
    )
    for name, help_text in (
        ("llmreel_mode", "llmreel mode when neither --llmreel-mode nor $LLMREEL_MODE is given"),
        ("llmreel_dir", "llmreel cassette directory, relative to this file"),
        ("llmreel_all", "true: every test gets a cassette"),
        ("llmreel_prune", "true: delete recordings that passing tests did not use"),
        ("llmreel_server", "URL of a running `llmreel serve` to tag requests for"),
    ):
        parser.addini(name, help_text, type="string", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "llmreel(name=None, mode=None, normalizers=(), on_exhausted='error', "
        "scope='function', ignore_query=(), pace=None, allow_secrets=(), passthrough_hosts=()): "
        "record/replay this test's LLM API traffic in a cassette.",
    )
    try:
        settings = Settings.from_config(config)
    except ConfigError as exc:
        raise pytest.UsageError(f"llmreel: {exc}") from None
    plugin = LlmreelPlugin(config, settings)
    config.stash[_PLUGIN_KEY] = plugin
    config.pluginmanager.register(plugin, "llmreel-session")


# ---------------------------------------------------------------------------- names


def _clean(text: str, limit: int = 80) -> str:
    cleaned = _SAFE.sub("_", text).strip("._")
    if cleaned != text or len(cleaned) > limit or not cleaned:
        digest = hashlib.sha1(text.encode()).hexdigest()[:8]
        cleaned = f"{cleaned[:limit]}-{digest}" if cleaned else digest
    return cleaned


def cassette_dir_name(nodeid: str) -> str:
    """The filesystem-safe directory name of a test, from its node id (file part dropped)."""
    tail = nodeid.split("::", 1)[1] if "::" in nodeid else nodeid
    base, bracket, params = tail.partition("[")
    name = _clean(base.replace("::", "."), limit=120)
    if bracket:
        name += "-" + _clean(params[:-1] if params.endswith("]") else params)
    return name


def _module_name(item: pytest.Item) -> str:
    return _clean(item.path.stem, limit=120)


# ---------------------------------------------------------------------------- plans


@dataclass(frozen=True)
class Plan:
    """Which cassette a test uses and how."""

    path: Path
    name: str  # the cassette's name relative to its base (the server header's value)
    scope: str
    owned: bool  # the test's own default cassette: nobody else records into it
    mode: Mode
    normalizers: tuple[Any, ...] = ()
    ignore_query: tuple[str, ...] = ()
    on_exhausted: Exhausted = "error"
    pace: Any = None
    allow_secrets: tuple[str, ...] = ()
    passthrough_hosts: tuple[str, ...] = ()

    @property
    def share_key(self) -> tuple[str, str, Mode, tuple[str, ...]]:
        return (str(self.path), self.scope, self.mode, tuple(map(str, self.normalizers)))


def _as_tuple(value: Any, what: str) -> tuple[Any, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    try:
        return tuple(value)
    except TypeError:
        raise ConfigError(
            f"@pytest.mark.llmreel({what}=...) takes a list, got {value!r}."
        ) from None


def _marker_kwargs(item: pytest.Item) -> dict[str, Any]:
    """The llmreel markers' arguments, the closest marker winning per argument."""
    merged: dict[str, Any] = {}
    for marker in item.iter_markers(MARKER):
        kwargs = dict(marker.kwargs)
        if marker.args:
            if len(marker.args) > 1 or "name" in kwargs:
                raise ConfigError(
                    f"@pytest.mark.llmreel{marker.args!r}: give at most one positional argument "
                    f"(the cassette name); everything else by keyword."
                )
            kwargs["name"] = marker.args[0]
        unknown = set(kwargs) - _MARKER_KWARGS
        if unknown:
            raise ConfigError(
                f"@pytest.mark.llmreel: unknown argument(s) {', '.join(sorted(unknown))}; "
                f"known: {', '.join(sorted(_MARKER_KWARGS))}."
            )
        for key, value in kwargs.items():
            merged.setdefault(key, value)
    return merged


# ---------------------------------------------------------------------------- server mode


@dataclass(frozen=True)
class ServerCassette:
    """What a test (or a subprocess it starts) needs to use a running ``llmreel serve``.

    ``base_url`` is the server's URL; send ``headers`` with every request (the
    plugin already adds them to in-process httpx/httpx2 clients talking to it);
    ``env`` holds ``LLMREEL_SERVER`` and ``LLMREEL_CASSETTE`` for a child process.
    """

    base_url: str
    cassette: str
    test_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {CASSETTE_HEADER: self.cassette, TEST_HEADER: self.test_id}

    @property
    def env(self) -> dict[str, str]:
        return {ENV_SERVER: self.base_url, ENV_CASSETTE: self.cassette}

    def url(self, path: str = "") -> str:
        return self.base_url + ("/" + path.lstrip("/") if path else "")


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


class _HeaderTagger:
    """Adds the cassette headers to every httpx/httpx2 request sent to the server."""

    def __init__(self, server: str, headers: dict[str, str]) -> None:
        parts = urlsplit(server)
        self.host = (parts.hostname or "").lower()
        self.port = parts.port or _default_port(parts.scheme)
        self.headers = headers
        self._saved: list[tuple[type, Any]] = []

    def _wants(self, request: Any) -> bool:
        url = request.url
        port = url.port or _default_port(url.scheme)
        return bool(url.host.lower() == self.host and port == self.port)

    def install(self) -> None:
        tagger = self
        for mod in (httpx, httpx2):
            for cls, is_async in ((mod.Client, False), (mod.AsyncClient, True)):
                original = cls.__dict__["send"]
                self._saved.append((cls, original))
                cls.send = _tagging_send(original, tagger, is_async)

    def tag(self, request: Any) -> None:
        if self._wants(request):
            for k, v in self.headers.items():
                request.headers[k] = v

    def uninstall(self) -> None:
        for cls, original in reversed(self._saved):
            cls.send = original
        self._saved = []


def _tagging_send(original: Any, tagger: _HeaderTagger, is_async: bool) -> Any:
    if is_async:

        async def asend(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            tagger.tag(request)
            return await original(self, request, *args, **kwargs)

        return asend

    def send(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        tagger.tag(request)
        return original(self, request, *args, **kwargs)

    return send


# ---------------------------------------------------------------------------- bookkeeping


class _TestEngine(Engine):
    """An engine that keeps every miss's full explanation (Stats keeps only first lines)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.miss_messages: list[str] = []
        self.writer_test_id: str | None = None

    def build_interaction(self, request: Any, key: str, response: Any) -> Interaction:
        inter = super().build_interaction(request, key, response)
        inter.test_id = self.writer_test_id or inter.test_id
        return inter

    def explain_miss(self, request: Any, key: str, n: int, count: int) -> ReplayMissError:
        error = super().explain_miss(request, key, n, count)
        with self._lock:
            self.miss_messages.append(str(error))
        return error


@dataclass
class TestUsage:
    """What one test did with its cassette; JSON-able so xdist workers can send it."""

    nodeid: str
    cassette: str
    scope: str
    owned: bool
    mode: str
    server: bool = False
    hits: int = 0
    recorded: int = 0
    misses: int = 0
    missed: list[str] = field(default_factory=list)  # full explanations
    escapes: list[str] = field(default_factory=list)  # host:port the guard refused
    used: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    outcome: str = "passed"


@dataclass
class _Running:
    """A test whose cassette is active right now."""

    usage: TestUsage
    engine: _TestEngine | None
    guard: NetworkGuard | None
    hint: str
    reported_misses: int = 0
    reported_escapes: int = 0
    base_hits: int = 0
    base_recorded: int = 0
    base_misses: int = 0
    base_messages: int = 0


_PLUGIN_KEY = pytest.StashKey["LlmreelPlugin"]()


class LlmreelPlugin:
    """Per-session state: shared engines, what each test did, and the end-of-session summary."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self.is_worker = hasattr(config, "workerinput")
        self.run_id = (
            str(config.workerinput.get("llmreel_run_id", ""))  # type: ignore[attr-defined]
            if self.is_worker
            else ""
        ) or uuid.uuid4().hex
        self.usages: list[TestUsage] = []
        self.outcomes: dict[str, str] = {}
        self.running: dict[str, _Running] = {}
        self.shared: dict[tuple[Any, ...], _TestEngine] = {}
        self.partial_selection = any("::" in str(a) for a in config.args)
        self.pruned: list[str] = []
        self.usage_files: list[Path] = []
        self.unused: dict[str, list[str]] = {}
        self.prunable: dict[str, list[str]] = {}

    # ------------------------------------------------------------------ xdist

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        # Workers share the controller's run id, so their usage merges into one run.
        node.workerinput["llmreel_run_id"] = self.run_id

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        data = getattr(node, "workeroutput", {}).get("llmreel")
        if data:
            for raw in json.loads(data):
                self.usages.append(TestUsage(**raw))

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        if items:
            self.partial_selection = True

    # ------------------------------------------------------------------ per test

    def wants(self, item: pytest.Item) -> bool:
        return self.settings.all or item.get_closest_marker(MARKER) is not None

    def _hint(self, item: pytest.Item) -> str:
        invocation = self.config.invocation_params.dir
        try:
            rel = os.path.relpath(item.path, invocation)
        except ValueError:
            rel = str(item.path)
        tail = item.nodeid.split("::", 1)[1] if "::" in item.nodeid else ""
        target = f"{Path(rel).as_posix()}::{tail}" if tail else Path(rel).as_posix()
        # Always quoted: parametrized ids hold brackets and spaces that shells would eat.
        quoted = f"'{target}'" if "'" not in target else shlex.quote(target)
        parts = ["pytest", quoted, "--llmreel-mode=record-if-missing"]
        if self.settings.dir is not None and self.settings.dir_source == "--llmreel-dir":
            parts.append(shlex.quote(f"--llmreel-dir={self.settings.dir}"))
        return " ".join(parts)

    def plan(self, item: pytest.Item) -> Plan:
        kw = _marker_kwargs(item)
        scope = str(kw.get("scope") or "function")
        if scope not in _SCOPES:
            raise ConfigError(
                f"@pytest.mark.llmreel(scope={scope!r}): use 'function' (default), 'module' "
                f"or 'session'."
            )
        s = self.settings
        marker_mode = kw.get("mode")
        if s.mode_explicit or marker_mode is None:
            mode = s.mode
        else:
            mode = Mode.parse(
                marker_mode, source=f"@pytest.mark.llmreel(mode=...) of {item.nodeid}"
            )
        module = _module_name(item)
        module_base = s.dir if s.dir is not None else item.path.parent / "cassettes"
        name = kw.get("name")
        owned = False
        if name:
            name = validate_cassette_name(str(name))
            base = s.dir if s.dir is not None else item.path.parent / "cassettes"
            path = cassette_path(base, name)
        elif scope == "session":
            name = "_session"
            base = s.dir if s.dir is not None else self.config.rootpath / "cassettes"
            path = base / name
        elif scope == "module":
            name = f"{module}/_module"
            path = module_base / module / "_module"
        else:
            name = f"{module}/{cassette_dir_name(item.nodeid)}"
            path = module_base / name
            owned = True
        on_exhausted = kw.get("on_exhausted", "error")
        if on_exhausted not in ("error", "repeat"):
            raise ConfigError(
                f"@pytest.mark.llmreel(on_exhausted={on_exhausted!r}): use 'error' or 'repeat'."
            )
        plan = Plan(
            path=Path(path),
            name=str(name),
            scope=scope,
            owned=owned,
            mode=mode,
            normalizers=_as_tuple(kw.get("normalizers"), "normalizers"),
            ignore_query=tuple(map(str, _as_tuple(kw.get("ignore_query"), "ignore_query"))),
            on_exhausted=on_exhausted,
            pace=kw.get("pace"),
            allow_secrets=tuple(map(str, _as_tuple(kw.get("allow_secrets"), "allow_secrets"))),
            passthrough_hosts=tuple(
                map(str, _as_tuple(kw.get("passthrough_hosts"), "passthrough_hosts"))
            ),
        )
        Matcher(plan.normalizers)  # a bad normalizer fails here, naming itself
        return plan

    def _engine(self, plan: Plan, item: pytest.Item, hint: str) -> _TestEngine:
        # Function scope (a test's own cassette, or a named one): a fresh engine, so sequences
        # start at the first recording for every test. Module/session scope: one engine, so
        # sequences of identical requests continue from test to test.
        key: tuple[Any, ...] | None = None
        if plan.scope == "module":
            key = (*plan.share_key, str(item.path))
        elif plan.scope == "session":
            key = plan.share_key
        engine = self.shared.get(key) if key is not None else None
        if engine is None:
            matcher = Matcher(plan.normalizers, ignore_query=plan.ignore_query)
            engine = _TestEngine(
                Cassette(plan.path, matcher),
                plan.mode,
                on_exhausted=plan.on_exhausted,
                pace=plan.pace,
                allow_secrets=plan.allow_secrets,
            )
            if key is not None:
                self.shared[key] = engine
        # Recordings say which test wrote them. The engine also prefers, among identical
        # requests, the recordings of its test_id (llama-stack keeps one per test); a shared
        # sequence must not be split that way, so only function scope sets it.
        engine.writer_test_id = item.nodeid
        engine.test_id = item.nodeid if key is None else None
        engine.record_hint = f"`{hint}`"
        return engine

    def _guard(self, nodeid: str, hint: str, allowed: set[str]) -> NetworkGuard:
        """The replay-mode guard: loopback and ``allowed`` only; an escape names the test
        and the pytest command that records it."""

        def describe(where: str) -> str:
            return (
                f"llmreel blocked a network connection to {where} during {nodeid}: in replay "
                f"mode a test may only reach loopback (127.0.0.1, ::1, localhost); its LLM "
                f"calls are answered from the cassette."
            )

        advice = (
            f" If this call should be recorded, record it with `{hint}`; if it must reach the "
            f"network, add the host to @pytest.mark.llmreel(passthrough_hosts=[...]) or run "
            f"in live mode."
        )
        return NetworkGuard((*DEFAULT_ALLOW, *allowed), describe, advice=advice)

    @contextlib.contextmanager
    def activate(self, item: pytest.Item) -> Iterator[CassetteSession | ServerCassette]:
        try:
            plan = self.plan(item)
        except ConfigError as exc:
            raise pytest.UsageError(f"llmreel: {exc}") from None
        hint = self._hint(item)
        server = self.settings.server
        usage = TestUsage(
            nodeid=item.nodeid,
            cassette=str(plan.path),
            scope=plan.scope,
            owned=plan.owned,
            mode=plan.mode.value,
            server=server is not None,
        )
        guard: NetworkGuard | None = None
        if plan.mode is Mode.REPLAY:
            allowed = set(plan.passthrough_hosts)
            if server is not None:
                allowed.add(urlsplit(server).hostname or "")
            guard = self._guard(item.nodeid, hint, allowed)
        if server is not None:
            handle = ServerCassette(server, plan.name, item.nodeid)
            run = _Running(usage, None, guard, hint)
            tagger = _HeaderTagger(server, handle.headers)
            saved_env = {k: os.environ.get(k) for k in handle.env}
            self.running[item.nodeid] = run
            os.environ.update(handle.env)
            tagger.install()
            if guard is not None:
                guard.install()
            try:
                yield handle
            finally:
                if guard is not None:
                    guard.uninstall()
                    usage.escapes = list(guard.escapes)
                tagger.uninstall()
                for k, v in saved_env.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
                self.running.pop(item.nodeid, None)
                self.usages.append(usage)
            return
        engine = self._engine(plan, item, hint)
        st = engine.stats
        run = _Running(
            usage,
            engine,
            guard,
            hint,
            base_hits=st.hits,
            base_recorded=st.recorded,
            base_misses=st.misses,
            base_messages=len(engine.miss_messages),
        )
        entry = ActiveCassette(engine, "respond", frozenset(plan.passthrough_hosts))
        self.running[item.nodeid] = run
        activate(entry)
        if guard is not None:
            guard.install()
        try:
            yield CassetteSession(engine)
        finally:
            if guard is not None:
                guard.uninstall()
            deactivate(entry)
            self._finish(run)
            if plan.scope == "function":
                engine.cassette.close()

    def _finish(self, run: _Running) -> None:
        usage, engine = run.usage, run.engine
        assert engine is not None
        st = engine.stats
        usage.hits = st.hits - run.base_hits
        usage.recorded = st.recorded - run.base_recorded
        usage.misses = st.misses - run.base_misses
        usage.missed = engine.miss_messages[run.base_messages :]
        usage.used = sorted(st.used)
        usage.written = sorted(st.written)
        if run.guard is not None:
            usage.escapes = list(run.guard.escapes)
        self.running.pop(usage.nodeid, None)
        self.usages.append(usage)

    # ------------------------------------------------------------------ failing tests

    def _problems(self, run: _Running) -> str | None:
        """Misses and escapes not reported yet, as one failure message (or None)."""
        messages: list[str] = []
        if run.engine is not None:
            new = run.engine.miss_messages[run.base_messages + run.reported_misses :]
            run.reported_misses += len(new)
            messages.extend(new)
        escapes = run.guard.escapes[run.reported_escapes :] if run.guard is not None else []
        run.reported_escapes += len(escapes)
        if not messages and not escapes:
            return None
        lines = []
        if messages:
            lines.append(
                f"llmreel: {len(messages)} request(s) of {run.usage.nodeid} had no recording in "
                f"{run.usage.cassette} (mode {run.usage.mode}); the client got an HTTP 404 "
                f"saying so."
            )
            for text in messages:
                lines.append("")
                lines.append(text)
        if escapes:
            lines.append(
                f"llmreel: blocked network access around the cassette (replay mode): "
                f"{', '.join(escapes)}."
            )
        lines.append("")
        lines.append(f"To record what is missing, run:\n    {run.hint}")
        return "\n".join(lines)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        run = self.running.get(item.nodeid)
        if run is None or report.skipped:
            return report
        text = self._problems(run)
        if text is not None:
            if report.passed:
                report.outcome = "failed"
                report.longrepr = text
            else:
                report.sections.append(("llmreel", text))
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        previous = self.outcomes.get(report.nodeid, "passed")
        if report.failed:
            self.outcomes[report.nodeid] = "failed"
        elif report.skipped and previous == "passed":
            self.outcomes[report.nodeid] = "skipped"
        else:
            self.outcomes.setdefault(report.nodeid, "passed")

    # ------------------------------------------------------------------ session end

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        for usage in self.usages:
            if usage.nodeid in self.outcomes and usage.outcome == "passed":
                usage.outcome = self.outcomes[usage.nodeid]
        for engine in self.shared.values():
            engine.cassette.close()
        if self.is_worker:
            self.config.workeroutput["llmreel"] = json.dumps(  # type: ignore[attr-defined]
                [dataclasses.asdict(u) for u in self.usages]
            )
            return
        if not self.usages:
            return
        interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
        self._account(interrupted)

    def _account(self, interrupted: bool) -> None:
        by_cassette: dict[str, list[TestUsage]] = {}
        for u in self.usages:
            if not u.server:
                by_cassette.setdefault(u.cassette, []).append(u)
        for path, usages in sorted(by_cassette.items()):
            root = Path(path)
            if not root.is_dir():
                continue
            cassette = Cassette(root)
            try:
                entries = {e.name: e for e in cassette.entries()}
            finally:
                cassette.close()
            used: set[str] = set()
            for u in usages:
                used.update(u.used)
            unused = sorted(set(entries) - used)
            active = [u for u in usages if u.mode != Mode.LIVE.value]
            all_passed = bool(active) and all(u.outcome == "passed" for u in usages)
            if unused and active:
                self.unused[path] = unused
            owned = len({u.nodeid for u in usages}) == 1 and all(u.owned for u in usages)
            complete = all_passed and not interrupted and (owned or not self.partial_selection)
            if all_passed and not interrupted:
                if owned:
                    prunable = unused
                else:
                    ran = {u.nodeid for u in usages}
                    prunable = [n for n in unused if entries[n].test_id in ran]
                if prunable:
                    self.prunable[path] = prunable
            pruned: set[str] = set()
            if self.settings.prune:
                for name in self.prunable.get(path, ()):
                    with contextlib.suppress(FileNotFoundError):
                        (root / name).unlink()
                    pruned.add(name)
                    self.pruned.append(str(root / name))
            if pruned:
                left = [n for n in unused if n not in pruned]
                if left:
                    self.unused[path] = left
                else:
                    self.unused.pop(path, None)
            if active:
                files = set(entries) - pruned
                self.usage_files.append(
                    write_usage(root, used & files, files, run_id=self.run_id, complete=complete)
                )

    def _rel(self, path: str | Path) -> str:
        try:
            return Path(path).relative_to(self.config.rootpath).as_posix()
        except ValueError:
            return str(path)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.is_worker or not self.usages:
            return
        tr = terminalreporter
        usages = self.usages
        hits = sum(u.hits for u in usages)
        recorded = sum(u.recorded for u in usages)
        misses = sum(u.misses for u in usages)
        s = self.settings
        tr.write_sep("-", "llmreel")
        where = f"server {s.server}" if s.server else "in-process"
        tr.write_line(
            f"llmreel: mode {s.mode.value} (from {s.mode_source}), {where}; "
            f"{len({u.nodeid for u in usages})} test(s) with cassettes: {hits} replayed, "
            f"{recorded} recorded, {misses} missed"
        )
        missed = [u for u in usages if u.misses or u.escapes]
        if missed:
            tr.write_line("missed (replay found no recording):")
            for u in missed:
                first = u.missed[0].splitlines()[0] if u.missed else ""
                escaped = f"blocked network access to {', '.join(u.escapes)}" if u.escapes else ""
                tr.write_line(f"  {u.nodeid}: {first or escaped}")
        if self.unused:
            count = sum(len(v) for v in self.unused.values())
            tr.write_line(f"unused recordings ({count} in {len(self.unused)} cassette(s)):")
            for path, names in self.unused.items():
                for name in names[:20]:
                    tr.write_line(f"  {self._rel(Path(path) / name)}")
                if len(names) > 20:
                    tr.write_line(f"  ... and {len(names) - 20} more in {self._rel(path)}")
        if self.pruned:
            tr.write_line(f"pruned {len(self.pruned)} unused recording(s) of passing tests:")
            for name in self.pruned[:20]:
                tr.write_line(f"  {self._rel(name)}")
            if len(self.pruned) > 20:
                tr.write_line(f"  ... and {len(self.pruned) - 20} more")
        elif self.prunable:
            count = sum(len(v) for v in self.prunable.values())
            tr.write_line(f"{count} of them from tests that passed: --llmreel-prune deletes them")


# ---------------------------------------------------------------------------- fixtures


def _plugin(config: pytest.Config) -> LlmreelPlugin:
    return config.stash[_PLUGIN_KEY]


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
    plugin = request.config.stash.get(_PLUGIN_KEY, None)
    if plugin is not None and isinstance(request.node, pytest.Item) and plugin.wants(request.node):
        request.getfixturevalue("llmreel_cassette")
