"""Named normalizers: explicit, visible rewrites of a body applied before it is keyed.

``ignore:PATH`` drops a JSON path, ``drop:FIELD`` a field anywhere, ``round:N``
rounds floats, ``redact:PATH`` replaces a value before it is keyed and written.
The same normalizers run when recording and when replaying, and each recording
stores the specs it was keyed with.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from llmreel.exceptions import ConfigError

__all__ = ["Normalizer", "parse_normalizer"]

_PATH_TOKEN = re.compile(r"\[(\*|\d+)\]|\.?([^.\[\]]+)")


def _split_path(path: str) -> list[str | int | None]:
    """``$.messages[*].id`` -> ['messages', None, 'id'] (None is the wildcard)."""
    text = path.strip()
    if text.startswith("$"):
        text = text[1:]
    if not text or text == ".":
        raise ConfigError(f"normalizer path {path!r} names no field; write e.g. 'metadata.id'.")
    out: list[str | int | None] = []
    pos = 0
    while pos < len(text):
        m = _PATH_TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise ConfigError(
                f"cannot parse normalizer path {path!r} at {text[pos:]!r}; "
                f"use dotted names with [n] or [*], e.g. 'messages[*].id'."
            )
        index, name = m.groups()
        if index is not None:
            out.append(None if index == "*" else int(index))
        else:
            out.append(None if name == "*" else name)
        pos = m.end()
    return out


def _drop_path(node: Any, parts: Sequence[str | int | None]) -> None:
    if not parts:
        return
    head, rest = parts[0], parts[1:]
    if isinstance(node, dict):
        keys = list(node) if head is None else [head] if head in node else []
        for k in keys:
            if rest:
                _drop_path(node[k], rest)
            else:
                del node[k]
    elif isinstance(node, list):
        if head is None:
            idx = list(range(len(node)))
        elif isinstance(head, int) and -len(node) <= head < len(node):
            idx = [head]
        else:
            idx = []
        if rest:
            for i in idx:
                _drop_path(node[i], rest)
        else:
            for i in sorted(idx, reverse=True):
                del node[i]


def _set_path(node: Any, parts: Sequence[str | int | None], value: Any) -> None:
    if not parts:
        return
    head, rest = parts[0], parts[1:]
    if isinstance(node, dict):
        keys = list(node) if head is None else [head] if head in node else []
        for k in keys:
            if rest:
                _set_path(node[k], rest, value)
            else:
                node[k] = value
    elif isinstance(node, list):
        if head is None:
            idx = list(range(len(node)))
        elif isinstance(head, int) and -len(node) <= head < len(node):
            idx = [head]
        else:
            idx = []
        for i in idx:
            if rest:
                _set_path(node[i], rest, value)
            else:
                node[i] = value


def _drop_field(node: Any, name: str) -> Any:
    if isinstance(node, dict):
        return {k: _drop_field(v, name) for k, v in node.items() if k != name}
    if isinstance(node, list):
        return [_drop_field(v, name) for v in node]
    return node


def _round_floats(node: Any, digits: int) -> Any:
    if isinstance(node, float):
        return round(node, digits)
    if isinstance(node, dict):
        return {k: _round_floats(v, digits) for k, v in node.items()}
    if isinstance(node, list):
        return [_round_floats(v, digits) for v in node]
    return node


@dataclass(frozen=True, slots=True)
class Normalizer:
    """A named, explicit transformation of a request body before it is keyed.

    ``spec`` is the name users write and the name stored in recordings, e.g.
    ``ignore:metadata.request_id``, ``drop:user``, ``round:3``,
    ``redact:messages[*].content``. Custom normalizers wrap a callable.
    """

    spec: str
    fn: Callable[[Any], Any]

    def __call__(self, body: Any) -> Any:
        return self.fn(body)


def parse_normalizer(spec: str | Normalizer | Callable[[Any], Any]) -> Normalizer:
    """Build a normalizer from its spec string (or wrap a callable)."""
    if isinstance(spec, Normalizer):
        return spec
    if callable(spec):
        name = getattr(spec, "__name__", "custom")
        return Normalizer(f"custom:{name}", spec)
    kind, sep, arg = str(spec).partition(":")
    kind = kind.strip().lower()
    arg = arg.strip()
    if not sep or not arg:
        raise ConfigError(
            f"normalizer {spec!r} needs an argument: 'ignore:PATH', 'drop:FIELD', "
            f"'round:DIGITS' or 'redact:PATH'."
        )
    if kind in ("ignore", "redact"):
        try:
            parts = _split_path(arg)
        except ConfigError as exc:
            raise ConfigError(f"normalizer {spec!r}: {exc}") from None
    if kind == "ignore":

        def ignore(body: Any) -> Any:
            out = copy.deepcopy(body)
            _drop_path(out, parts)
            return out

        return Normalizer(f"ignore:{arg}", ignore)
    if kind == "redact":

        def redact(body: Any) -> Any:
            out = copy.deepcopy(body)
            _set_path(out, parts, "<redacted>")
            return out

        return Normalizer(f"redact:{arg}", redact)
    if kind == "drop":
        return Normalizer(f"drop:{arg}", lambda body: _drop_field(body, arg))
    if kind == "round":
        try:
            digits = int(arg)
        except ValueError:
            raise ConfigError(f"normalizer {spec!r}: 'round:' takes a number of digits.") from None
        return Normalizer(f"round:{digits}", lambda body: _round_floats(body, digits))
    raise ConfigError(
        f"unknown normalizer {spec!r}; known kinds: ignore:PATH, drop:FIELD, round:DIGITS, "
        f"redact:PATH."
    )
