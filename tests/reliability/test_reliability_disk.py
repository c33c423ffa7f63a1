"""A full disk or a read-only directory: a clear WriteFailedError, nothing corrupted.

Uses a real tiny tmpfs (``mount -t tmpfs -o size=64k``), remounted read-only for the
read-only cases, because ``chmod`` does not stop root. Without the privilege to mount, the
disk-full case falls back to a subprocess in which ``os.write`` fails with ENOSPC; the
read-only cases are skipped with the reason.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hostile import run_python
from llmreel import Cassette, WriteFailedError, load_file, use_cassette
from llmreel.store.index import INDEX_DIR
from upstreams.faulty import FaultyUpstream

CHAT = "/v1/chat/completions"


def chat(content: str, *, stream: bool = False) -> dict[str, Any]:
    return {"model": "d", "stream": stream, "messages": [{"role": "user", "content": content}]}


def _mount(*args: str) -> bool:
    if shutil.which("mount") is None:
        return False
    done = subprocess.run(["mount", *args], capture_output=True, check=False)
    return done.returncode == 0


@contextlib.contextmanager
def tiny_tmpfs(where: Path, size: str = "64k") -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    if not _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)):
        pytest.skip("cannot mount a tmpfs here (needs root); see the ENOSPC fallback test")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, check=False)


def remount_read_only(where: Path) -> None:
    assert _mount("-o", "remount,ro", str(where)), "tmpfs could not be remounted read-only"


def record(
    root: Path, base_url: str, content: str, *, events: int = 5, stream: bool = False
) -> Any:
    with use_cassette(root, mode="record-if-missing"), httpx.Client() as client:
        return client.post(
            base_url + CHAT,
            json=chat(content, stream=stream),
            headers={"x-fault-events": str(events)},
        )


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_disk_full_raises_write_failed_and_keeps_what_was_there(
    stream: bool, tmp_path: Path, faulty: FaultyUpstream
) -> None:
    with tiny_tmpfs(tmp_path / "mnt") as mnt:
        root = mnt / "cassette"
        first = record(root, faulty.base_url, "small one", stream=stream)
        assert first.status_code == 200
        before = snapshot(root)
        with pytest.raises(WriteFailedError) as err:
            record(
                root, faulty.base_url, "too big", events=4000 if stream else 30000, stream=stream
            )
        message = str(err.value)
        assert "disk is full" in message and "ENOSPC" in message and str(root) in message
        assert "Nothing was written" in message
        assert snapshot(root) == before, "a failed write changed or left files"
        assert not list(root.rglob(".*.partial"))
        # The store still opens and replays what it had.
        with use_cassette(root, mode="replay"), httpx.Client() as client:
            again = client.post(faulty.base_url + CHAT, json=chat("small one", stream=stream))
        assert again.status_code == 200 and again.content == b"".join(
            load_file(next(root.glob("*.json"))).response.wire_chunks()
        )


def test_read_only_directory_raises_write_failed_and_still_replays(
    tmp_path: Path, faulty: FaultyUpstream
) -> None:
    with tiny_tmpfs(tmp_path / "mnt", size="4m") as mnt:
        root = mnt / "cassette"
        assert record(root, faulty.base_url, "kept").status_code == 200
        before = snapshot(root)
        remount_read_only(mnt)
        with pytest.raises(WriteFailedError) as err:
            record(root, faulty.base_url, "new one")
        assert "not writable" in str(err.value) and "EROFS" in str(err.value)
        with use_cassette(root, mode="replay"), httpx.Client() as client:
            assert client.post(faulty.base_url + CHAT, json=chat("kept")).status_code == 200
        assert snapshot(root) == before


def test_read_only_large_cassette_replays_without_its_index(
    tmp_path: Path, faulty: FaultyUpstream
) -> None:
    from test_reliability_damaged import INDEX_THRESHOLD, _answers, _fill

    with tiny_tmpfs(tmp_path / "mnt", size="8m") as mnt:
        root = mnt / "big"
        _fill(root, INDEX_THRESHOLD + 5)
        remount_read_only(mnt)
        assert _answers(root, faulty.base_url, ["p1", f"p{INDEX_THRESHOLD + 4}", "x"]) == [
            1,
            INDEX_THRESHOLD + 4,
            404,
        ]
        assert not (root / INDEX_DIR / "index.sqlite").exists()
        c = Cassette(root)
        assert c.errors == {} and len(c) == INDEX_THRESHOLD + 5
        c.close()


def test_missing_cassette_directory_on_a_read_only_parent(
    tmp_path: Path, faulty: FaultyUpstream
) -> None:
    with tiny_tmpfs(tmp_path / "mnt") as mnt:
        remount_read_only(mnt)
        with pytest.raises(WriteFailedError, match="not writable"):
            record(mnt / "never" / "created", faulty.base_url, "x")


_ENOSPC_CHILD = r"""
import errno, os, sys, httpx
from llmreel import WriteFailedError, use_cassette
root, url = sys.argv[1:]
with use_cassette(root, mode="record"), httpx.Client() as c:
    c.post(url, json={"model": "d", "messages": [{"role": "user", "content": "kept"}]})
real_write = os.write
def full(fd, data):
    raise OSError(errno.ENOSPC, "No space left on device")
os.write = full
try:
    with use_cassette(root, mode="record"), httpx.Client() as c:
        c.post(url, json={"model": "d", "messages": [{"role": "user", "content": "lost"}]})
except WriteFailedError as exc:
    print("WRITE-FAILED", exc)
"""


def test_enospc_from_os_write_is_a_clear_error_without_a_mount(
    tmp_path: Path, faulty: FaultyUpstream
) -> None:
    root = tmp_path / "cassette"
    done = run_python(_ENOSPC_CHILD, str(root), faulty.base_url + CHAT)
    assert done.returncode == 0, done.stderr
    assert "WRITE-FAILED" in done.stdout and "disk is full" in done.stdout
    files = list(root.glob("*.json"))
    assert len(files) == 1 and load_file(files[0]).request.body["messages"][0]["content"] == "kept"
    assert not list(root.rglob(".*.partial"))
