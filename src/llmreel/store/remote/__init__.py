"""Cassettes on object storage (S3 and compatible, Google Cloud Storage, Azure Blob).

:mod:`.location` parses ``s3://bucket/prefix`` URLs; :mod:`.objects` is the
store client (obstore); :mod:`.cache` the local, content-addressed read-through
cache; :mod:`.cassette` the :class:`RemoteCassette` that ties them together.
"""

from llmreel.store.remote.cassette import RemoteCassette
from llmreel.store.remote.location import RemoteLocation, is_remote

__all__ = ["RemoteCassette", "RemoteLocation", "is_remote"]
