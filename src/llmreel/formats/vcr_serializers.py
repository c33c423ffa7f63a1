"""vcrpy's cassette serializers, ``yaml`` and ``json``, written to read and write the same files.

A serializer turns the cassette document (``{"version": 1, "interactions": [...]}``)
into text and back, with vcrpy's signature (``serialize(dict) -> str``,
``deserialize(str) -> dict``), so a suite's own serializer (registered through
``vcr_config`` or ``pytest_recording_configure``) can stand in for these.

Reading is safe YAML plus the few Python tags vcrpy cassettes legitimately hold:
``python/str``/``python/unicode`` (Python 2 era), ``python/bytes``,
``python/tuple``, and the ``io.BytesIO`` and ``iter`` request bodies older
vcrpy versions pickled; no tag ever constructs an arbitrary object. Writing is
``yaml.dump`` with block style and sorted keys, as vcrpy does, so a cassette
re-recorded by llmreel shows as a small diff against the one vcrpy wrote.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from typing import Any

import yaml

__all__ = ["SERIALIZERS", "JsonSerializer", "VcrYamlLoader", "YamlSerializer"]

_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SafeDumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class VcrYamlLoader(_SafeLoader):  # type: ignore[misc]
    """Safe YAML plus the python tags old vcrpy cassettes carry (never arbitrary objects)."""


def _py_str(loader: Any, node: yaml.Node) -> str:
    return str(loader.construct_scalar(node))


def _py_bytes(loader: Any, node: yaml.Node) -> bytes:
    value = str(loader.construct_scalar(node))
    try:
        return base64.b64decode(value)
    except binascii.Error:
        return value.encode()


def _py_tuple(loader: Any, node: yaml.Node) -> tuple[Any, ...]:
    return tuple(loader.construct_sequence(node))


def _bytesio(loader: Any, node: yaml.Node) -> io.BytesIO:
    # vcrpy < 4 pickled file-like request bodies as BytesIO with their content as `state`.
    mapping = loader.construct_mapping(node, deep=True)
    state = mapping.get("state") or (b"",)
    data = state[0] if state else b""
    return io.BytesIO(data.encode() if isinstance(data, str) else bytes(data or b""))


def _iter_body(loader: Any, node: yaml.Node) -> list[Any]:
    # Iterator request bodies were pickled as `iter(args[0])`: the chunks are kept as a list.
    mapping = loader.construct_mapping(node, deep=True)
    args: Any = mapping.get("args") or ([],)
    return list(args[0] if args else [])


for _tag in ("tag:yaml.org,2002:python/unicode", "tag:yaml.org,2002:python/str"):
    VcrYamlLoader.add_constructor(_tag, _py_str)
VcrYamlLoader.add_constructor("tag:yaml.org,2002:python/bytes", _py_bytes)
VcrYamlLoader.add_constructor("tag:yaml.org,2002:python/tuple", _py_tuple)
VcrYamlLoader.add_constructor("tag:yaml.org,2002:python/object/new:_io.BytesIO", _bytesio)
VcrYamlLoader.add_constructor("tag:yaml.org,2002:python/object/apply:builtins.iter", _iter_body)


def _plain(value: Any) -> Any:
    """Tuples as lists, BytesIO as bytes: what the safe dumper can write and vcrpy reads."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, io.BytesIO):
        return value.getvalue()
    return value


class YamlSerializer:
    """vcrpy's ``yaml`` serializer: block-style YAML, bytes that are not UTF-8 as ``!!binary``."""

    @staticmethod
    def deserialize(cassette_string: str | bytes) -> Any:
        return yaml.load(cassette_string, Loader=VcrYamlLoader)  # a SafeLoader subclass

    @staticmethod
    def serialize(cassette_dict: Any) -> str:
        return str(yaml.dump(_plain(cassette_dict), Dumper=_SafeDumper))


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        raise TypeError(
            "a body holds binary data, which the json serializer cannot write; use the yaml "
            "serializer for this cassette"
        )
    raise TypeError(f"cannot write a {type(value).__name__} into a JSON cassette")


class JsonSerializer:
    """vcrpy's ``json`` serializer: ``json.dumps(indent=4)`` and a final newline."""

    @staticmethod
    def deserialize(cassette_string: str | bytes) -> Any:
        return json.loads(cassette_string)

    @staticmethod
    def serialize(cassette_dict: Any) -> str:
        return json.dumps(_plain(cassette_dict), indent=4, default=_json_default) + "\n"


SERIALIZERS: dict[str, Any] = {"yaml": YamlSerializer(), "json": JsonSerializer()}
