"""The session-wide settings, after precedence: command line > environment > ini > default.

A marker's ``mode=`` sits between the environment and the ini file: it beats
the project-wide ini value, but an explicit ``--llmreel-mode`` or
``$LLMREEL_MODE`` wins over every marker, so ``LLMREEL_MODE=replay`` in CI
guarantees that no test reaches the network. A relative ``--llmreel-dir`` is
taken from the directory pytest was started in, ``$LLMREEL_DIR`` from the
current directory, ``llmreel_dir`` from the ini file's directory.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from llmreel.engine.faults import parse_faults
from llmreel.engine.freshness import (
    ENV_MAX_AGE,
    ENV_ON_STALE,
    OnStale,
    parse_duration,
    parse_on_stale,
)
from llmreel.engine.modes import ENV_DIR, ENV_MODE, Mode
from llmreel.exceptions import ConfigError
from llmreel.matching import parse_rule_names
from llmreel.pytest_plugin.options import (
    ENV_ALL,
    ENV_CANONICAL_OFF,
    ENV_FAULTS,
    ENV_PRUNE,
    ENV_SERVER,
)
from llmreel.store import is_remote

__all__ = ["Settings"]

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})


@dataclass(frozen=True)
class Settings:
    """The session-wide settings after precedence; ``*_source`` says where each came from."""

    mode: Mode = Mode.REPLAY
    mode_source: str = "default"
    mode_explicit: bool = False  # from the command line or the environment: beats markers
    dir: Path | str | None = None  # a directory, or an object-store URL (s3://...)
    dir_source: str = "default"
    all: bool = False
    prune: bool = False
    server: str | None = None
    faults: tuple[str, ...] = ()  # for every test with a cassette, besides its marker's
    max_age: _dt.timedelta | None = None
    max_age_explicit: bool = False  # command line or environment: beats markers
    on_stale: OnStale = "warn"
    on_stale_explicit: bool = False
    canonical_off: tuple[str, ...] = ()  # canonical rules switched off for every test

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
        directory: Path | str | None = None
        if dir_text and is_remote(dir_text.strip()):
            directory = dir_text.strip().rstrip("/")
        elif dir_text:
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
        # Fault specs: the repeatable option, else the environment, else the ini file.
        fault_opt: list[str] | None = config.getoption("llmreel_fault", None)
        fault_env = os.environ.get(ENV_FAULTS, "").strip()
        fault_ini = str(config.getini("llmreel_faults") or "").strip()
        faults: tuple[str, ...] = ()
        faults_source = "default"
        if fault_opt:
            faults, faults_source = tuple(fault_opt), "--llmreel-fault"
        elif fault_env:
            faults, faults_source = (fault_env,), f"${ENV_FAULTS}"
        elif fault_ini:
            faults, faults_source = (fault_ini,), "ini llmreel_faults"
        try:
            parse_faults(faults)
        except ConfigError as exc:
            raise ConfigError(f"{faults_source}: {exc}") from None
        age_text, age_source = pick("llmreel_max_age", ENV_MAX_AGE, "llmreel_max_age")
        max_age = parse_duration(age_text, source=age_source) if age_text else None
        stale_text, stale_source = pick("llmreel_on_stale", ENV_ON_STALE, "llmreel_on_stale")
        on_stale = parse_on_stale(stale_text, source=stale_source) if stale_text else "warn"
        off_text, off_source = pick(
            "llmreel_canonical_off", ENV_CANONICAL_OFF, "llmreel_canonical_off"
        )
        try:
            canonical_off = tuple(sorted(parse_rule_names(off_text)))
        except ConfigError as exc:
            raise ConfigError(f"{off_source}: {exc}") from None
        return cls(
            faults=faults,
            max_age=max_age,
            max_age_explicit=age_source.startswith(("--", "$")),
            on_stale=on_stale,
            on_stale_explicit=stale_source.startswith(("--", "$")),
            canonical_off=canonical_off,
            mode=mode,
            mode_source=mode_source,
            mode_explicit=mode_source.startswith(("--", "$")),
            dir=directory,
            dir_source=dir_source,
            all=flag("llmreel_all", ENV_ALL, "llmreel_all"),
            prune=flag("llmreel_prune", ENV_PRUNE, "llmreel_prune"),
            server=server,
        )
