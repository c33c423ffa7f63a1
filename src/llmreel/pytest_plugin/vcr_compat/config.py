"""A test's vcrpy configuration: ``vcr_config`` and its ``vcr`` markers merged, as pytest-recording
merges them, resolved against what ``pytest_recording_configure`` registered.

:class:`VcrShim` is the ``vcr`` object the ``pytest_recording_configure(config,
vcr)`` hook receives: ``register_serializer``, ``register_matcher``,
``register_persister`` and the VCR-wide defaults a hook may set as attributes.
:func:`resolve` turns the merged keyword arguments into :class:`CassetteOptions`;
an argument vcrpy would reject (an unknown keyword, a serializer or matcher
nobody registered, a record mode that does not exist) is a ``ConfigError``
naming it.
"""

from __future__ import annotations

import copy
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from llmreel.exceptions import ConfigError
from llmreel.formats.vcr_serializers import SERIALIZERS
from llmreel.pytest_plugin.vcr_compat.filters import (
    RequestFilter,
    ResponseFilter,
    request_filter,
    response_filter,
)
from llmreel.pytest_plugin.vcr_compat.matchers import (
    BUILTIN_MATCHERS,
    DEFAULT_MATCH_ON,
    MatcherFn,
)

__all__ = [
    "NO_EFFECT",
    "RECORD_MODES",
    "CassetteOptions",
    "VcrShim",
    "cassette_path",
    "merge_kwargs",
    "resolve",
]

RECORD_MODES = ("once", "new_episodes", "none", "all", "rewrite")

# vcrpy arguments llmreel honours.
_HONOURED = frozenset(
    {
        "serializer",
        "persister",
        "match_on",
        "additional_matchers",
        "record_mode",
        "before_record",
        "before_record_request",
        "before_record_response",
        "filter_headers",
        "filter_query_parameters",
        "filter_post_data_parameters",
        "filter_nested_post_data_parameters",
        "ignore_hosts",
        "ignore_localhost",
        "decode_compressed_response",
        "allow_playback_repeats",
        "drop_unused_requests",
        "record_on_exception",
        "path_transformer",
        "cassette_library_dir",
        # pytest-recording reads these from vcr_config for its network blocking.
        "allowed_hosts",
        "allow_private_ips",
    }
)
# Arguments about how vcrpy patches HTTP libraries: llmreel intercepts every stack itself.
NO_EFFECT = frozenset({"custom_patches", "skip_patchers", "inject_cassette", "func_path_generator"})

_MAX_NAME = 255


def merge_kwargs(config: dict[str, Any], markers: list[pytest.Mark]) -> dict[str, Any]:
    """``vcr_config`` updated with the markers' keyword arguments, the closest marker last."""
    kwargs = copy.deepcopy(config)
    for marker in reversed(markers):
        kwargs.update(marker.kwargs)
    return kwargs


def _ensure_suffix(suffix: str) -> Callable[[str], str]:
    def ensure(path: Any) -> str:
        text = str(os.fspath(path))
        return text if text.endswith(suffix) else text + suffix

    return ensure


class VcrShim:
    """The ``vcr`` handed to ``pytest_recording_configure``: registries and VCR-wide defaults."""

    ensure_suffix = staticmethod(_ensure_suffix)

    def __init__(self, cassette_library_dir: str, record_mode: str) -> None:
        self.cassette_library_dir = cassette_library_dir
        self.record_mode = record_mode
        self.serializers: dict[str, Any] = dict(SERIALIZERS)
        self.matchers: dict[str, MatcherFn] = dict(BUILTIN_MATCHERS)
        self.persister: Any = None
        self.serializer = "yaml"
        self.match_on: Any = DEFAULT_MATCH_ON
        self.path_transformer: Callable[[str], str] | None = None

    def register_serializer(self, name: str, serializer: Any) -> None:
        self.serializers[name] = serializer

    def register_matcher(self, name: str, matcher: MatcherFn) -> None:
        self.matchers[name] = matcher

    def register_persister(self, persister: Any) -> None:
        self.persister = persister


@dataclass(frozen=True)
class CassetteOptions:
    """What one cassette does, resolved."""

    record_mode: str
    serializer_name: str
    serializer: Any
    persister: Any  # None: files on disk, written atomically
    matchers: tuple[tuple[str, MatcherFn], ...]
    before_record_request: RequestFilter
    before_record_response: ResponseFilter
    allow_playback_repeats: bool
    drop_unused_requests: bool
    record_on_exception: bool
    ignored: tuple[str, ...]  # given, without effect under llmreel (see NO_EFFECT)


def _matchers(names: Any, shim: VcrShim) -> tuple[tuple[str, MatcherFn], ...]:
    out: list[tuple[str, MatcherFn]] = []
    for item in names:
        if callable(item):
            out.append((getattr(item, "__name__", repr(item)), item))
            continue
        fn = shim.matchers.get(str(item))
        if fn is None:
            known = ", ".join(sorted(shim.matchers))
            raise ConfigError(
                f"match_on names the matcher {item!r}, which nobody registered; known: {known} "
                f"(register your own with vcr.register_matcher in pytest_recording_configure)."
            )
        out.append((str(item), fn))
    return tuple(out)


def resolve(merged: dict[str, Any], record_mode: str, shim: VcrShim) -> CassetteOptions:
    """The options of one cassette from the merged keyword arguments (see the module doc)."""
    unknown = set(merged) - _HONOURED - NO_EFFECT
    if unknown:
        raise ConfigError(
            f"vcr_config / @pytest.mark.vcr: unknown or unsupported argument(s) "
            f"{', '.join(sorted(unknown))}; llmreel reads {', '.join(sorted(_HONOURED))}."
        )
    raw_mode = merged.get("record_mode", record_mode) or "none"
    mode = str(getattr(raw_mode, "value", raw_mode))  # vcrpy's RecordMode enum, or a string
    if mode not in RECORD_MODES:
        raise ConfigError(
            f"record_mode {mode!r} does not exist; use one of {', '.join(RECORD_MODES)}."
        )
    name = str(merged.get("serializer", shim.serializer))
    serializer = shim.serializers.get(name)
    if serializer is None:
        raise ConfigError(
            f"serializer {name!r} is not registered; register it with "
            f"vcr.register_serializer({name!r}, ...) in pytest_recording_configure, or use "
            f"'yaml' or 'json'."
        )
    names = tuple(merged.get("match_on", shim.match_on)) + tuple(
        merged.get("additional_matchers", ())
    )
    return CassetteOptions(
        record_mode=mode,
        serializer_name=name,
        serializer=serializer,
        persister=merged.get("persister", shim.persister),
        matchers=_matchers(names, shim),
        before_record_request=request_filter(merged),
        before_record_response=response_filter(merged),
        allow_playback_repeats=bool(merged.get("allow_playback_repeats", False)),
        drop_unused_requests=bool(merged.get("drop_unused_requests", False)),
        record_on_exception=bool(merged.get("record_on_exception", True)),
        ignored=tuple(sorted(set(merged) & NO_EFFECT)),
    )


def cassette_path(default_name: str, directory: str, merged: dict[str, Any], shim: VcrShim) -> str:
    """Where the test's cassette file is, as pytest-recording and vcrpy compute it."""
    suffix = merged.get("serializer", ".yaml")
    if len(default_name) + len(str(suffix)) > _MAX_NAME:
        digest = hashlib.md5(default_name.encode()).hexdigest()  # pytest-recording's own rule
        default_name = (
            f"{default_name[: _MAX_NAME - len(str(suffix)) - len(digest) - 3]}...{digest}"
        )
    transformer = merged.get("path_transformer", shim.path_transformer)
    if transformer is None:
        serializer = merged.get("serializer")
        transformer = _ensure_suffix(f".{serializer}" if serializer else ".yaml")
    library = os.fspath(merged.get("cassette_library_dir") or directory)
    path = os.fspath(transformer(default_name))
    if not path.startswith(library):
        path = os.path.join(library, path)
    return path
