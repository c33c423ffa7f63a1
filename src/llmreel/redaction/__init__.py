"""Safe by default: credentials never reach a recording.

:mod:`.headers` redacts credential headers, key-like query parameters and URL
user-info from what is written; :mod:`.secrets` scans a recording for key-shaped
secrets (one pass over its JSON text with the combined patterns of
:mod:`.patterns`, stream fields joined across events by :mod:`.streams`) and
refuses the write on a hit.
"""

from llmreel.redaction.headers import (
    CREDENTIAL_HEADERS,
    REDACTED,
    VOLATILE_HEADERS,
    redact_headers,
    redact_query,
    redact_url,
)
from llmreel.redaction.secrets import SecretFinding, SecretScanner

__all__ = [
    "CREDENTIAL_HEADERS",
    "REDACTED",
    "VOLATILE_HEADERS",
    "SecretFinding",
    "SecretScanner",
    "redact_headers",
    "redact_query",
    "redact_url",
]
