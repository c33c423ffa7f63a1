"""The session side of the vcrpy compatibility: each vcr-marked test's cassette, and the summary.

:meth:`VcrPlugin.activate` does for a ``@pytest.mark.vcr`` test what
pytest-recording does (``vcr_config`` and markers merged, the
``pytest_recording_configure`` hook, the cassette path, ``rewrite``), then routes
the test's traffic through a :class:`~.engine.VcrEngine` with llmreel's
interception, adds the network guard while the cassette can only replay, and
reports the test to llmreel's session plugin, so misses fail the test with their
explanation and the session summary counts it.

Record modes: an explicit ``--llmreel-mode`` / ``$LLMREEL_MODE`` wins over every
vcr setting (replay -> none, record-if-missing -> new_episodes, record -> all,
live -> cassettes off), as it wins over llmreel's own markers; otherwise
``record_mode`` from ``vcr_config`` or the markers, then ``--record-mode``, then
"none", as in pytest-recording.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from llmreel.engine import Mode
from llmreel.exceptions import ConfigError
from llmreel.intercept.guard import DEFAULT_ALLOW
from llmreel.intercept.patching import ActiveCassette, activate, deactivate
from llmreel.matching import Matcher
from llmreel.pytest_plugin.bookkeeping import Running, TestUsage
from llmreel.pytest_plugin.failures import record_command
from llmreel.pytest_plugin.options import MARKER
from llmreel.pytest_plugin.plugin import LlmreelPlugin
from llmreel.pytest_plugin.vcr_compat.cassette import VcrCassette
from llmreel.pytest_plugin.vcr_compat.config import (
    VcrShim,
    cassette_path,
    merge_kwargs,
    resolve,
)
from llmreel.pytest_plugin.vcr_compat.engine import VcrEngine
from llmreel.pytest_plugin.vcr_compat.network import PatternGuard
from llmreel.pytest_plugin.vcr_compat.report import StrictReport

__all__ = ["VCR_KEY", "VcrPlugin"]

VCR_KEY = pytest.StashKey["VcrPlugin"]()

_FROM_LLMREEL = {
    Mode.REPLAY: "none",
    Mode.RECORD_IF_MISSING: "new_episodes",
    Mode.RECORD: "all",
}


class VcrPlugin:
    """Per-session state of the vcrpy compatibility (see the module docstring)."""

    def __init__(self, config: pytest.Config, llmreel: LlmreelPlugin, *, strict: bool) -> None:
        self.config = config
        self.llmreel = llmreel
        self.report = StrictReport(config.rootpath, strict=strict)
        self.failed: set[str] = set()  # tests whose call failed (for record_on_exception)
        llmreel.defer = self.serves

    @property
    def strict(self) -> bool:
        return self.report.strict

    @staticmethod
    def serves(item: pytest.Item) -> bool:
        return item.get_closest_marker("vcr") is not None

    # ------------------------------------------------------------------ one test

    def _record_mode(self, merged: dict[str, Any], record_mode: str) -> str | None:
        settings = self.llmreel.settings
        if settings.mode_explicit:
            return _FROM_LLMREEL.get(settings.mode)  # None: live, cassettes off
        raw = merged.get("record_mode", record_mode) or "none"
        return str(getattr(raw, "value", raw))

    def _guard(self, request: pytest.FixtureRequest, merged: dict[str, Any], hint: str) -> Any:
        item = request.node
        hosts = {*DEFAULT_ALLOW, *map(str, merged.get("ignore_hosts") or ())}
        if self.llmreel.settings.server:
            hosts.add(self.llmreel.settings.server.split("//", 1)[-1].split(":", 1)[0])

        def describe(where: str) -> str:
            return (
                f"llmreel blocked a network connection to {where} during {item.nodeid}: its "
                f"vcr cassette only replays (record mode none, or once with the cassette "
                f"recorded), so the test may only reach loopback and the allowed hosts."
            )

        advice = (
            f" If this call should be recorded, record it with `{hint}`; if it must reach the "
            f"network, allow the host (--allowed-hosts, or allowed_hosts in vcr_config)."
        )
        return PatternGuard(
            hosts,
            describe,
            patterns=request.getfixturevalue("allowed_hosts") or (),
            private_ips=bool(request.getfixturevalue("allow_private_ips")),
            advice=advice,
        )

    @contextlib.contextmanager
    def activate(
        self,
        request: pytest.FixtureRequest,
        markers: list[pytest.Mark],
        directory: str,
        record_mode: str,
    ) -> Iterator[VcrCassette | None]:
        item = request.node
        assert isinstance(item, pytest.Item)
        if item.get_closest_marker(MARKER) is not None:
            raise pytest.UsageError(
                f"llmreel: {item.nodeid} has both @pytest.mark.llmreel and @pytest.mark.vcr; "
                f"keep one (llmreel's own cassettes, or the vcrpy cassette file)."
            )
        merged = merge_kwargs(request.getfixturevalue("vcr_config"), markers)
        mode = self._record_mode(merged, record_mode)
        if mode is None:
            yield None
            return
        default = request.getfixturevalue("default_cassette_name")
        shim = VcrShim(directory, mode)
        self.config.hook.pytest_recording_configure(config=self.config, vcr=shim)
        try:
            path = cassette_path(default, directory, merged, shim)
            options = resolve({**merged, "record_mode": mode}, mode, shim)
        except ConfigError as exc:
            raise pytest.UsageError(f"llmreel: {item.nodeid}: {exc}") from None
        if options.record_mode == "rewrite":
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
            options = dataclasses.replace(options, record_mode="new_episodes")
        extras = [
            p if os.path.isabs(p) else os.path.join(directory, p) for m in markers for p in m.args
        ]
        cassette = VcrCassette(path, options, extras).load()
        self.report.ignored.update(options.ignored)
        hint = record_command(item, self.llmreel.settings, self.config.invocation_params.dir)
        matcher = Matcher(canonical_off=self.llmreel.settings.canonical_off)
        engine = VcrEngine(cassette, strict=self.strict, record_hint=f"`{hint}`", matcher=matcher)
        if cassette.write_protected:
            llmreel_mode = Mode.REPLAY
        elif options.record_mode in ("once", "new_episodes"):
            llmreel_mode = Mode.RECORD_IF_MISSING
        else:
            llmreel_mode = Mode.RECORD
        guard = self._guard(request, merged, hint) if llmreel_mode is Mode.REPLAY else None
        usage = TestUsage(item.nodeid, path, "function", True, llmreel_mode.value)
        run = Running(usage, engine, guard, hint)
        entry = ActiveCassette(engine)
        self.llmreel.running[item.nodeid] = run
        activate(entry)
        if guard is not None:
            guard.install()
        try:
            yield cassette
        finally:
            if guard is not None:
                guard.uninstall()
            deactivate(entry)
            engine.journal.finish_pending()
            try:
                if options.record_on_exception or item.nodeid not in self.failed:
                    cassette.save()
            finally:
                self.llmreel.finish(run)
                self.report.add(item.nodeid, self._rel(path), engine)

    def _rel(self, path: str) -> str:
        try:
            return Path(path).resolve().relative_to(self.config.rootpath).as_posix()
        except ValueError:
            return path

    # ------------------------------------------------------------------ hooks

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if call.when == "call" and report.failed:
            self.failed.add(item.nodeid)
        return report

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        self.report.merge(getattr(node, "workeroutput", {}).get("llmreel_vcr"))

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.llmreel.is_worker:
            self.config.workeroutput["llmreel_vcr"] = self.report.dump()  # type: ignore[attr-defined]
            return
        self.report.write()

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.llmreel.is_worker:
            self.report.summary(terminalreporter)
