"""Cassettes by location: a local directory or an object-store URL, opened the same way.

Every adapter opens its cassette here, so ``use_cassette("s3://bucket/x")``,
``--llmreel-dir s3://bucket/prefix`` and ``llmreel serve --dir s3://...`` all
mean the same store.
"""

from __future__ import annotations

import os
from pathlib import Path

from llmreel.matching import Matcher
from llmreel.store.cassette import Cassette
from llmreel.store.names import cassette_path, validate_cassette_name
from llmreel.store.remote import RemoteCassette, RemoteLocation, is_remote

__all__ = ["Location", "child_location", "is_remote", "open_cassette"]

Location = str | os.PathLike[str]


def open_cassette(location: Location, matcher: Matcher | None = None) -> Cassette:
    """The cassette at ``location``: a directory, or ``s3://`` / ``gs://`` / ``az://``."""
    if is_remote(location):
        return RemoteCassette(str(location), matcher)
    return Cassette(location, matcher)


def child_location(base: Location, name: str) -> str | Path:
    """Cassette ``name`` under ``base``; the name can never escape it."""
    if is_remote(base):
        return RemoteLocation.parse(str(base)).child(validate_cassette_name(name)).url
    return cassette_path(base, name)
