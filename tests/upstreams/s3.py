"""A real S3 API on 127.0.0.1: moto's server (``moto_server``) in a subprocess.

moto implements the S3 REST API over HTTP, conditional writes (``If-None-Match: *``)
included, so llmreel's obstore client talks to it exactly as to AWS or MinIO.
:meth:`MotoS3.env` gives the standard AWS variables pointing at it; the
credentials are made up per run and long enough to be found if they ever leak.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3

from upstreams.serving import LOOPBACK, free_port


def _moto_server() -> str:
    here = Path(sys.executable).with_name("moto_server")
    return str(here) if here.exists() else (shutil.which("moto_server") or "moto_server")


class MotoS3:
    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://{LOOPBACK}:{self.port}"
        self.access_key = "AKIA" + secrets.token_hex(8).upper()
        self.secret_key = secrets.token_urlsafe(30)
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            return
        self._proc = subprocess.Popen(
            [_moto_server(), "-H", LOOPBACK, "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                socket.create_connection((LOOPBACK, self.port), 0.2).close()
                return
            time.sleep(0.05)
        raise RuntimeError(f"moto_server did not start on port {self.port}")

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(10)
            self._proc = None

    @contextlib.contextmanager
    def stopped(self) -> Iterator[None]:
        """Down for the block (its in-memory buckets are lost); back on the same port after."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    def env(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": self.endpoint,
        }

    def client(self) -> Any:
        """A boto3 client on this server: a second, independent S3 client for the tests."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
        )

    def bucket(self, name: str | None = None) -> str:
        """Create a fresh bucket; its name."""
        name = name or f"reel-{secrets.token_hex(4)}"
        self.client().create_bucket(Bucket=name)
        return name

    def objects(self, bucket: str) -> dict[str, bytes]:
        """Every object of ``bucket`` (key -> bytes)."""
        client = self.client()
        out: dict[str, bytes] = {}
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                out[item["Key"]] = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
        return out


def with_env(env: dict[str, str]) -> dict[str, str]:
    """The current environment plus ``env`` (for subprocesses)."""
    return {**os.environ, **env}
