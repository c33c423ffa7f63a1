"""Where each provider's SDK reads its credential from, so a recorded request can be sent again.

Recordings never hold credentials (their headers say ``<redacted>``). Sending a
recorded request to the live provider again (``llmreel verify``, ``llmreel
rerecord``) therefore takes them from the environment, from the same variables
the provider's own SDK reads when a test records: ``OPENAI_API_KEY`` for the
OpenAI API, ``ANTHROPIC_API_KEY`` for Anthropic, and so on. The values are only
ever sent, never written or printed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from llmreel.providers.table import provider_for

__all__ = ["CREDENTIAL_SOURCES", "CredentialSource", "credentials_for"]


@dataclass(frozen=True, slots=True)
class CredentialSource:
    """One header and the environment variables (first set wins) its value comes from."""

    header: str
    env: tuple[str, ...]
    prefix: str = ""  # "Bearer " for Authorization headers

    def value(self, environ: Mapping[str, str]) -> tuple[str, str] | None:
        """``(variable, header value)`` from the first variable that is set, or None."""
        for name in self.env:
            text = environ.get(name, "").strip()
            if text:
                return name, self.prefix + text
        return None


# Per provider (see llmreel.providers.table): the variables the official SDKs read.
CREDENTIAL_SOURCES: dict[str, tuple[CredentialSource, ...]] = {
    "openai": (CredentialSource("authorization", ("OPENAI_API_KEY",), "Bearer "),),
    "azure-openai": (CredentialSource("api-key", ("AZURE_OPENAI_API_KEY",)),),
    "anthropic": (
        CredentialSource("x-api-key", ("ANTHROPIC_API_KEY",)),
        CredentialSource("authorization", ("ANTHROPIC_AUTH_TOKEN",), "Bearer "),
    ),
    "gemini": (CredentialSource("x-goog-api-key", ("GEMINI_API_KEY", "GOOGLE_API_KEY")),),
    "ollama": (CredentialSource("authorization", ("OLLAMA_API_KEY",), "Bearer "),),
    "generic": (),
}


def credentials_for(
    path: str, environ: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """The credential headers to send for a request path, and the variables that were unset.

    Returns ``(headers, unset)``: ``headers`` maps lower-case header names to values
    from the environment; ``unset`` maps each header that could not be filled to the
    variables that would have filled it (for a message that says what to set).
    """
    headers: dict[str, str] = {}
    unset: dict[str, tuple[str, ...]] = {}
    for source in CREDENTIAL_SOURCES.get(provider_for(path).name, ()):
        found = source.value(environ)
        if found is None:
            unset[source.header] = source.env
        else:
            headers[source.header] = found[1]
    return headers, unset
