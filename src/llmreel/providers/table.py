"""What llmreel knows about each provider's wire API: how to recognise it, and what is noise.

Per provider: the paths that belong to it, the query parameters that carry
credentials or per-call ids (never part of a match, never written), the
headers that carry credentials (redacted on disk) or per-call ids (headers are
never part of a match), and the API family whose error shape a miss uses.

Why the query lists are applied as one union rather than per provider: the
engine writes a request with every ignored query value redacted, and the
cassette recomputes keys from what it wrote. A parameter ignored for one
provider but keyed for another would be keyed on a redacted value and stop
matching. So :data:`IGNORED_QUERY` (the union) is what
:class:`~llmreel.matching.Matcher` ignores by default; this table says where
each entry comes from, and the tests check that every credential header listed
here is redacted.

Parameters that change the answer stay in the key: Azure's ``api-version``,
Gemini's ``alt=sse``, the deployment or model in the path.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CREDENTIAL_HEADERS",
    "IGNORED_QUERY",
    "PROVIDERS",
    "Provider",
    "provider_for",
]


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    family: str  # api_shapes family: the shape of errors llmreel answers with
    path_prefixes: tuple[str, ...] = ()
    path_markers: tuple[str, ...] = ()  # substrings (Gemini's ':generateContent' etc.)
    credential_query: frozenset[str] = frozenset()
    per_call_query: frozenset[str] = frozenset()
    credential_headers: frozenset[str] = frozenset()
    per_call_headers: frozenset[str] = frozenset()

    def owns(self, path: str) -> bool:
        return path.startswith(self.path_prefixes) or any(m in path for m in self.path_markers)

    @property
    def ignored_query(self) -> frozenset[str]:
        return self.credential_query | self.per_call_query


# Most specific first: Azure's /openai/... before OpenAI's /v1/..., Anthropic's /v1/messages
# before the OpenAI-compatible /v1/.
PROVIDERS: tuple[Provider, ...] = (
    Provider(
        "azure-openai",
        "openai",
        path_prefixes=("/openai/deployments/", "/openai/v1/", "/openai/"),
        # Azure accepts the key as a header; SAS-style URLs and some proxies put it in the query.
        credential_query=frozenset({"api-key", "sig", "signature"}),
        per_call_query=frozenset({"client_request_id"}),
        credential_headers=frozenset({"api-key", "authorization"}),
        per_call_headers=frozenset({"x-ms-client-request-id", "apim-request-id"}),
    ),
    Provider(
        "gemini",
        "gemini",
        path_prefixes=("/v1beta/", "/v1alpha/", "/upload/v1beta/"),
        path_markers=(
            ":generateContent",
            ":streamGenerateContent",
            ":countTokens",
            ":embedContent",
            ":batchEmbedContents",
        ),
        credential_query=frozenset({"key", "x-goog-api-key", "access_token"}),
        credential_headers=frozenset({"x-goog-api-key", "authorization"}),
        per_call_headers=frozenset({"x-goog-request-params", "x-goog-api-client"}),
    ),
    Provider(
        "watsonx",
        "openai",
        path_prefixes=("/ml/v1/",),
        # IBM watsonx scopes every call to a project: an account setting, not part of the
        # question. llama-stack's recorder leaves it out of its hash too (api_recorder.py,
        # _normalize_body_for_hash drops extra_query/extra_body project_id).
        per_call_query=frozenset({"project_id"}),
        credential_headers=frozenset({"authorization"}),
    ),
    Provider(
        "ollama",
        "ollama",
        path_prefixes=("/api/",),
        credential_headers=frozenset({"authorization"}),
    ),
    Provider(
        "anthropic",
        "anthropic",
        path_prefixes=("/v1/messages", "/v1/complete"),
        credential_headers=frozenset({"x-api-key", "authorization"}),
        per_call_headers=frozenset({"request-id", "x-stainless-retry-count"}),
    ),
    Provider(
        "openai",
        "openai",
        # /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/responses[/{id}[/cancel]]...
        path_prefixes=("/v1/", "/chat/completions", "/completions", "/embeddings", "/responses"),
        credential_headers=frozenset({"authorization", "openai-api-key"}),
        per_call_headers=frozenset(
            {"x-request-id", "x-client-request-id", "idempotency-key", "x-stainless-retry-count"}
        ),
    ),
    Provider(
        "generic",
        "generic",
        # OAuth-style and generic key names that any gateway might put in a URL.
        credential_query=frozenset({"api_key", "apikey", "access_token", "token"}),
        per_call_query=frozenset({"request_id"}),
        credential_headers=frozenset({"authorization", "proxy-authorization", "cookie"}),
    ),
)

_GENERIC = PROVIDERS[-1]


def provider_for(path: str) -> Provider:
    """The provider whose API a request path belongs to (``generic`` when none matches)."""
    for provider in PROVIDERS[:-1]:
        if provider.owns(path):
            return provider
    return _GENERIC


IGNORED_QUERY: frozenset[str] = frozenset().union(*(p.ignored_query for p in PROVIDERS))
"""Query parameters never part of a match and redacted on disk, for every provider."""

CREDENTIAL_HEADERS: frozenset[str] = frozenset().union(*(p.credential_headers for p in PROVIDERS))
"""Request headers that carry a credential for some provider."""
