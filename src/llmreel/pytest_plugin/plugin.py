"""The session plugin: each test that asks gets its cassette, and the session its summary.

Registered by :func:`pytest_configure` once per session (and per xdist worker);
:meth:`LlmreelPlugin.activate` routes a test's traffic through its engine (or
tags it for a running ``llmreel serve``), its report hooks fail a test that
missed or escaped, and the session's end accounts for what was used.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import uuid
import warnings
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from llmreel.engine import Mode
from llmreel.engine.faults import FaultPicker
from llmreel.exceptions import ConfigError, StaleRecordingWarning
from llmreel.intercept.guard import NetworkGuard
from llmreel.intercept.patching import ActiveCassette, activate, deactivate
from llmreel.intercept.use_cassette import CassetteSession
from llmreel.matching import Matcher
from llmreel.pytest_plugin.bookkeeping import Running, TestEngine, TestUsage
from llmreel.pytest_plugin.failures import problems, record_command, replay_guard
from llmreel.pytest_plugin.options import MARKER
from llmreel.pytest_plugin.plan import Plan, plan_for
from llmreel.pytest_plugin.prune import Accounting, account
from llmreel.pytest_plugin.server_mode import HeaderTagger, ServerCassette
from llmreel.pytest_plugin.settings import Settings
from llmreel.pytest_plugin.summary import write_summary
from llmreel.store import open_cassette

__all__ = ["PLUGIN_KEY", "LlmreelPlugin", "pytest_configure"]

PLUGIN_KEY = pytest.StashKey["LlmreelPlugin"]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "llmreel(name=None, mode=None, normalizers=(), canonical_off=(), on_exhausted='error', "
        "scope='function', ignore_query=(), pace=None, allow_secrets=(), passthrough_hosts=(), "
        "faults=(), max_age=None, on_stale='warn'): record/replay this test's LLM API traffic "
        "in a cassette; faults= injects failures and latency (e.g. "
        "'http=429,retry-after=1,first=2'); max_age= (e.g. '90d') makes older recordings "
        "stale, on_stale= says whether to warn, fail or record them again; canonical_off= "
        "switches canonical matching rules off by name.",
    )
    try:
        settings = Settings.from_config(config)
    except ConfigError as exc:
        raise pytest.UsageError(f"llmreel: {exc}") from None
    plugin = LlmreelPlugin(config, settings)
    config.stash[PLUGIN_KEY] = plugin
    config.pluginmanager.register(plugin, "llmreel-session")


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
        self.running: dict[str, Running] = {}
        self.shared: dict[tuple[Any, ...], TestEngine] = {}
        self.partial_selection = any("::" in str(a) for a in config.args)
        self.accounting = Accounting()
        # Tests another part of the plugin serves (the vcrpy compatibility's vcr-marked tests).
        self.defer: Callable[[pytest.Item], bool] = lambda item: False

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
        if item.get_closest_marker(MARKER) is not None:
            return True
        return self.settings.all and not self.defer(item)

    def _engine(self, plan: Plan, item: pytest.Item, hint: str) -> TestEngine:
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
            matcher = Matcher(
                plan.normalizers,
                ignore_query=plan.ignore_query,
                canonical_off=plan.canonical_off,
            )
            engine = TestEngine(
                open_cassette(plan.path, matcher),
                plan.mode,
                on_exhausted=plan.on_exhausted,
                pace=plan.pace,
                allow_secrets=plan.allow_secrets,
                freshness=plan.freshness,
            )
            if key is not None:
                self.shared[key] = engine
        # Recordings say which test wrote them. The engine also prefers, among identical
        # requests, the recordings of its test_id (llama-stack keeps one per test); a shared
        # sequence must not be split that way, so only function scope sets it.
        engine.writer_test_id = item.nodeid
        engine.test_id = item.nodeid if key is None else None
        engine.record_hint = f"`{hint}`"
        # A test's faults are its own, counted from its first request, also on a shared engine.
        engine.faults = FaultPicker(plan.faults)
        engine.stale_hint = f"`{hint} --llmreel-on-stale=record`"
        return engine

    @contextlib.contextmanager
    def activate(self, item: pytest.Item) -> Iterator[CassetteSession | ServerCassette]:
        try:
            plan = plan_for(item, self.settings, self.config.rootpath)
        except ConfigError as exc:
            raise pytest.UsageError(f"llmreel: {exc}") from None
        hint = record_command(item, self.settings, self.config.invocation_params.dir)
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
            guard = replay_guard(item.nodeid, hint, allowed)
        if server is not None:
            handle = ServerCassette(server, plan.name, item.nodeid, ";".join(plan.faults))
            run = Running(usage, None, guard, hint)
            tagger = HeaderTagger(server, handle.headers)
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
        run = Running(
            usage,
            engine,
            guard,
            hint,
            base_hits=st.hits,
            base_recorded=st.recorded,
            base_misses=st.misses,
            base_messages=len(engine.miss_messages),
            base_faults=engine.journal.faults,
        )
        entry = ActiveCassette(engine, "respond", frozenset(plan.passthrough_hosts))
        self.running[item.nodeid] = run
        stale_before = len(st.stale)
        activate(entry)
        if guard is not None:
            guard.install()
        try:
            yield CassetteSession(engine)
        finally:
            if guard is not None:
                guard.uninstall()
            deactivate(entry)
            self.finish(run)
            for note in st.stale[stale_before:]:
                warnings.warn(
                    f"llmreel: {item.nodeid} replayed a stale recording: {note}",
                    StaleRecordingWarning,
                    stacklevel=1,
                )
            if plan.scope == "function":
                engine.cassette.close()

    def finish(self, run: Running) -> None:
        """Record what a test did with its cassette (``run`` was in :attr:`running`)."""
        usage, engine = run.usage, run.engine
        assert engine is not None
        st = engine.stats
        usage.hits = st.hits - run.base_hits
        usage.recorded = st.recorded - run.base_recorded
        usage.misses = st.misses - run.base_misses
        usage.faults = engine.journal.faults - run.base_faults
        usage.missed = engine.miss_messages[run.base_messages :]
        usage.used = sorted(st.used)
        usage.written = sorted(st.written)
        if run.guard is not None:
            usage.escapes = list(run.guard.escapes)
        self.running.pop(usage.nodeid, None)
        self.usages.append(usage)

    # ------------------------------------------------------------------ failing tests

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        run = self.running.get(item.nodeid)
        if run is None or report.skipped:
            return report
        text = problems(run)
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
        self.accounting = account(
            self.usages,
            interrupted=exitstatus == pytest.ExitCode.INTERRUPTED,
            prune=self.settings.prune,
            partial_selection=self.partial_selection,
            run_id=self.run_id,
        )

    def _rel(self, path: str | Path) -> str:
        try:
            return Path(path).relative_to(self.config.rootpath).as_posix()
        except ValueError:
            return str(path)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.is_worker or not self.usages:
            return
        write_summary(terminalreporter, self.usages, self.settings, self.accounting, self._rel)
