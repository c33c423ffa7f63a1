"""A pytest-recording cassette file, loaded and saved as vcrpy does: what the ``vcr`` fixture is.

:class:`VcrCassette` holds the interactions (``data``: request, response mapping),
which of them played, and vcrpy's rules: an interaction plays once unless
``allow_playback_repeats``, the first unplayed one that matches wins, recorded
ones join the end. Tests read it as they read vcrpy's cassette: ``requests``,
``responses``, ``play_count``, ``play_counts``, ``all_played``, ``record_mode``,
``write_protected``, ``len(vcr)``, ``request in vcr``, ``responses_of(request)``.

Files go through the suite's serializer (and persister, when one is
registered); with the default persister they are written atomically (temp
file + rename), only when something was recorded.
"""

from __future__ import annotations

import collections
import copy
import os
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from llmreel.exceptions import RecordingFileError
from llmreel.pytest_plugin.vcr_compat.config import CassetteOptions
from llmreel.pytest_plugin.vcr_compat.matchers import requests_match
from llmreel.pytest_plugin.vcr_compat.request import VcrRequest, request_from_stored

__all__ = ["VcrCassette"]

Match = Callable[[Any, int], bool]


def _to_text(value: Any) -> Any:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value  # stays binary (YAML writes it as !!binary)
    return value


def _unicode_body(doc: dict[str, Any]) -> dict[str, Any]:
    body = doc.get("body")
    if isinstance(body, dict) and "string" in body:
        body["string"] = _to_text(body["string"])
    else:
        doc["body"] = _to_text(body)
    return doc


def _bytes_body(doc: Any) -> Any:
    body = doc.get("body") if isinstance(doc, dict) else None
    if isinstance(body, dict) and isinstance(body.get("string"), str):
        body["string"] = body["string"].encode("utf-8", "surrogateescape")
    return doc


class VcrCassette:
    """One test's cassette (see the module docstring)."""

    def __init__(
        self, path: str, options: CassetteOptions, extra_paths: Iterable[str] = ()
    ) -> None:
        self._path = path
        self.options = options
        self.extra_paths = [p for p in dict.fromkeys(extra_paths) if p != path]
        self.record_mode = options.record_mode
        self.allow_playback_repeats = options.allow_playback_repeats
        self.data: list[tuple[VcrRequest, Any]] = []
        self.play_counts: collections.Counter[int] = collections.Counter()
        self.dirty = False
        self.rewound = False
        self.metadata: dict[str, Any] = {}
        self._loaded_count = 0

    # ------------------------------------------------------------------ reading

    @property
    def path(self) -> str:
        return self._path

    def load(self) -> VcrCassette:
        """Read the cassette (and the marker's extra cassettes); a missing file is empty."""
        persister = self.options.persister
        if persister is not None:
            # pytest-recording lets a registered persister replace its extra-cassette loader.
            found = self._load_with(persister, self._path)
            sources = [found] if found else []
        else:
            sources = [f for f in (self._read(p) for p in [self._path, *self.extra_paths]) if f]
        for where, requests, responses in sources:
            for i, (req, resp) in enumerate(zip(requests, responses, strict=False)):
                request = request_from_stored(req, where, f"interactions[{i}].request")
                self.data.append((request, _bytes_body(resp)))
        self._loaded_count = len(self.data)
        self.rewound = bool(self.data)
        return self

    def _read(self, path: str) -> tuple[str, list[Any], list[Any]] | None:
        p = Path(path)
        if not p.is_file():
            return None
        try:
            text = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise RecordingFileError(path, f"vcrpy cassette: cannot be read ({exc})") from exc
        if not text.strip():
            return None  # an empty file is a missing cassette, as in vcrpy
        try:
            doc = self.options.serializer.deserialize(text)
        except Exception as exc:
            raise RecordingFileError(
                path,
                f"vcrpy cassette: the {self.options.serializer_name!r} serializer could not "
                f"read it ({type(exc).__name__}: {exc})",
            ) from exc
        if not isinstance(doc, dict) or not isinstance(doc.get("interactions"), list):
            raise RecordingFileError(
                path, "vcrpy cassette: expected a mapping with an 'interactions' list"
            )
        if path == self._path and isinstance(doc.get("metadata"), dict):
            self.metadata = doc["metadata"]
        items = doc["interactions"]
        for i, item in enumerate(items):
            if not (isinstance(item, dict) and isinstance(item.get("response"), dict)):
                raise RecordingFileError(
                    path, f"vcrpy cassette: interactions[{i}] needs a request and a response"
                )
        return path, [it.get("request") or {} for it in items], [it["response"] for it in items]

    def _load_with(self, persister: Any, path: str) -> tuple[str, list[Any], list[Any]] | None:
        try:
            requests, responses, *_ = persister.load_cassette(
                path, serializer=self.options.serializer
            )
        except FileNotFoundError:
            return None
        except ValueError as exc:
            # vcrpy < 5 persisters signal a missing cassette with ValueError.
            if "not found" in str(exc).lower():
                return None
            raise
        return path, list(requests), list(responses)

    # ------------------------------------------------------------------ playing

    def filter_request(self, request: VcrRequest) -> VcrRequest | None:
        return self.options.before_record_request(request)  # type: ignore[no-any-return]

    @property
    def can_play(self) -> bool:
        return self.record_mode != "all" and (self.rewound or self.allow_playback_repeats)

    @property
    def write_protected(self) -> bool:
        return (self.rewound and self.record_mode == "once") or self.record_mode == "none"

    def _playable(self, index: int) -> bool:
        return self.play_counts[index] == 0 or self.allow_playback_repeats

    def matches(self, filtered: VcrRequest, index: int) -> bool:
        return requests_match(filtered, self.data[index][0], self.options.matchers)

    def take(self, match: Match, filtered: VcrRequest) -> int | None:
        """The first playable interaction ``match`` accepts, marked played; or None."""
        for index in range(len(self.data)):
            if self._playable(index) and match(filtered, index):
                self.play_counts[index] += 1
                return index
        return None

    def append(self, request: VcrRequest, response: Any) -> None:
        self.data.append((request, response))
        self.dirty = True

    # ------------------------------------------------------------------ what tests read

    @property
    def requests(self) -> list[VcrRequest]:
        return [request for request, _ in self.data]

    @property
    def responses(self) -> list[Any]:
        return [response for _, response in self.data]

    @property
    def play_count(self) -> int:
        return sum(self.play_counts.values())

    @property
    def all_played(self) -> bool:
        return len(self.play_counts.values()) == len(self)

    def __len__(self) -> int:
        return len(self.data)

    def __contains__(self, request: Any) -> bool:
        filtered = self.filter_request(request)
        if filtered is None:
            return False
        return any(self._playable(i) and self.matches(filtered, i) for i in range(len(self.data)))

    def responses_of(self, request: Any) -> list[Any]:
        filtered = self.filter_request(request)
        found = [
            resp
            for i, (_, resp) in enumerate(self.data)
            if filtered is not None and self.matches(filtered, i)
        ]
        if not found:
            raise KeyError(f"the cassette {self._path!r} holds no response for {request!r}")
        return found

    def rewind(self) -> None:
        self.play_counts = collections.Counter()

    def __str__(self) -> str:
        return f"<Cassette containing {len(self)} recorded response(s)>"

    # ------------------------------------------------------------------ saving

    def _kept(self) -> list[tuple[VcrRequest, Any]]:
        loaded, recorded = self.data[: self._loaded_count], self.data[self._loaded_count :]
        if self.record_mode == "all":
            if self.options.drop_unused_requests:
                return recorded
            matchers = self.options.matchers
            kept = [
                (req, resp)
                for req, resp in loaded
                if not any(requests_match(new, req, matchers) for new, _ in recorded)
            ]
            return kept + recorded
        if self.options.drop_unused_requests:
            played = [item for i, item in enumerate(loaded) if self.play_counts[i]]
            return played + recorded
        return list(self.data)

    def save(self) -> bool:
        """Write the cassette if anything was recorded; True when it was written."""
        if not self.dirty:
            return False
        interactions = self._kept()
        persister = self.options.persister
        if persister is not None:
            cassette_dict = {
                "requests": [r for r, _ in interactions],
                "responses": [r for _, r in interactions],
            }
            persister.save_cassette(self._path, cassette_dict, serializer=self.options.serializer)
        else:
            doc: dict[str, Any] = {
                "version": 1,
                "interactions": [
                    {
                        "request": _unicode_body(req._to_dict()),
                        "response": _unicode_body(copy.deepcopy(resp)),
                    }
                    for req, resp in interactions
                ],
            }
            if self.metadata:
                doc["metadata"] = self.metadata
            self._write(self.options.serializer.serialize(doc))
        self.dirty = False
        return True

    def _write(self, data: str | bytes) -> None:
        target = Path(self._path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.partial")
        try:
            if isinstance(data, bytes):
                tmp.write_bytes(data)
            else:
                tmp.write_text(data, encoding="utf-8")
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
