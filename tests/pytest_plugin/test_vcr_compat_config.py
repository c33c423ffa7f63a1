"""A pytest-recording suite's configuration under llmreel: filters, hooks, matchers, persisters,
cassette names and directories, network blocking, and arguments llmreel refuses.

Each inner project is written for pytest-recording and run with ``-p no:recording``; llmreel
records through the real openai SDK from the faulty upstream (``received`` counts what reached
it) into the suite's files, applying the suite's ``vcr_config``.
"""

from __future__ import annotations

import gzip
import json

import openai  # noqa: F401  (kept imported across pytester's inner runs)
import pytest
import yaml
from vcr_helpers import cassette_files, make_project

from upstreams.faulty import FaultyUpstream

pytest_plugins = ["pytester"]

ONE_CALL = """
import pytest
from helpers import ask

@pytest.mark.vcr{args}
def test_one(vcr):
    assert ask({prompt!r}).startswith({prompt!r})
"""


@pytest.fixture
def project(
    pytester: pytest.Pytester, faulty: FaultyUpstream, monkeypatch: pytest.MonkeyPatch
) -> pytest.Pytester:
    return make_project(pytester, faulty, monkeypatch)


FILTERS_CONFTEST = """
import pytest


def drop_date(response):
    response["headers"].pop("date", None)
    response["headers"]["x-recorded-by"] = ["suite hook"]
    return response


def no_models(request):
    return None if request.path.endswith("/models") else request


def body_model(r1, r2):
    import json
    assert json.loads(r1.body)["model"] == json.loads(r2.body)["model"], "another model"


def pytest_recording_configure(config, vcr):
    vcr.register_matcher("body_model", body_model)


@pytest.fixture(scope="module")
def vcr_config():
    return {
        "filter_headers": ["authorization", ("x-team", "TEAM")],
        "filter_query_parameters": ["api_key"],
        "filter_post_data_parameters": ["user"],
        "before_record_request": no_models,
        "before_record_response": [drop_date],
        "match_on": ["method", "path", "query", "body_model"],
    }
"""

FILTERED_TEST = """
import pytest
from helpers import client

@pytest.mark.vcr
def test_filtered():
    with client(default_headers={{"x-team": "secret-team"}},
                default_query={{"api_key": "k-123", "v": "2"}}) as c:
        reply = c.chat.completions.create(
            model={model!r}, messages=[{{"role": "user", "content": "hi there"}}], user="me"
        )
        assert reply.choices[0].message.content.startswith("hi there")
        assert [m.id for m in c.models.list()] == ["faulty"]
"""


def test_suite_filters_hooks_and_custom_matcher_shape_the_recording_and_the_match(
    project: pytest.Pytester, faulty: FaultyUpstream
) -> None:
    project.makeconftest(FILTERS_CONFTEST)
    project.makepyfile(test_rec=FILTERED_TEST.format(model="tiny"))
    project.runpytest("--record-mode=once").assert_outcomes(passed=1)
    assert len(faulty.received) == 2  # the chat call and the models listing
    text = (project.path / "cassettes" / "test_rec" / "test_filtered.yaml").read_text()
    doc = yaml.safe_load(text)
    [only] = doc["interactions"]  # the hook kept /models out of the cassette
    request, response = only["request"], only["response"]
    assert "authorization" not in request["headers"]
    assert request["headers"]["x-team"] == ["TEAM"]
    assert request["uri"].endswith("/v1/chat/completions?v=2")
    assert "user" not in yaml.safe_load(request["body"])
    assert response["headers"]["x-recorded-by"] == ["suite hook"]
    assert "date" not in response["headers"]
    assert "secret-team" not in text and "k-123" not in text and "test-key" not in text

    # Replay: the same filters apply to the live request, so it matches; /models still goes
    # to the network (the hook returned None), as under vcrpy.
    project.runpytest().assert_outcomes(passed=1)
    assert [r.path for r in faulty.received][2:] == ["/v1/models"]
    # The suite's matcher compares the model: another model misses, naming it.
    project.makepyfile(test_rec=FILTERED_TEST.format(model="bigger"))
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*fails body_model: another model*"])


def test_default_cassette_extra_cassettes_and_a_custom_cassette_dir(
    project: pytest.Pytester, faulty: FaultyUpstream
) -> None:
    project.makepyfile(
        test_rec="""
        import pytest
        from helpers import ask

        @pytest.mark.vcr
        @pytest.mark.default_cassette("shared.yaml")
        def test_shared():
            assert ask("shared words").startswith("shared")

        @pytest.mark.vcr
        def test_own():
            assert ask("own words").startswith("own")
        """
    )
    project.runpytest("--record-mode=once").assert_outcomes(passed=2)
    files = cassette_files(project.path)
    assert sorted(files) == ["test_rec/shared.yaml", "test_rec/test_own.yaml"]

    # Extra cassettes named on the marker are read too (relative to the cassette dir), and
    # vcr_cassette_dir can move everything.
    project.makeconftest(
        """
        import os
        import pytest

        @pytest.fixture(scope="module")
        def vcr_cassette_dir(request):
            return os.path.join(os.path.dirname(request.node.path), "cassettes", "test_rec")
        """
    )
    project.makepyfile(
        test_other="""
        import pytest
        from helpers import ask

        @pytest.mark.vcr("shared.yaml", "test_own.yaml", match_on=["method", "body"])
        def test_both(vcr):
            assert ask("own words").startswith("own")
            assert ask("shared words").startswith("shared")
            assert vcr.play_count == 2 and vcr.all_played
        """
    )
    sent = len(faulty.received)
    project.runpytest("test_other.py").assert_outcomes(passed=1)
    assert len(faulty.received) == sent
    assert sorted(cassette_files(project.path)) == sorted(files)  # replay wrote nothing


def test_block_network_option_blocks_other_hosts_in_unmarked_tests(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        test_net="""
        import socket
        import pytest
        from llmreel.exceptions import NetworkBlockedError

        def test_blocked():
            with pytest.raises(NetworkBlockedError, match="example.invalid"):
                socket.getaddrinfo("example.invalid", 443)

        @pytest.mark.block_network(allowed_hosts=["example\\\\.invalid"])
        def test_allowed_by_marker():
            with pytest.raises(socket.gaierror):  # reached the resolver: not blocked
                socket.getaddrinfo("example.invalid", 443)
        """
    )
    project.runpytest("--block-network").assert_outcomes(passed=2)
    project.makepyfile(
        test_net="""
        import socket

        def test_not_blocked_by_default():
            try:
                socket.getaddrinfo("example.invalid", 443)
            except socket.gaierror:
                pass
        """
    )
    project.runpytest().assert_outcomes(passed=1)


def test_an_unknown_vcr_argument_or_serializer_is_a_usage_error_naming_it(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(test_rec=ONE_CALL.format(args="(serializer='toml')", prompt="x"))
    result = project.runpytest()
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*serializer 'toml' is not registered*"])
    project.makepyfile(test_rec=ONE_CALL.format(args="(match_on=['body'], spin=1)", prompt="x"))
    result = project.runpytest()
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*unknown or unsupported argument(s) spin*"])


GZIP_PERSISTER_CONFTEST = """
import gzip
from pathlib import Path

import pytest
import yaml


class GzipSerializer:
    '''Compressed YAML over the persister's {requests, responses} document.'''

    @staticmethod
    def serialize(cassette):
        doc = {
            "requests": [request._to_dict() for request in cassette["requests"]],
            "responses": cassette["responses"],
        }
        return gzip.compress(yaml.safe_dump(doc).encode())

    @staticmethod
    def deserialize(data):
        return yaml.safe_load(gzip.decompress(data).decode())


class GzipPersister:
    @staticmethod
    def load_cassette(cassette_path, serializer):
        path = Path(cassette_path)
        if not path.is_file():
            raise FileNotFoundError(cassette_path)
        doc = serializer.deserialize(path.read_bytes())
        return doc["requests"], doc["responses"]

    @staticmethod
    def save_cassette(cassette_path, cassette_dict, serializer):
        path = Path(cassette_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(serializer.serialize(cassette_dict))


def pytest_recording_configure(config, vcr):
    vcr.register_persister(GzipPersister())
    vcr.register_serializer("yaml.gz", GzipSerializer())


@pytest.fixture(scope="module")
def vcr_config():
    return {"serializer": "yaml.gz"}
"""


def test_a_registered_persister_and_serializer_own_the_file(
    project: pytest.Pytester, faulty: FaultyUpstream
) -> None:
    project.makeconftest(GZIP_PERSISTER_CONFTEST)
    project.makepyfile(test_rec=ONE_CALL.format(args="", prompt="compressed words"))
    project.runpytest("--record-mode=once").assert_outcomes(passed=1)
    path = project.path / "cassettes" / "test_rec" / "test_one.yaml.gz"
    doc = yaml.safe_load(gzip.decompress(path.read_bytes()))
    [request] = doc["requests"]
    assert json.loads(request["body"])["messages"][0]["content"] == "compressed words"
    assert doc["responses"][0]["status"]["code"] == 200
    project.runpytest().assert_outcomes(passed=1)
    assert len(faulty.received) == 1


def test_llmreel_all_leaves_vcr_marked_tests_to_their_cassette_files(
    project: pytest.Pytester, faulty: FaultyUpstream
) -> None:
    project.makepyfile(
        test_rec=ONE_CALL.format(args="", prompt="vcr words")
        + """

def test_plain():
    assert ask("plain words").startswith("plain")
"""
    )
    result = project.runpytest("--llmreel-all", "--llmreel-mode=record", "--record-mode=once")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*2 test(s) with cassettes: 0 replayed, 2 recorded, 0 missed"])
    files = sorted(cassette_files(project.path))
    assert files[0] == "test_rec/test_one.yaml"  # the vcr test: its pytest-recording file
    assert len(files) == 2 and files[1].startswith("test_rec/test_plain/")  # llmreel's own
