"""Keys ignore what must not matter and normalizers are explicit and symmetric."""

from __future__ import annotations

import pytest

from llmreel import ConfigError, Matcher, Request
from llmreel.matching import body_diff


def _req(
    body: object,
    *,
    url: str = "http://a:1/v1/chat/completions",
    headers: dict[str, str] | None = None,
    query: list[tuple[str, str]] | None = None,
) -> Request:
    return Request(
        method="POST",
        url=url,
        path="/v1/chat/completions",
        body=body,
        headers=headers or {},
        query=query or [],
    )


def test_key_ignores_host_port_scheme_headers_and_key_order() -> None:
    m = Matcher()
    a = _req(
        {"model": "m", "temperature": 0.0}, headers={"user-agent": "a", "authorization": "Bearer x"}
    )
    b = _req(
        {"temperature": 0, "model": "m"},
        url="https://b:2/v1/chat/completions",
        headers={"x-stainless-retry-count": "2"},
    )
    assert m.key(a) == m.key(b)


def test_key_depends_on_body_method_and_path() -> None:
    m = Matcher()
    base = _req({"model": "m"})
    assert m.key(base) != m.key(_req({"model": "n"}))
    other = Request(method="GET", url="x", path="/v1/chat/completions", body={"model": "m"})
    assert m.key(base) != m.key(other)


def test_credential_query_params_never_affect_the_key() -> None:
    m = Matcher()
    assert m.key(_req({}, query=[("key", "AIza1")])) == m.key(_req({}, query=[("key", "2")]))
    assert m.key(_req({}, query=[("api-version", "1")])) != m.key(
        _req({}, query=[("api-version", "2")])
    )


@pytest.mark.parametrize(
    ("spec", "a", "b"),
    [
        (
            "ignore:metadata.request_id",
            {"metadata": {"request_id": 1, "x": 1}},
            {"metadata": {"request_id": 2, "x": 1}},
        ),
        (
            "ignore:messages[*].id",
            {"messages": [{"id": 1, "c": "x"}]},
            {"messages": [{"id": 2, "c": "x"}]},
        ),
        ("drop:user", {"user": "a", "n": {"user": "b"}}, {"user": "c", "n": {"user": "d"}}),
        ("round:2", {"temperature": 0.701}, {"temperature": 0.699}),
        ("redact:api_token", {"api_token": "s1"}, {"api_token": "s2"}),
    ],
)
def test_normalizers_make_volatile_fields_match(spec: str, a: object, b: object) -> None:
    assert Matcher().key(_req(a)) != Matcher().key(_req(b))
    m = Matcher([spec])
    assert m.key(_req(a)) == m.key(_req(b))
    assert m.specs == (spec,)


def test_normalizers_do_not_change_the_request_they_normalize() -> None:
    body = {"metadata": {"request_id": 1}}
    Matcher(["ignore:metadata.request_id"]).key(_req(body))
    assert body == {"metadata": {"request_id": 1}}


@pytest.mark.parametrize("spec", ["ignore", "ignore:", "round:x", "wat:1", "ignore:a[b"])
def test_bad_normalizer_specs_say_what_to_write(spec: str) -> None:
    with pytest.raises(ConfigError) as err:
        Matcher([spec])
    assert spec.split(":")[0] in str(err.value)


def test_body_diff_shows_the_changed_word() -> None:
    diff = body_diff(
        {"messages": [{"content": "What is the capital of France?"}]},
        {"messages": [{"content": "What is the capital of Spain?"}]},
    )
    assert "France" in diff and "Spain" in diff
    assert '[-France?"-]' in diff and '{+Spain?"+}' in diff
