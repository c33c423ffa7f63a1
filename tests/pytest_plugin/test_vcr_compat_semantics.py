"""llmreel's vcrpy compatibility decides as vcrpy itself does: vcrpy (installed here) is the oracle.

Matchers, request filters, response decoding, serializers and cassette paths are run on the
same inputs through vcrpy / pytest-recording and through llmreel, and must agree. Requests
come from real httpx requests (what the SDKs send) and Hypothesis-generated variations.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
import vcr
import vcr.matchers
import vcr.serializers.yamlserializer
from hypothesis import given
from hypothesis import strategies as st
from pytest_recording import _vcr as recording_vcr
from vcr.filters import decode_response
from vcr.request import Request as OracleRequest

from llmreel.formats.vcr_serializers import JsonSerializer, YamlSerializer
from llmreel.model.wire import request_from_parts
from llmreel.pytest_plugin.vcr_compat.config import VcrShim, cassette_path
from llmreel.pytest_plugin.vcr_compat.filters import request_filter, response_filter
from llmreel.pytest_plugin.vcr_compat.matchers import BUILTIN_MATCHERS, requests_match
from llmreel.pytest_plugin.vcr_compat.request import VcrRequest, request_from_live

MATCHERS = sorted(BUILTIN_MATCHERS)

words = st.sampled_from(["a", "b", "model", "gpt-4o", "x y", "é", "1"])
json_bodies = st.dictionaries(words, st.one_of(words, st.integers(0, 3), st.none()), max_size=3)
queries = st.lists(st.tuples(st.sampled_from(["k", "v", "page"]), words), max_size=3)


@st.composite
def sent(draw: Any) -> httpx.Request:
    """A request as an SDK builds it with httpx."""
    method = draw(st.sampled_from(["GET", "POST"]))
    host = draw(st.sampled_from(["api.example.com", "127.0.0.1:8080"]))
    path = draw(st.sampled_from(["/v1/chat/completions", "/v1/models", ""]))
    kind = draw(st.sampled_from(["json", "form", "bytes", "none"]))
    headers = {"X-Trace": draw(st.sampled_from(["a", "b 1"]))} if draw(st.booleans()) else {}
    kwargs: dict[str, Any] = {"params": draw(queries), "headers": headers}
    if kind == "json":
        kwargs["json"] = draw(json_bodies)
    elif kind == "form":
        kwargs["data"] = dict(draw(queries))
    elif kind == "bytes":
        kwargs["content"] = draw(st.binary(max_size=8))
    return httpx.Request(method, f"http://{host}{path}", **kwargs)


def _ours(request: httpx.Request) -> VcrRequest:
    content = request.read()
    url = request.url
    return request_from_live(
        request_from_parts(
            request.method,
            str(url),
            url.path,
            url.params.multi_items(),
            request.headers.multi_items(),
            content,
        )
    )


def _oracle(request: httpx.Request) -> OracleRequest:
    return OracleRequest(request.method, str(request.url), request.read(), request.headers)


def _variant(request: httpx.Request, how: str) -> httpx.Request:
    """The same request sent differently: JSON re-encoded with keys reversed and indented,
    the query reordered, or a header added."""
    body = request.read()
    headers = dict(request.headers)
    url = request.url
    if how == "json" and request.headers.get("content-type") == "application/json":
        body = json.dumps(dict(reversed(json.loads(body).items())), indent=1).encode()
        headers["content-length"] = str(len(body))
    elif how == "query":
        url = url.copy_with(params=list(reversed(url.params.multi_items())))
    else:
        headers["x-extra"] = "1"
    return httpx.Request(request.method, url, headers=headers, content=body)


@st.composite
def pairs(draw: Any) -> tuple[httpx.Request, httpx.Request]:
    one = draw(sent())
    if draw(st.booleans()):
        return one, draw(sent())
    return one, _variant(one, draw(st.sampled_from(["json", "query", "header"])))


@given(pairs())
def test_every_builtin_matcher_agrees_with_vcrpy(pair: tuple[httpx.Request, httpx.Request]) -> None:
    one, two = pair
    for name in MATCHERS:
        theirs = vcr.matchers.requests_match(_oracle(one), _oracle(two), [vcr.VCR().matchers[name]])
        ours = requests_match(_ours(one), _ours(two), [(name, BUILTIN_MATCHERS[name])])
        assert ours == theirs, name


@given(sent())
def test_a_request_matches_itself_re_sent_with_reordered_json_keys(request: httpx.Request) -> None:
    body = request.read()
    if request.headers.get("content-type") != "application/json":
        return
    reordered = httpx.Request(
        request.method,
        request.url,
        headers=request.headers,
        content=json.dumps(dict(reversed(json.loads(body).items()))).encode(),
    )
    for name in ("body", "method", "uri", "query"):
        assert requests_match(_ours(request), _ours(reordered), [(name, BUILTIN_MATCHERS[name])])


FILTER_CONFIGS: list[dict[str, Any]] = [
    {"filter_headers": ["x-trace", ("authorization", "XXX")]},
    {"filter_query_parameters": ["k", ("page", "1")]},
    {"filter_post_data_parameters": ["model", ("a", "A")]},
    {"filter_post_data_parameters": ["b"], "filter_nested_post_data_parameters": True},
    {"ignore_hosts": ["api.example.com"]},
    {"ignore_localhost": True},
    {"before_record_request": lambda r: r if r.method == "POST" else None},
]


@given(sent(), st.sampled_from(range(len(FILTER_CONFIGS))))
def test_request_filters_store_what_vcrpy_stores(request: httpx.Request, which: int) -> None:
    options = FILTER_CONFIGS[which]
    theirs = vcr.VCR()._build_before_record_request(options)(_oracle(request))
    ours = request_filter(options)(_ours(request))
    if theirs is None:
        assert ours is None
        return
    assert ours is not None
    assert (ours.method, ours.uri, ours.body) == (theirs.method, theirs.uri, theirs.body)
    assert dict(ours.headers.lower_items()) == dict(theirs.headers.lower_items())


def test_decode_compressed_response_decodes_as_vcrpy_does() -> None:
    plain = json.dumps({"choices": [{"text": "hello"}]}).encode()
    response = {
        "status": {"code": 200, "message": "OK"},
        "headers": {"Content-Encoding": ["gzip"], "Content-Length": ["99"]},
        "body": {"string": gzip.compress(plain)},
    }
    ours = response_filter({"decode_compressed_response": True})(response)
    theirs = decode_response(response)
    assert ours["body"]["string"] == theirs["body"]["string"] == plain
    assert {k.lower(): v for k, v in ours["headers"].items()} == {
        k.lower(): v for k, v in theirs["headers"].items()
    }


CASSETTE: dict[str, Any] = {
    "version": 1,
    "interactions": [
        {
            "request": {
                "method": "POST",
                "uri": "https://api.example.com/v1/chat/completions",
                "body": json.dumps({"model": "m", "messages": [{"content": "héllo\nworld"}]}),
                "headers": {"content-type": ["application/json"]},
            },
            "response": {
                "status": {"code": 200, "message": "OK"},
                "headers": {"content-type": ["text/event-stream"]},
                "body": {"string": 'data: {"a": 1}\n\ndata: [DONE]\n\n'},
            },
        },
        {
            "request": {"method": "GET", "uri": "https://x/v1/f", "body": None, "headers": {}},
            "response": {
                "status": {"code": 200, "message": "OK"},
                "headers": {},
                "body": {"string": b"\x89PNG\x00\xff"},
            },
        },
    ],
}


def test_yaml_serializer_writes_what_vcrpy_writes_and_each_reads_the_other() -> None:
    ours = YamlSerializer.serialize(CASSETTE)
    theirs = vcr.serializers.yamlserializer.serialize(CASSETTE)
    assert ours == theirs
    assert vcr.serializers.yamlserializer.deserialize(ours) == YamlSerializer.deserialize(theirs)
    assert YamlSerializer.deserialize(ours) == CASSETTE


def test_json_serializer_refuses_binary_bodies_by_saying_so() -> None:
    text_only = {"version": 1, "interactions": CASSETTE["interactions"][:1]}
    assert json.loads(JsonSerializer.serialize(text_only)) == text_only
    with pytest.raises(TypeError, match="binary data"):
        JsonSerializer.serialize(CASSETTE)


@pytest.mark.parametrize(
    ("name", "config"),
    [
        ("test_x[gpt-4o]", {}),
        ("TestAgent.test_y[a b]", {"serializer": "json"}),
        ("test_z", {"path_transformer": vcr.VCR.ensure_suffix(".yaml.gz")}),
        ("test_w", {"cassette_library_dir": "elsewhere"}),
        ("t" * 300, {}),
    ],
)
def test_cassette_paths_are_where_pytest_recording_puts_them(
    name: str, config: dict[str, Any], tmp_path: Path
) -> None:
    directory = str(tmp_path / "cassettes" / "test_mod")
    config = dict(config)
    if "cassette_library_dir" in config:
        config["cassette_library_dir"] = str(tmp_path / config["cassette_library_dir"])
    context = recording_vcr.use_cassette(name, directory, "none", [], config, _Config())
    theirs = context._args_getter()
    transformer = theirs["path_transformer"]
    expected = transformer(theirs["path"]) if transformer else theirs["path"]
    ours = cassette_path(name, directory, config, VcrShim(directory, "none"))
    assert os.path.normpath(ours) == os.path.normpath(expected)


class _Config:
    """What pytest-recording's use_cassette needs of pytest's config: the hook caller."""

    class hook:
        @staticmethod
        def pytest_recording_configure(config: Any, vcr: Any) -> None:
            return None
