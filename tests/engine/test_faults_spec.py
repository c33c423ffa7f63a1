"""The fault spec: its grammar, its errors, when a spec applies, and how it shapes timing.

These are the pure parts (no HTTP): parsing, the schedule's counters and seeded draws,
the due time of each event. The SDK-level behaviour is proved in
``tests/intercept/test_faults_in_process.py`` and ``tests/server/test_server_faults.py``.
"""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmreel.engine.faults import GRAMMAR, FaultPicker, parse_fault, parse_faults
from llmreel.engine.faults.schedule import AppliedFault
from llmreel.engine.faults.shaping import Shaper
from llmreel.exceptions import ConfigError, FaultSpecError
from llmreel.model.interaction import Event, Request, Response

CHAT = Request(
    "POST",
    "http://x/v1/chat/completions",
    "/v1/chat/completions",
    body={"model": "gpt-4o", "messages": []},
)
EMBED = Request("POST", "http://x/v1/embeddings", "/v1/embeddings", body={"model": "e5"})


def test_the_issue_examples_parse_into_what_they_say() -> None:
    f = parse_fault("http=429,retry-after=1,first=2")
    assert (f.http, f.retry_after, f.first, f.answers, f.shapes) == (429, "1", 2, True, False)
    assert parse_fault("reset").reset and parse_fault("timeout").timeout == 30.0
    assert parse_fault("timeout=2.5").timeout == 2.5
    assert parse_fault("cut=10").cut == 10 and parse_fault("malformed=10").malformed == 10
    assert parse_fault("stall=10:2.5").stall == (10, 2.5)
    shaped = parse_fault("ttft=2.0,tps=20,jitter=lognormal:0.05,seed=7")
    assert (shaped.ttft, shaped.tps, shaped.seed, shaped.shapes) == (2.0, 20.0, 7, True)
    assert shaped.jitter is not None
    assert (shaped.jitter.kind, shaped.jitter.a) == ("lognormal", 0.05)
    when = parse_fault("http=500,p=0.2,seed=7,on=/v1/chat/completions,model=gpt-4o")
    assert (when.p, when.seed, when.on, when.model) == (0.2, 7, "/v1/chat/completions", "gpt-4o")
    assert parse_fault("http=503,every=3").every == 3


def test_specs_combine_with_semicolons_and_lists_and_keep_their_text() -> None:
    faults = parse_faults(["http=529 , first=1; cut=3", "ttft=0.5"])
    assert [f.text for f in faults] == ["http=529,first=1", "cut=3", "ttft=0.5"]
    assert parse_faults(None) == () and parse_faults(" ; ") == ()


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ("htp=429", "unknown part 'htp=429'"),
        ("http=abc", "http='abc' is not a whole number"),
        ("http=200", "error status (400-599)"),
        ("cut=0", "cut='0' must be at least 1"),
        ("stall=10", "use stall=N:SECONDS"),
        ("stall=x:1", "stall event='x'"),
        ("p=1.5", "between 0 and 1"),
        ("tps=0", "must be a positive number"),
        ("ttft=-1", "must be a number >= 0"),
        ("jitter=gauss:1", "use lognormal:MEDIAN[:SIGMA] or uniform:MIN:MAX"),
        ("first=2", "it says when, but not what goes wrong"),
        ("http=429,reset", "http and reset are two answers"),
        ("http=429,cut=3", "http answers instead of the real response, so cut has nothing"),
        ("retry-after=1,cut=3", "retry-after only goes with http=STATUS"),
        ("cut=3,seed=1", "seed= seeds p= and jitter="),
        ("cut=3,cut=4", "cut is given twice"),
        ("cut=3,,tps=2", "an empty part"),
        ("reset=1", "reset takes no value"),
        ("cut", "cut needs a value"),
        ("timeout,ttft=1", "timeout never answers"),
        ("http=500,first=1,every=2", "first= and every= together"),
        ("timeout=3600", "timeout='3600': at most 600 seconds"),
        ("stall=2:1e9", "stall seconds='1e9': at most 600 seconds"),
    ],
)
def test_a_bad_spec_is_a_config_error_naming_the_bad_part_and_showing_the_grammar(
    spec: str, named: str
) -> None:
    with pytest.raises(FaultSpecError) as err:
        parse_faults(f"cut=1; {spec}")
    message = str(err.value)
    assert isinstance(err.value, ConfigError)
    assert f"fault spec {spec!r}" in message and named in message
    assert message.endswith(GRAMMAR)


def _applied(picker: FaultPicker, request: Request = CHAT, header: str | None = None) -> str:
    fault = picker.pick(request, header)
    return "-" if fault is None else fault.text


def test_first_every_and_the_filters_count_only_matching_calls() -> None:
    first = FaultPicker("http=429,first=2,on=/v1/chat/completions")
    seen = [_applied(first, r) for r in (CHAT, EMBED, CHAT, CHAT, EMBED)]
    spec = "http=429,first=2,on=/v1/chat/completions"
    assert seen == [spec, "-", spec, "-", "-"]
    every = FaultPicker("reset,every=3,model=gpt-*")
    assert [_applied(every) for _ in range(6)] == ["-", "-", "reset,every=3,model=gpt-*"] * 2
    assert _applied(every, EMBED) == "-"


def test_p_with_a_seed_makes_the_same_choices_every_run_as_its_generator_says() -> None:
    runs = []
    for _ in range(2):  # two runs, each with its own picker, as two test sessions would have
        picker = FaultPicker("http=500,p=0.2,seed=7")
        runs.append([_applied(picker) != "-" for _ in range(50)])
    rng = random.Random(7)
    expected = [rng.random() < 0.2 for _ in range(50)]
    assert runs[0] == expected and runs[1] == expected
    assert 0 < sum(expected) < 50
    other = FaultPicker("http=500,p=0.2,seed=8")
    assert [_applied(other) != "-" for _ in range(50)] != expected


def test_a_header_spec_comes_first_and_counts_on_its_own() -> None:
    picker = FaultPicker("cut=5;ttft=1")
    assert _applied(picker, header="http=503,first=1") == "http=503,first=1"
    merged = picker.pick(CHAT, "http=503,first=1")
    assert merged is not None and (merged.text, merged.cut, merged.ttft) == ("cut=5;ttft=1", 5, 1)
    headed = Request(CHAT.method, CHAT.url, CHAT.path, headers={"x-llmreel-fault": "reset"})
    assert _applied(picker, headed) == "reset"


def test_a_bad_header_spec_becomes_an_invalid_answer_not_an_exception() -> None:
    fault = FaultPicker().pick(CHAT, "http=42")
    assert fault is not None and fault.kind == "invalid" and fault.status == 400
    assert fault.message is not None and "error status (400-599)" in fault.message


def _times(fault: AppliedFault, recorded: list[float], pace: float | None = None) -> list[float]:
    return Shaper(fault, pace).times(recorded)


def test_ttft_tps_and_stall_set_each_events_due_time() -> None:
    zero = [0.0] * 5
    assert _times(AppliedFault("ttft=2", ttft=2.0), zero) == [2.0] * 5
    assert _times(AppliedFault("tps=20", tps=20.0), zero) == [0.0, 0.05, 0.1, 0.15, 0.2]
    assert _times(AppliedFault("", ttft=1.0, tps=10.0), zero) == pytest.approx(
        [1.0, 1.1, 1.2, 1.3, 1.4]
    )
    assert _times(AppliedFault("", stall=(3, 2.5)), zero) == [0.0, 0.0, 2.5, 2.5, 2.5]
    # Recorded timing with a pace: ttft moves the first event, the gaps stay.
    assert _times(AppliedFault("", ttft=0.5), [1.0, 1.5, 3.0], pace=1.0) == [0.5, 1.0, 2.5]


def test_jitter_is_seeded_per_call_and_only_ever_adds_delay() -> None:
    fault = FaultPicker("jitter=lognormal:0.05,seed=3").pick(CHAT)
    again = FaultPicker("jitter=lognormal:0.05,seed=3").pick(CHAT)
    assert fault is not None and again is not None and fault.seed == again.seed
    times = _times(fault, [0.0] * 20)
    assert times == _times(again, [0.0] * 20)
    assert all(b > a for a, b in itertools.pairwise(times))
    uniform = _times(AppliedFault("", jitter=parse_fault("jitter=uniform:0.1:0.2").jitter), [0.0])
    assert 0.1 <= uniform[0] <= 0.2


def _sse(n: int) -> Response:
    events = [Event(t=0.0, data=f'{{"i": {i}}}') for i in range(n)] + [Event(0.0, "[DONE]")]
    return Response(200, stream="sse", events=events)


def test_cut_and_malformed_change_exactly_the_event_they_name() -> None:
    shaper = Shaper(AppliedFault("cut=3,malformed=2", cut=3, malformed=2), None)
    chunks = [data for _, data in shaper.steps(_sse(5))]
    assert chunks[0] == b'data: {"i": 0}\n\n' and chunks[2] == b'data: {"i": 2}\n\n'
    assert chunks[1] == b'data: {"i"\n\n'  # half its data, its framing intact
    assert len(chunks) == 3 and shaper.broken is not None and "after event 3 of 6" in shaper.broken
    beyond = Shaper(AppliedFault("cut=99", cut=99), None)
    assert len(list(beyond.steps(_sse(5)))) == 6 and beyond.broken is None
    assert beyond.note == "cut=99 not applied: the stream has 6 events"


def test_a_whole_body_is_cut_in_half_or_blanked_keeping_its_length() -> None:
    body = Response(200, body={"answer": "forty-two", "n": 42})
    raw = body.body_bytes()
    cut = Shaper(AppliedFault("cut=1", cut=1), None)
    assert [d for _, d in cut.steps(body)] == [raw[: len(raw) // 2]] and cut.broken
    (blanked,) = [d for _, d in Shaper(AppliedFault("m", malformed=1), None).steps(body)]
    assert len(blanked) == len(raw) and blanked != raw and blanked.rstrip() == raw[: len(raw) // 2]


@given(
    st.lists(
        st.sampled_from(["cut=3", "ttft=0.5", "tps=10", "stall=2:1", "malformed=1", "http=503"]),
        min_size=1,
        max_size=3,
        unique=True,
    )
)
def test_a_spec_written_back_from_its_text_parses_the_same(parts: list[str]) -> None:
    text = ";".join(parts)
    faults = parse_faults(text)
    assert parse_faults(";".join(f.text for f in faults)) == faults
