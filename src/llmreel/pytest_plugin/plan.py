"""A test's plan: which cassette it uses and how, from its ``llmreel`` markers and the settings.

A test's cassette is ``<module dir>/cassettes/<module>/<test>/``, or
``<llmreel dir>/<module>/<test>/`` when a directory is set. ``scope="module"``
shares ``<module>/_module`` among the module's tests and ``scope="session"``
shares ``_session`` (under the llmreel dir, else ``<rootdir>/cassettes``);
``name=`` picks any cassette under the same base as the module's.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from llmreel.engine import Exhausted, Mode
from llmreel.engine.faults import parse_faults
from llmreel.engine.freshness import Freshness, OnStale, parse_duration, parse_on_stale
from llmreel.exceptions import ConfigError
from llmreel.matching import Matcher, parse_rule_names
from llmreel.pytest_plugin.naming import cassette_dir_name, module_name, recording_style_name
from llmreel.pytest_plugin.options import MARKER
from llmreel.pytest_plugin.settings import Settings
from llmreel.store import child_location, is_remote, validate_cassette_name

__all__ = ["Plan", "plan_for"]

_SCOPES = ("function", "module", "session")
_MARKER_KWARGS = frozenset(
    {
        "name",
        "mode",
        "normalizers",
        "ignore_query",
        "canonical_off",
        "on_exhausted",
        "pace",
        "allow_secrets",
        "passthrough_hosts",
        "scope",
        "faults",
        "max_age",
        "on_stale",
    }
)


@dataclass(frozen=True)
class Plan:
    """Which cassette a test uses and how."""

    path: Path | str  # a directory, or an object-store URL (``s3://...``)
    name: str  # the cassette's name relative to its base (the server header's value)
    scope: str
    owned: bool  # the test's own default cassette: nobody else records into it
    mode: Mode
    normalizers: tuple[Any, ...] = ()
    ignore_query: tuple[str, ...] = ()
    canonical_off: tuple[str, ...] = ()  # the session's and the marker's, together
    on_exhausted: Exhausted = "error"
    pace: Any = None
    allow_secrets: tuple[str, ...] = ()
    passthrough_hosts: tuple[str, ...] = ()
    faults: tuple[str, ...] = ()  # the marker's, then the session's (--llmreel-fault)
    max_age: _dt.timedelta | None = None
    on_stale: OnStale = "warn"

    @property
    def share_key(self) -> tuple[str, str, Mode, tuple[str, ...]]:
        normalizers = (*map(str, self.normalizers), *(f"-{r}" for r in self.canonical_off))
        return (str(self.path), self.scope, self.mode, normalizers)

    @property
    def freshness(self) -> Freshness | None:
        return Freshness(self.max_age, self.on_stale) if self.max_age is not None else None


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


def _freshness(
    kw: dict[str, Any], s: Settings, nodeid: str
) -> tuple[_dt.timedelta | None, OnStale]:
    """max_age and on_stale: command line / environment > marker > ini > default."""
    max_age = s.max_age
    if not s.max_age_explicit and kw.get("max_age") is not None:
        where = f"@pytest.mark.llmreel(max_age=...) of {nodeid}"
        max_age = parse_duration(kw["max_age"], source=where)
    on_stale = s.on_stale
    if not s.on_stale_explicit and kw.get("on_stale") is not None:
        where = f"@pytest.mark.llmreel(on_stale=...) of {nodeid}"
        on_stale = parse_on_stale(str(kw["on_stale"]), source=where)
    return max_age, on_stale


def _under(base: Path | str, name: str) -> Path | str:
    """``base/name`` for a directory; the cassette URL for an object store."""
    return child_location(base, name) if is_remote(base) else Path(base) / name


def plan_for(item: pytest.Item, settings: Settings, rootpath: Path) -> Plan:
    """Which cassette ``item`` uses and how, from its markers and the session settings."""
    kw = _marker_kwargs(item)
    scope = str(kw.get("scope") or "function")
    if scope not in _SCOPES:
        raise ConfigError(
            f"@pytest.mark.llmreel(scope={scope!r}): use 'function' (default), 'module' "
            f"or 'session'."
        )
    s = settings
    marker_mode = kw.get("mode")
    if s.mode_explicit or marker_mode is None:
        mode = s.mode
    else:
        mode = Mode.parse(marker_mode, source=f"@pytest.mark.llmreel(mode=...) of {item.nodeid}")
    module = module_name(item)
    module_base = s.dir if s.dir is not None else item.path.parent / "cassettes"
    name = kw.get("name")
    owned = False
    if name:
        name = validate_cassette_name(str(name))
        base = s.dir if s.dir is not None else item.path.parent / "cassettes"
        path = child_location(base, name)
    elif scope == "session":
        name = "_session"
        base = s.dir if s.dir is not None else rootpath / "cassettes"
        path = _under(base, name)
    elif scope == "module":
        name = f"{module}/_module"
        path = _under(module_base, name)
    else:
        name = f"{module}/{cassette_dir_name(item.nodeid)}"
        path = _under(module_base, name)
        owned = True
        # Cassettes imported from pytest-recording keep its names (`test_x[gpt-4o]`).
        imported = f"{module}/{recording_style_name(item)}"
        local = not is_remote(module_base) and not Path(path).exists()
        if local and (Path(module_base) / imported).is_dir():
            name, path = imported, Path(module_base) / imported
    on_exhausted = kw.get("on_exhausted", "error")
    if on_exhausted not in ("error", "repeat"):
        raise ConfigError(
            f"@pytest.mark.llmreel(on_exhausted={on_exhausted!r}): use 'error' or 'repeat'."
        )
    max_age, on_stale = _freshness(kw, settings, item.nodeid)
    try:
        marker_off = parse_rule_names(_as_tuple(kw.get("canonical_off"), "canonical_off"))
    except ConfigError as exc:
        raise ConfigError(
            f"@pytest.mark.llmreel(canonical_off=...) of {item.nodeid}: {exc}"
        ) from None
    plan = Plan(
        max_age=max_age,
        on_stale=on_stale,
        canonical_off=tuple(sorted(set(s.canonical_off) | marker_off)),
        path=path,
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
        faults=(*map(str, _as_tuple(kw.get("faults"), "faults")), *s.faults),
    )
    Matcher(plan.normalizers)  # a bad normalizer fails here, naming itself
    try:
        parse_faults(plan.faults)
    except ConfigError as exc:
        raise ConfigError(f"@pytest.mark.llmreel(faults=...) of {item.nodeid}: {exc}") from None
    return plan
