"""The one exception hierarchy of llmreel.

Every message says what happened, where (file, cassette, URL) and what to do
next, so a failing test or server log is enough to fix the problem.
"""

from __future__ import annotations

__all__ = [
    "CassetteNotFoundError",
    "ConfigError",
    "FaultSpecError",
    "FormatVersionError",
    "InvalidCassetteNameError",
    "LlmreelError",
    "NetworkBlockedError",
    "OutsideDirError",
    "RecordingError",
    "RecordingFileError",
    "ReplayMissError",
    "SecretLeakError",
    "SequenceExhaustedError",
    "StaleRecordingError",
    "StaleRecordingWarning",
    "StoreUnavailableError",
    "UnsupportedRecordingError",
    "UpstreamError",
    "WriteFailedError",
]


class LlmreelError(Exception):
    """Base class of every error llmreel raises on purpose."""


class ConfigError(LlmreelError, ValueError):
    """A mode, directory, normalizer or other setting is invalid."""


class FaultSpecError(ConfigError):
    """A fault spec (``faults=``, ``--fault``, ``X-Llmreel-Fault``) does not parse."""


class InvalidCassetteNameError(ConfigError):
    """A cassette name would escape its directory or is not a usable name."""


class CassetteNotFoundError(LlmreelError):
    """Replay was asked for a cassette directory that does not exist."""


class RecordingFileError(LlmreelError):
    """A recording file cannot be read: damaged, truncated or of the wrong shape."""

    def __init__(self, path: object, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(
            f"{self.path}: {reason}. The rest of the cassette still works; fix or delete this "
            f"file (`llmreel check {self.path}` explains it, re-recording replaces it)."
        )


class FormatVersionError(RecordingFileError):
    """A recording was written by a newer llmreel with a format this one cannot read."""

    def __init__(self, path: object, version: object, supported: int) -> None:
        self.version = version
        self.supported = supported
        LlmreelError.__init__(
            self,
            f"{path}: recording format version {version!r} is newer than this llmreel "
            f"understands (up to {supported}). Upgrade llmreel (`pip install -U llmreel`) "
            f"to replay it; the file was left untouched.",
        )
        self.path = str(path)
        self.reason = f"unknown format version {version!r}"


class UnsupportedRecordingError(RecordingFileError):
    """A file parses, but describes something llmreel cannot replay."""


class ReplayMissError(LlmreelError):
    """No recording matches a request in replay mode; the message explains the miss."""

    def __init__(self, message: str, *, key: str = "", cassette: str = "") -> None:
        self.key = key
        self.cassette = cassette
        super().__init__(message)


class SequenceExhaustedError(ReplayMissError):
    """A request was sent more often than it was recorded."""


class StaleRecordingError(ReplayMissError):
    """A recording is older than ``max_age`` and ``on_stale='fail'``: it was not replayed."""


class StaleRecordingWarning(UserWarning):
    """Recordings older than ``max_age`` were replayed (``on_stale='warn'``)."""


class NetworkBlockedError(LlmreelError, ConnectionError):
    """A test in replay mode tried to reach the network around llmreel (pytest plugin)."""


class RecordingError(LlmreelError):
    """Recording an interaction failed."""


class SecretLeakError(RecordingError):
    """A key-shaped secret was found in what would be written to disk; nothing was written."""

    def __init__(self, where: str, kind: str, path: str = "") -> None:
        self.where = where
        self.kind = kind
        target = f" to {path}" if path else ""
        if where.startswith("request.body"):
            # Only request bodies pass through the normalizers, so only there can a rule help.
            field = where.removeprefix("request.body").lstrip(".") or "FIELD"
            rule = (
                f"otherwise add a redaction rule (normalizers=['redact:{field}'] / "
                f"--normalize 'redact:{field}'; it still matches on replay) or remove it"
            )
        elif where.startswith("request.query"):
            rule = "otherwise ignore that query parameter (ignore_query=[...]) or remove it"
        else:
            rule = "otherwise remove it from the traffic"
        super().__init__(
            f"refused to write a recording{target}: {where} holds what looks like a secret "
            f"({kind}). Nothing was written. If the value is not a secret, mark it safe "
            f"(allow_secrets=[...] / --allow-secret VALUE); {rule}."
        )


class WriteFailedError(RecordingError):
    """The file system refused a write (disk full, read-only directory, permissions)."""


class UpstreamError(LlmreelError):
    """The upstream model server could not be reached or failed mid-response."""


class StoreUnavailableError(LlmreelError):
    """A remote store (S3 and compatible object storage) cannot be reached or refused a call."""


class OutsideDirError(LlmreelError):
    """A file name that would resolve outside the directory being inspected (``llmreel ui``)."""
