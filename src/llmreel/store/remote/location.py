"""Where a remote cassette lives: ``s3://bucket/prefix``, ``gs://...``, ``az://...``.

A location never carries credentials: they come from the standard environment
of each provider (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
``AWS_ENDPOINT_URL``, ``AWS_REGION``, ``AWS_PROFILE``; ``GOOGLE_*``; ``AZURE_*``),
so a location can be printed, logged and stored in a recording safely.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from llmreel.exceptions import ConfigError, InvalidCassetteNameError

__all__ = ["SCHEMES", "RemoteLocation", "is_remote"]

SCHEMES = ("s3", "gs", "az")
_BUCKET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,254}$")
_PART = re.compile(r"^[A-Za-z0-9._\-\[\]]+$")


def is_remote(location: str | os.PathLike[str]) -> bool:
    """True for an object-store URL (``s3://``, ``gs://``, ``az://``)."""
    return (
        isinstance(location, str)
        and location.split("://", 1)[0].lower() in SCHEMES
        and ("://" in location)
    )


@dataclass(frozen=True)
class RemoteLocation:
    """A bucket and a prefix (without leading or trailing ``/``)."""

    scheme: str
    bucket: str
    prefix: str

    @classmethod
    def parse(cls, url: str) -> RemoteLocation:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in SCHEMES:
            raise ConfigError(
                f"{url!r} is not an object-store URL; use s3://BUCKET/PREFIX (or gs://, az://)."
            )
        if parts.username or parts.password or "@" in parts.netloc:
            raise ConfigError(
                f"{scheme}:// URLs must not carry credentials; set them in the environment "
                f"(AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or AWS_PROFILE) instead."
            )
        if parts.query or parts.fragment:
            raise ConfigError(
                f"{scheme}://{parts.netloc}{parts.path}: drop the '?...' part; settings such as "
                f"the endpoint come from the environment (AWS_ENDPOINT_URL, AWS_REGION)."
            )
        bucket = parts.netloc
        if not _BUCKET.match(bucket):
            raise ConfigError(f"{url!r}: {bucket!r} is not a valid bucket name.")
        prefix = parts.path.strip("/")
        for part in prefix.split("/") if prefix else ():
            if part in ("", ".", "..") or not _PART.match(part):
                raise InvalidCassetteNameError(
                    f"{url!r}: the prefix part {part!r} is not allowed (letters, digits, '.', "
                    f"'_', '-' between '/', no '..')."
                )
        return cls(scheme, bucket, prefix)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.bucket}" + (f"/{self.prefix}" if self.prefix else "")

    def __str__(self) -> str:
        return self.url

    def child(self, name: str) -> RemoteLocation:
        """The location of cassette ``name`` (already validated) under this one."""
        prefix = f"{self.prefix}/{name}" if self.prefix else name
        return RemoteLocation.parse(f"{self.scheme}://{self.bucket}/{prefix}")

    def key(self, name: str) -> str:
        """The object key of file ``name`` of this cassette."""
        return f"{self.prefix}/{name}" if self.prefix else name
