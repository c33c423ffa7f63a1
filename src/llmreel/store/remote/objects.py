"""The object store behind a remote cassette: list, get, conditional create, put, delete.

Built on obstore (the Python binding of the Rust ``object_store`` crate): one
client per bucket, configured from the standard environment only (for S3:
``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``,
``AWS_REGION``, ``AWS_ENDPOINT_URL``, ``AWS_PROFILE`` through boto3 when it is
installed). Every object is written with one PUT of the whole file, so it is
there whole or not at all; :meth:`ObjectStore.create` is a conditional create
(``If-None-Match: *``), which is how sequence positions are claimed. Errors
become :class:`~llmreel.exceptions.StoreUnavailableError` naming the object and
what to check, with any credential value scrubbed from the text.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar

from llmreel.exceptions import ConfigError, StoreUnavailableError
from llmreel.store.remote.location import RemoteLocation

try:
    import obstore
    from obstore.exceptions import AlreadyExistsError, BaseError, NotFoundError
    from obstore.store import from_url
except ImportError:  # pragma: no cover - exercised only without the extra installed
    obstore = None  # type: ignore[assignment]

# obstore raises its own errors, and Python's for some (FileNotFoundError for a missing
# object, ConnectionError and timeouts); both kinds mean the same to us.
_FAILURES = (BaseError, OSError) if obstore is not None else (OSError,)
_ABSENT = (NotFoundError, FileNotFoundError) if obstore is not None else (FileNotFoundError,)

__all__ = ["ObjectInfo", "ObjectStore", "scrub"]

_SECRET_ENV = (
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ACCESS_KEY_ID",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_SAS_TOKEN",
    "GOOGLE_SERVICE_ACCOUNT_KEY",
)
# Few, quick retries: a recorder waits on a write, and a replica on a listing.
_RETRY: dict[str, Any] = {
    "max_retries": 3,
    "backoff": {
        "init_backoff": timedelta(milliseconds=100),
        "max_backoff": timedelta(seconds=2),
        "base": 2,
    },
    "retry_timeout": timedelta(seconds=20),
}


def scrub(text: str) -> str:
    """``text`` with the value of every credential variable of the environment removed."""
    for name in _SECRET_ENV:
        value = os.environ.get(name)
        if value and len(value) >= 4:
            text = text.replace(value, "<redacted>")
    return text


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """What a listing says of one object."""

    size: int
    etag: str


def _client_options() -> dict[str, Any]:
    endpoint = os.environ.get("AWS_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT") or ""
    options: dict[str, Any] = {"connect_timeout": "5s", "timeout": "60s"}
    allow = os.environ.get("AWS_ALLOW_HTTP", "").lower() in ("1", "true", "yes")
    if endpoint.startswith("http://") or allow:
        options["allow_http"] = True  # a local MinIO or moto: plain HTTP on purpose
    return options


def _credential_provider(scheme: str) -> Any:
    if scheme != "s3" or not os.environ.get("AWS_PROFILE") or os.environ.get("AWS_ACCESS_KEY_ID"):
        return None
    try:
        from obstore.auth.boto3 import Boto3CredentialProvider
    except ImportError:
        raise ConfigError(
            "AWS_PROFILE is set, but reading AWS profiles needs boto3: `pip install boto3`, "
            "or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY instead."
        ) from None
    return Boto3CredentialProvider()


class ObjectStore:
    """One bucket. Object keys are full keys (the cassette prefix included)."""

    _clients: ClassVar[dict[tuple[str, str], Any]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, location: RemoteLocation) -> None:
        if obstore is None:
            raise ConfigError(
                f"{location} is an object-store cassette, which needs the obstore package: "
                f"`pip install 'llmreel[remote]'`."
            )
        self.location = location
        self._client = self._for(location)

    @classmethod
    def _for(cls, location: RemoteLocation) -> Any:
        ident = (location.scheme, location.bucket)
        with cls._lock:
            client = cls._clients.get(ident)
            if client is None:
                try:
                    options: dict[str, Any] = {
                        "client_options": _client_options(),
                        "retry_config": _RETRY,
                        "credential_provider": _credential_provider(location.scheme),
                    }
                    client = from_url(f"{location.scheme}://{location.bucket}", **options)
                except _FAILURES as exc:
                    raise _error("open", f"{location.scheme}://{location.bucket}", exc) from None
                cls._clients[ident] = client
            return client

    def where(self, key: str) -> str:
        return f"{self.location.scheme}://{self.location.bucket}/{key}"

    def list(self, prefix: str, *, recursive: bool) -> dict[str, ObjectInfo]:
        """Objects under ``prefix/`` by name relative to it (paged by the client)."""
        base = f"{prefix}/" if prefix else ""
        found: dict[str, ObjectInfo] = {}
        try:
            for page in obstore.list(self._client, prefix=base or None, chunk_size=1000):
                for meta in page:
                    name = str(meta["path"])[len(base) :]
                    if not recursive and "/" in name:
                        continue
                    found[name] = ObjectInfo(int(meta["size"]), str(meta.get("e_tag") or ""))
        except _FAILURES as exc:
            raise _error("list", self.where(base), exc) from None
        return found

    def get(self, key: str) -> tuple[bytes, str] | None:
        """The object's bytes and ETag, or None when it does not exist."""
        try:
            result = obstore.get(self._client, key)
            data = bytes(result.bytes())
        except _ABSENT:
            return None
        except _FAILURES as exc:
            raise _error("read", self.where(key), exc) from None
        return data, str(result.meta.get("e_tag") or "")

    def create(self, key: str, data: bytes) -> str | None:
        """Create the object only if it does not exist: its ETag, or None if it existed."""
        try:
            put = obstore.put(self._client, key, data, mode="create", use_multipart=False)
        except AlreadyExistsError:
            return None
        except _FAILURES as exc:
            raise _error("write", self.where(key), exc) from None
        return str(put.get("e_tag") or "")

    def put(self, key: str, data: bytes) -> str:
        try:
            put = obstore.put(self._client, key, data, mode="overwrite", use_multipart=False)
        except _FAILURES as exc:
            raise _error("write", self.where(key), exc) from None
        return str(put.get("e_tag") or "")

    def delete(self, key: str) -> None:
        try:
            obstore.delete(self._client, key)
        except _ABSENT:
            return
        except _FAILURES as exc:
            raise _error("delete", self.where(key), exc) from None


def _error(what: str, where: str, exc: Exception) -> StoreUnavailableError:
    detail = scrub(str(exc)).strip().splitlines()
    first = next((ln for ln in detail if ln.strip()), type(exc).__name__)[:300]
    return StoreUnavailableError(
        f"object store: could not {what} {where} ({type(exc).__name__}: {first}). Check that "
        f"the store is reachable (AWS_ENDPOINT_URL for MinIO and other S3-compatible stores), "
        f"that the bucket exists, and that the credentials in the environment may {what} there."
    )
