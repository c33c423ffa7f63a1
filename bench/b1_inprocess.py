"""Benchmark 1: in-process replay through the real openai SDK, per call.

Contenders, all driving the same ``openai.OpenAI`` client code (openai 3.x, httpx2):

- ``floor``: an ``httpx2.MockTransport`` returning the recorded body, prebuilt in
  memory as one bytes object: what the SDK itself costs (request building, SSE
  parsing, pydantic models), with no replay tool at all;
- ``llmreel``: ``use_cassette(dir, mode="replay")`` already entered; every call goes
  through llmreel's interception of ``httpx2.Client._transport_for_url``;
- ``vcrpy``: ``vcr.use_cassette(path, record_mode="none")`` already entered; vcrpy
  patches ``httpx2.HTTPTransport.handle_request`` (vcrpy >= 9 knows httpx2);
- the same with the cassette opened (and closed) around every call, as a test
  pays it: ``llmreel``, ``vcrpy``, and ``pytest-recording`` (its ``use_cassette``
  helper, which builds a ``VCR`` per test the way its ``vcr`` fixture does);
- opening and closing the cassette alone, with no request.

The same request is sent again and again, so the cassettes are opened in the mode
that allows that: llmreel ``on_exhausted="repeat"``, vcrpy ``allow_playback_repeats``.

Besides time, the Python function calls one SDK call makes are counted (``cProfile``,
floor, llmreel and vcrpy with the cassette open): a measure of the work each tool
adds that the machine's load cannot blur, unlike a 0.1 ms difference on a 5 ms call.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bench.common import (
    Call,
    Contender,
    log,
    paired_overhead,
    plain,
    run_interleaved,
    versions,
    write_result,
)
from bench.exchanges import REPLAY_BASE, VCR_MATCH_ON, Exchange, Prepared, prepare


def _consume(result: Any) -> None:
    if hasattr(result, "choices"):
        assert result.choices[0].message.content
        return
    n = 0
    for _ in result:
        n += 1
    assert n > 0


class _Hooks:
    def pytest_recording_configure(self, config: Any, vcr: Any) -> None:
        return None


def contenders(ex: Exchange, llmreel_dir: Path, vcr_file: Path) -> list[Contender]:
    import httpx2
    import openai
    import vcr
    from pytest_recording import _vcr as pr

    from llmreel import use_cassette

    kwargs = ex.call
    client = openai.OpenAI(base_url=REPLAY_BASE, api_key="sk-bench", max_retries=0)
    blob = ex.body_bytes()
    headers = ex.headers()

    def handler(request: Any) -> Any:
        return httpx2.Response(200, headers=headers, content=blob)

    chunks = ex.chunks()

    class EventChunks(httpx2.SyncByteStream):  # type: ignore[misc]
        def __iter__(self) -> Iterator[bytes]:
            yield from chunks

    def chunked_handler(request: Any) -> Any:
        return httpx2.Response(200, headers=headers, stream=EventChunks())

    def sdk(h: Any) -> Any:
        return openai.OpenAI(
            base_url=REPLAY_BASE,
            api_key="sk-bench",
            max_retries=0,
            http_client=httpx2.Client(transport=httpx2.MockTransport(h)),
        )

    floor_client = sdk(handler)
    chunked_client = sdk(chunked_handler) if ex.streamed else None

    def call() -> None:
        _consume(client.chat.completions.create(**kwargs))

    def chunked_call() -> None:
        assert chunked_client is not None
        _consume(chunked_client.chat.completions.create(**kwargs))

    def floor_call() -> None:
        _consume(floor_client.chat.completions.create(**kwargs))

    def llmreel_cassette(repeat: bool = True) -> Any:
        return use_cassette(
            llmreel_dir, mode="replay", on_exhausted="repeat" if repeat else "error"
        )

    def vcr_cassette(repeat: bool = True) -> Any:
        return vcr.use_cassette(
            str(vcr_file),
            record_mode="none",
            match_on=VCR_MATCH_ON,
            allow_playback_repeats=repeat,
        )

    pytestconfig = SimpleNamespace(hook=_Hooks())

    def pr_cassette() -> Any:
        return pr.use_cassette(
            vcr_file.stem,
            str(vcr_file.parent),
            "none",
            [],
            {"match_on": VCR_MATCH_ON},
            pytestconfig,  # type: ignore[arg-type]
        )

    @contextlib.contextmanager
    def inside(cm: Any) -> Iterator[Call]:
        with cm:
            yield call

    def per_call(factory: Any) -> Call:
        def run() -> None:
            with factory():
                call()

        return run

    def open_only(factory: Any) -> Call:
        def run() -> None:
            with factory():
                pass

        return run

    extra = []
    if ex.streamed:
        extra.append(
            Contender(
                "floor/per-event-chunks",
                lambda: plain(chunked_call),
                "httpx2.MockTransport, the same bytes as one chunk per SSE event",
            )
        )
    return [
        Contender("floor", lambda: plain(floor_call), "httpx2.MockTransport, prebuilt bytes"),
        *extra,
        Contender("llmreel", lambda: inside(llmreel_cassette()), "cassette open"),
        Contender("vcrpy", lambda: inside(vcr_cassette()), "cassette open"),
        Contender(
            "llmreel/open-per-call", lambda: plain(per_call(lambda: llmreel_cassette(False)))
        ),
        Contender("vcrpy/open-per-call", lambda: plain(per_call(lambda: vcr_cassette(False)))),
        Contender("pytest-recording/open-per-call", lambda: plain(per_call(pr_cassette))),
        Contender("llmreel/open-only", lambda: plain(open_only(lambda: llmreel_cassette(False)))),
        Contender("vcrpy/open-only", lambda: plain(open_only(lambda: vcr_cassette(False)))),
        Contender("pytest-recording/open-only", lambda: plain(open_only(pr_cassette))),
    ]


def transport_contenders(ex: Exchange, llmreel_dir: Path, vcr_file: Path) -> list[Contender]:
    """The tools' own cost, without the SDK: build a request, handle it, read the body."""
    import httpx2
    import orjson
    import vcr

    from llmreel import use_cassette

    body = orjson.dumps(ex.call)
    blob = ex.body_bytes()
    headers = ex.headers()
    url = REPLAY_BASE + "/chat/completions"

    def run(transport: Any) -> None:
        request = httpx2.Request(
            "POST", url, headers={"content-type": "application/json"}, content=body
        )
        response = transport.handle_request(request)
        n = 0
        for chunk in response.stream:
            n += len(chunk)
        response.close()
        assert n == len(blob)

    mock = httpx2.MockTransport(lambda r: httpx2.Response(200, headers=headers, content=blob))

    @contextlib.contextmanager
    def llmreel_session() -> Iterator[Call]:
        with use_cassette(llmreel_dir, mode="replay", on_exhausted="repeat"):
            client = httpx2.Client()
            transport = client._transport_for_url(httpx2.URL(url))
            yield lambda: run(transport)
            client.close()

    @contextlib.contextmanager
    def vcr_session() -> Iterator[Call]:
        transport = httpx2.HTTPTransport()
        with vcr.use_cassette(
            str(vcr_file), record_mode="none", match_on=VCR_MATCH_ON, allow_playback_repeats=True
        ):
            yield lambda: run(transport)

    return [
        Contender("floor", lambda: plain(lambda: run(mock)), "httpx2.MockTransport"),
        Contender(
            "llmreel", llmreel_session, "llmreel's httpx2 transport (what use_cassette installs)"
        ),
        Contender("vcrpy", vcr_session, "httpx2.HTTPTransport patched by vcrpy"),
    ]


PLAN = {  # exchange -> (rounds, calls per round), full and quick
    # Many short rounds: a contender and the floor are then timed close together, so the
    # machine's slow and fast spells cancel better in the paired differences.
    "seed": ((45, 10), (5, 10)),
    "chat": ((45, 10), (5, 10)),
    "stream1000": ((7, 6), (3, 3)),
}


def python_calls(ex: Exchange, llmreel_dir: Path, vcr_file: Path, n: int) -> dict[str, float]:
    """Python function calls per SDK call (cProfile's count; the time it reports is not used)."""
    import cProfile
    import pstats

    cs = {c.name: c for c in contenders(ex, llmreel_dir, vcr_file)}
    out: dict[str, float] = {}
    for name in ("floor", "llmreel", "vcrpy"):
        with cs[name].session() as call:
            for _ in range(5):
                call()
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(n):
                call()
            prof.disable()
        out[name] = pstats.Stats(prof).total_calls / n  # type: ignore[attr-defined]
    return out


def run(quick: bool, prepared: Prepared | None = None) -> dict[str, Any]:
    prepared = prepared or prepare()
    out: dict[str, Any] = {}
    for name, ex in prepared.exchanges.items():
        full, fast = PLAN[name]
        rounds, per_round = fast if quick else full
        log(f"in-process replay: {name} ({rounds} rounds x {per_round} calls per contender)")
        cs = contenders(ex, prepared.llmreel_dirs[name], prepared.vcr_files[name])
        samples = run_interleaved(cs, rounds=rounds, per_round=per_round)
        summary = {n: s.summary() for n, s in samples.items()}
        names = [c.name for c in cs if "/open-only" not in c.name and c.name != "floor"]
        over = {n: paired_overhead(samples, n, "floor") for n in names}
        over_wall = {n: paired_overhead(samples, n, "floor", clock="wall") for n in names}

        def cpu(n: str, summary: dict[str, Any] = summary) -> float:
            v: float = summary[n]["cpu"]["median"]
            return v

        ratios = {
            "overhead_open_llmreel_over_vcrpy": over["llmreel"]["median"] / over["vcrpy"]["median"],
            "open_only_llmreel_over_vcrpy": cpu("llmreel/open-only") / cpu("vcrpy/open-only"),
            "open_only_llmreel_over_pytest_recording": cpu("llmreel/open-only")
            / cpu("pytest-recording/open-only"),
        }
        # Counts barely vary from call to call: a few calls suffice (the profiler is slow).
        n_counted = 5 if len(ex.interaction.response.events) > 100 else 30
        calls = python_calls(ex, prepared.llmreel_dirs[name], prepared.vcr_files[name], n_counted)
        out[name] = {
            "events": len(ex.interaction.response.events),
            "python_calls_per_call": calls,
            "body_bytes": len(ex.body_bytes()),
            "contenders": {c.name: c.note for c in cs},
            "summary": summary,
            "overhead_vs_floor": over,
            "overhead_vs_floor_wall": over_wall,
            "ratios": ratios,
        }
        log(
            f"  CPU: floor {cpu('floor') * 1e3:.3f} ms; above it: "
            f"llmreel {over['llmreel']['median'] * 1e3:.3f} ms, "
            f"vcrpy {over['vcrpy']['median'] * 1e3:.3f} ms; open+close: "
            f"llmreel {cpu('llmreel/open-only') * 1e3:.3f} ms, "
            f"vcrpy {cpu('vcrpy/open-only') * 1e3:.3f} ms; Python calls above the floor: "
            f"llmreel {calls['llmreel'] - calls['floor']:.0f}, "
            f"vcrpy {calls['vcrpy'] - calls['floor']:.0f}"
        )
    ex = prepared.exchanges["seed"]
    log("in-process replay: transport level (seed)")
    ts = run_interleaved(
        transport_contenders(ex, prepared.llmreel_dirs["seed"], prepared.vcr_files["seed"]),
        rounds=5 if quick else 15,
        per_round=50 if quick else 200,
        warmup=10,
    )
    t_over = {n: paired_overhead(ts, n, "floor") for n in ("llmreel", "vcrpy")}
    transport = {
        "summary": {n: s.summary() for n, s in ts.items()},
        "overhead_vs_floor": t_over,
        "ratio_llmreel_over_vcrpy": t_over["llmreel"]["median"] / t_over["vcrpy"]["median"],
    }
    log(
        f"  above the floor: llmreel {t_over['llmreel']['median'] * 1e6:.1f} us, "
        f"vcrpy {t_over['vcrpy']['median'] * 1e6:.1f} us"
    )
    result = {
        "params": {"quick": quick, "plan": PLAN},
        "versions": versions("llmreel", "openai", "httpx2", "vcrpy", "pytest-recording"),
        "exchanges": out,
        "transport_level": transport,
    }
    write_result("inprocess", result)
    return result
