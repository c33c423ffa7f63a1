"""The request as it is written to a recording: credentials out, ``redact:`` rules applied.

Headers with credentials are redacted and per-call ones dropped, credential query values
and URL user-info removed, and the ``redact:`` normalizers applied to the JSON body, or
to a multipart form's text fields by name. The engine refuses a write that still holds a
secret after this (:mod:`.secrets`).
"""

from __future__ import annotations

from typing import Any

from llmreel.matching import Matcher, Normalizer
from llmreel.model.interaction import Request
from llmreel.redaction.forms import redact_form
from llmreel.redaction.headers import redact_headers, redact_query, redact_url

__all__ = ["stored_request"]


def _redactions(matcher: Matcher) -> list[Normalizer]:
    return [n for n in matcher.normalizers if n.spec.startswith("redact:")]


def _body(body: Any, redactions: list[Normalizer]) -> Any:
    for n in redactions:
        body = n(body)
    return body


def stored_request(request: Request, matcher: Matcher) -> Request:
    """``request`` as it will be written under ``matcher``'s query and ``redact:`` rules."""
    redactions = _redactions(matcher)
    raw = request.raw
    if redactions and raw is not None and request.body is None:
        raw = redact_form(raw, request.headers, redactions)
    return Request(
        method=request.method.upper(),
        url=redact_url(request.url, matcher.ignore_query),
        path=request.path,
        query=redact_query(request.query, matcher.ignore_query),
        headers=redact_headers(request.headers.items()),
        body=_body(request.body, redactions),
        raw=raw,
    )
