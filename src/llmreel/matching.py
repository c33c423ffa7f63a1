"""Request identity: canonical JSON, named normalizers, the key, and miss diagnosis.

The key of a request is the sha256 of the canonical JSON of its method, endpoint
path, the query parameters that matter, and its body after the configured
normalizers. Host, port, scheme and headers never take part. The same
:class:`Matcher` is used when recording and when replaying, in every adapter,
so a recording made in-process replays through the server and vice versa.
Similarity is only ever used to *explain* a miss, never to answer one.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from llmreel.exceptions import ConfigError
from llmreel.interaction import Request
from llmreel.providers import IGNORED_QUERY

__all__ = [
    "DEFAULT_IGNORED_QUERY",
    "Matcher",
    "Normalizer",
    "body_diff",
    "canonical_json",
    "parse_normalizer",
]

# Query parameters that carry credentials or per-call noise on the providers we
# know (Gemini's `key`, Azure's `api-key`, generic tokens; see llmreel.providers,
# which says which provider each comes from). They never take part in a match
# and are redacted on disk.
DEFAULT_IGNORED_QUERY = IGNORED_QUERY


def _canon(value: Any) -> Any:
    # Integral floats compare equal to ints in every client we know (0.0 vs 0),
    # so the canonical form does not let that spelling split a key.
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2**53:
            return int(value)
        return value
    if isinstance(value, dict):
        return {str(k): _canon(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canon(v) for v in value]
    return value


def canonical_json(value: Any) -> bytes:
    """Sorted-key compact JSON with integral floats written as ints."""
    return orjson.dumps(_canon(value), option=orjson.OPT_SORT_KEYS)


# --------------------------------------------------------------------------- normalizers

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


# --------------------------------------------------------------------------- matcher


class Matcher:
    """Computes keys. Built once per cassette from the configured normalizers."""

    def __init__(
        self,
        normalizers: Iterable[str | Normalizer | Callable[[Any], Any]] = (),
        *,
        ignore_query: Iterable[str] = (),
    ) -> None:
        self.normalizers: tuple[Normalizer, ...] = tuple(parse_normalizer(n) for n in normalizers)
        self.ignore_query = DEFAULT_IGNORED_QUERY | {q.lower() for q in ignore_query}

    @property
    def specs(self) -> tuple[str, ...]:
        return tuple(n.spec for n in self.normalizers)

    @property
    def fingerprint(self) -> str:
        """Identifies the configuration; an index built under another one is rebuilt."""
        text = "\n".join((*self.specs, "q:" + ",".join(sorted(self.ignore_query))))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def normalize_body(self, body: Any) -> Any:
        for n in self.normalizers:
            body = n(body)
        return body

    def key_parts(self, request: Request) -> dict[str, Any]:
        parts: dict[str, Any] = {"method": request.method.upper(), "path": request.path}
        query = sorted((k, v) for k, v in request.query if k.lower() not in self.ignore_query)
        if query:
            parts["query"] = query
        if request.body is not None:
            parts["body"] = self.normalize_body(request.body)
        elif request.raw:
            parts["raw_sha256"] = hashlib.sha256(request.raw).hexdigest()
        return parts

    def key(self, request: Request) -> str:
        return hashlib.sha256(canonical_json(self.key_parts(request))).hexdigest()

    def path_key(self, request: Request) -> str:
        """The key of 'this method and path, any body' (llama-stack calls without arguments)."""
        parts = {"method": request.method.upper(), "path": request.path, "body": "*"}
        return hashlib.sha256(canonical_json(parts)).hexdigest()


# --------------------------------------------------------------------------- diagnosis


def _pretty(value: Any) -> list[str]:
    return (
        orjson.dumps(_canon(value), option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2)
        .decode()
        .splitlines()
    )


def _word_marks(old: str, new: str) -> str:
    """Show which words changed between two lines: -[old]- {+new+}."""
    a, b = old.split(" "), new.split(" ")
    out: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(" ".join(a[i1:i2]))
        else:
            if i2 > i1:
                out.append("[-" + " ".join(a[i1:i2]) + "-]")
            if j2 > j1:
                out.append("{+" + " ".join(b[j1:j2]) + "+}")
    return " ".join(out)


def body_diff(recorded: Any, requested: Any, *, context: int = 2, limit: int = 60) -> str:
    """A unified diff of two bodies (recorded vs. this request), with changed words marked."""
    old, new = _pretty(recorded), _pretty(requested)
    lines = list(difflib.unified_diff(old, new, "recorded", "this request", n=context, lineterm=""))
    minus = [ln[1:] for ln in lines if ln.startswith("-") and not ln.startswith("---")]
    plus = [ln[1:] for ln in lines if ln.startswith("+") and not ln.startswith("+++")]
    words = [
        "  changed words: " + _word_marks(m.strip(), p.strip())
        for m, p in zip(minus, plus, strict=False)
        if m.strip() != p.strip()
    ][:5]
    if len(lines) > limit:
        lines = [*lines[:limit], f"... ({len(lines) - limit} more diff lines)"]
    return "\n".join(lines + words)


def similarity(a: Any, b: Any) -> float:
    """How alike two request bodies are, 0..1, only to rank candidates in a miss message."""
    sa = canonical_json(a).decode(errors="replace")
    sb = canonical_json(b).decode(errors="replace")
    if sa == sb:
        return 1.0
    return (
        difflib.SequenceMatcher(None, sa, sb, autojunk=False).quick_ratio() * 0.5
        + difflib.SequenceMatcher(None, sa[:4000], sb[:4000], autojunk=False).ratio() * 0.5
    )
