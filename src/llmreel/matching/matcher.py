"""Request identity: the key of a request, from its canonical JSON after normalizers and rules.

The key of a request is the sha256 of the canonical JSON of its method, endpoint
path, the query parameters that matter, and its body after the configured
normalizers and then the canonical rules (:mod:`llmreel.matching.rules`; a
multipart form is keyed by its fields, any other non-JSON body by its bytes'
digest). Host, port, scheme and headers never take part. The same
:class:`Matcher` is used when recording and when replaying, in every adapter,
so a recording made in-process replays through the server and vice versa.
Similarity is only ever used to *explain* a miss, never to answer one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any

from llmreel.matching.canonical import canonical_json
from llmreel.matching.normalizers import Normalizer, parse_normalizer
from llmreel.matching.rules import CanonicalRules, form_view
from llmreel.model.interaction import Request
from llmreel.providers.endpoints import endpoint_for
from llmreel.providers.table import IGNORED_QUERY

__all__ = ["DEFAULT_IGNORED_QUERY", "Matcher"]

# Query parameters that carry credentials or per-call noise on the providers we
# know (Gemini's `key`, Azure's `api-key`, generic tokens; see llmreel.providers.table,
# which says which provider each comes from). They never take part in a match
# and are redacted on disk.
DEFAULT_IGNORED_QUERY = IGNORED_QUERY


class Matcher:
    """Computes keys. Built once per cassette from the configured normalizers and rules.

    ``canonical_off`` names canonical rules to switch off (``"all"``: none apply, the
    body is keyed as sent, normalizers aside); :meth:`raw` builds such a matcher.
    """

    def __init__(
        self,
        normalizers: Iterable[str | Normalizer | Callable[[Any], Any]] = (),
        *,
        ignore_query: Iterable[str] = (),
        canonical_off: str | Iterable[str] | None = (),
    ) -> None:
        self.normalizers: tuple[Normalizer, ...] = tuple(parse_normalizer(n) for n in normalizers)
        self.ignore_query = DEFAULT_IGNORED_QUERY | {q.lower() for q in ignore_query}
        self.rules = CanonicalRules(canonical_off)

    @classmethod
    def raw(
        cls,
        normalizers: Iterable[str | Normalizer | Callable[[Any], Any]] = (),
        *,
        ignore_query: Iterable[str] = (),
    ) -> Matcher:
        """A matcher with every canonical rule off: bodies keyed as sent (vcrpy-like)."""
        return cls(normalizers, ignore_query=ignore_query, canonical_off="all")

    @property
    def specs(self) -> tuple[str, ...]:
        return tuple(n.spec for n in self.normalizers)

    @property
    def rule_ids(self) -> tuple[str, ...]:
        """The canonical rules in force, as ``name@version`` (stored in every recording)."""
        return self.rules.ids

    @property
    def fingerprint(self) -> str:
        """Identifies the configuration; an index built under another one is rebuilt."""
        query = "q:" + ",".join(sorted(self.ignore_query))
        text = "\n".join((*self.specs, query, "r:" + ",".join(self.rule_ids)))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def normalize_body(self, body: Any) -> Any:
        for n in self.normalizers:
            body = n(body)
        return body

    def keyed_body(self, request: Request) -> Any:
        """The body as it is keyed: normalizers, then the canonical rules of its endpoint."""
        body = self.normalize_body(request.body)
        return self.rules.body(body, endpoint_for(request.method, request.path))

    def form(self, request: Request) -> dict[str, Any] | None:
        """A multipart form's fields as keyed (normalizers applied), or None."""
        if not self.rules.forms or not request.raw or request.body is not None:
            return None
        ctype = next((v for k, v in request.headers.items() if k.lower() == "content-type"), "")
        view = form_view(request.raw, ctype)
        return None if view is None else self.normalize_body(view)

    def key_parts(self, request: Request) -> dict[str, Any]:
        parts: dict[str, Any] = {"method": request.method.upper(), "path": request.path}
        query = sorted((k, v) for k, v in request.query if k.lower() not in self.ignore_query)
        if query:
            parts["query"] = query
        if request.body is not None:
            parts["body"] = self.keyed_body(request)
        elif request.raw:
            form = self.form(request)
            if form is not None:
                parts["form"] = form
            else:
                parts["raw_sha256"] = hashlib.sha256(request.raw).hexdigest()
        return parts

    def key(self, request: Request) -> str:
        return hashlib.sha256(canonical_json(self.key_parts(request))).hexdigest()

    def path_key(self, request: Request) -> str:
        """The key of 'this method and path, any body' (llama-stack calls without arguments)."""
        parts = {"method": request.method.upper(), "path": request.path, "body": "*"}
        return hashlib.sha256(canonical_json(parts)).hexdigest()
