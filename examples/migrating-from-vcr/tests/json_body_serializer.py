"""A cassette serializer that stores JSON bodies parsed (``parsed_body``), so they read as YAML.

Registered by ``conftest.py`` through pytest-recording's ``pytest_recording_configure``
hook, the way many LLM projects do it. vcrpy hands ``serialize`` the cassette document
(``{"version": 1, "interactions": [...]}``, bodies as text) and expects it back from
``deserialize``.
"""

from __future__ import annotations

import json
from typing import Any

import yaml


def _is_json(data: dict[str, Any]) -> bool:
    types = {k.lower(): v for k, v in (data.get("headers") or {}).items()}.get("content-type", [])
    return any(str(t).startswith("application/json") for t in types)


def serialize(cassette: dict[str, Any]) -> str:
    for interaction in cassette["interactions"]:
        for data in interaction.values():
            body = data.get("body")
            text = body.get("string") if isinstance(body, dict) else body
            if text and _is_json(data):
                data["parsed_body"] = json.loads(text)
                del data["body"]
    return yaml.safe_dump(cassette, sort_keys=True, allow_unicode=True, width=100)


def deserialize(text: str) -> dict[str, Any]:
    cassette = yaml.safe_load(text)
    for interaction in cassette["interactions"]:
        for kind, data in interaction.items():
            parsed = data.pop("parsed_body", None)
            if parsed is not None:
                dumped = json.dumps(parsed)
                data["body"] = {"string": dumped} if kind == "response" else dumped
    return cassette  # type: ignore[no-any-return]
