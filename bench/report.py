"""Plots (matplotlib, Agg) and ``bench/README.md`` from the results in ``bench/results``."""

from __future__ import annotations

import os
from typing import Any

from bench.common import BENCH_DIR, RESULTS, read_result

os.environ.setdefault("MPLBACKEND", "Agg")


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _ms(x: float) -> str:
    return f"{x * 1e3:.3f} ms"


def _us(x: float) -> str:
    return f"{x * 1e6:.0f} µs"


def _ok(flag: bool) -> str:
    return "met" if flag else "**missed**"


# --------------------------------------------------------------------------- plots


def plot_inprocess(r: dict[str, Any]) -> None:
    plt = _plt()
    exs = list(r["exchanges"])
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    names = ["llmreel", "vcrpy", "llmreel/open-per-call", "vcrpy/open-per-call"]
    width = 0.2
    for i, n in enumerate(names):
        vals = [r["exchanges"][e]["overhead_vs_floor"][n]["median"] * 1e3 for e in exs]
        axes[0].bar([x + i * width for x in range(len(exs))], vals, width, label=n)
    axes[0].set_xticks([x + 1.5 * width for x in range(len(exs))], exs)
    axes[0].set_ylabel("ms per call above the floor (CPU)")
    axes[0].set_title("Replay through the openai SDK: cost above the floor")
    axes[0].axhline(0, color="black", linewidth=0.5)
    axes[0].legend(fontsize=8)
    opens = ["llmreel/open-only", "vcrpy/open-only", "pytest-recording/open-only"]
    for i, n in enumerate(opens):
        vals = [r["exchanges"][e]["summary"][n]["cpu"]["median"] * 1e3 for e in exs]
        axes[1].bar([x + i * 0.27 for x in range(len(exs))], vals, 0.27, label=n)
    axes[1].set_xticks([x + 0.27 for x in range(len(exs))], exs)
    axes[1].set_ylabel("ms (CPU)")
    axes[1].set_title("Open + close a one-recording cassette")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(RESULTS / "inprocess.png", dpi=110)
    plt.close(fig)


def plot_scale(r: dict[str, Any]) -> None:
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    lr = r["results"]["llmreel"]
    sizes = sorted(int(n) for n in lr)
    for key, label in (
        ("open_cold", "llmreel open, no index"),
        ("open_indexed_fresh_process", "llmreel open, index built (new process)"),
        ("open_warm", "llmreel open, warm"),
    ):
        axes[0].plot(sizes, [lr[str(n)][key]["median"] for n in sizes], "o-", label=label)
    vr = r["results"].get("vcrpy", {})
    vs = sorted(int(n) for n in vr)
    if vs:
        axes[0].plot(vs, [vr[str(n)]["open"]["median"] for n in vs], "s--", label="vcrpy open")
    axes[0].set_xscale("log")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("recordings in the cassette")
    axes[0].set_ylabel("seconds")
    axes[0].set_title("Opening a cassette")
    axes[0].legend(fontsize=8)
    axes[1].plot(
        sizes, [lr[str(n)]["lookup"]["median"] * 1e6 for n in sizes], "o-", label="llmreel"
    )
    if vs:
        axes[1].plot(vs, [vr[str(n)]["lookup"]["median"] * 1e6 for n in vs], "s--", label="vcrpy")
    axes[1].set_xscale("log")
    axes[1].set_yscale("log")
    axes[1].set_xlabel("recordings in the cassette")
    axes[1].set_ylabel("µs per request (median)")
    axes[1].set_title("Looking up one request")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(RESULTS / "scale.png", dpi=110)
    plt.close(fig)


def plot_server(r: dict[str, Any]) -> None:
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    levels = r["params"]["levels"]
    for name, per in r["servers"].items():
        axes[0].plot(levels, [per[str(c)]["rps_median"] for c in levels], "o-", label=name)
        axes[1].plot(levels, [per[str(c)]["p50"] * 1e3 for c in levels], "o-", label=f"{name} p50")
        axes[1].plot(levels, [per[str(c)]["p99"] * 1e3 for c in levels], "x:", label=f"{name} p99")
    for ax in axes:
        ax.set_xscale("log", base=2)
        ax.set_xlabel("concurrent streaming clients")
        ax.legend(fontsize=8)
    axes[0].set_ylabel("responses per second")
    axes[0].set_title("Replay over HTTP: throughput (seed stream)")
    axes[1].set_yscale("log")
    axes[1].set_ylabel("ms, request sent to last byte")
    axes[1].set_title("Latency")
    fig.tight_layout()
    fig.savefig(RESULTS / "server.png", dpi=110)
    plt.close(fig)


def plot_record(r: dict[str, Any]) -> None:
    plt = _plt()
    parts = [k for k in ("fixed_delay", "llamacpp") if "direct" in r.get(k, {})]
    fig, axes = plt.subplots(1, len(parts), figsize=(5.5 * len(parts), 4), squeeze=False)
    for ax, part in zip(axes[0], parts, strict=True):
        d = r[part]
        names = list(d)
        ax.bar(
            [i - 0.2 for i in range(len(names))],
            [d[n]["ttfb"]["median"] * 1e3 for n in names],
            0.4,
            label="time to first byte",
        )
        ax.bar(
            [i + 0.2 for i in range(len(names))],
            [d[n]["total"]["median"] * 1e3 for n in names],
            0.4,
            label="total",
        )
        ax.set_xticks(range(len(names)), names)
        ax.set_ylabel("ms (median)")
        ax.set_title(f"Record mode: {part.replace('_', ' ')}")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(RESULTS / "record.png", dpi=110)
    plt.close(fig)


def plot_disk(r: dict[str, Any]) -> None:
    plt = _plt()
    exs = list(r["exchanges"])
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, (key, label) in enumerate(
        (("llmreel", "llmreel"), ("llama_stack_indent2", "llama-stack"), ("vcrpy_yaml", "vcrpy"))
    ):
        ax.bar(
            [x + i * 0.27 for x in range(len(exs))],
            [r["exchanges"][e][key] / 1024 for e in exs],
            0.27,
            label=label,
        )
    ax.set_xticks([x + 0.27 for x in range(len(exs))], exs)
    ax.set_yscale("log")
    ax.set_ylabel("KiB per recording")
    ax.set_title("Size on disk, same exchange")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(RESULTS / "disk.png", dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------- README


def _targets() -> list[str]:
    rows = ["| Target | Measured | |", "| --- | --- | --- |"]
    ip = read_result("inprocess")
    if ip:
        s = ip["exchanges"]["seed"]
        o = s["overhead_vs_floor"]
        ratio = s["ratios"]["overhead_open_llmreel_over_vcrpy"]
        t = ip.get("transport_level")
        extra = ""
        if t:
            tl = t["overhead_vs_floor"]
            extra = (
                f"; transport level (no SDK): llmreel {_us(tl['llmreel']['median'])}"
                f" vs vcrpy {_us(tl['vcrpy']['median'])}"
                f" ({t['ratio_llmreel_over_vcrpy']:.2f}x)"
            )
        pc = s.get("python_calls_per_call")
        if pc:
            lc, vc = pc["llmreel"] - pc["floor"], pc["vcrpy"] - pc["floor"]
            extra += (
                f"; Python calls per SDK call above the floor: llmreel {lc:.0f}, vcrpy "
                f"{vc:.0f} ({lc / vc:.2f}x)"
            )

        def spread(v: dict[str, Any]) -> str:
            lo, hi = v["p25"] * 1e3, v["p75"] * 1e3
            return f"{_ms(v['median'])} (rounds p25-p75 {lo:+.3f}..{hi:+.3f})"

        rows.append(
            "| In-process replay (seed), cassette open: llmreel's cost above the floor "
            "≤ 0.5x vcrpy's "
            f"| llmreel {spread(o['llmreel'])}, vcrpy {spread(o['vcrpy'])} "
            f"above a floor of {_ms(s['summary']['floor']['cpu']['median'])} "
            f"({ratio:.2f}x){extra} | {_ok(0 <= ratio <= 0.5)} (see notes) |"
        )
        c = ip["exchanges"]["chat"]
        cr = c["ratios"]["overhead_open_llmreel_over_vcrpy"]
        rows.append(
            "| ... non-streamed chat "
            f"| llmreel {_ms(c['overhead_vs_floor']['llmreel']['median'])}, vcrpy "
            f"{_ms(c['overhead_vs_floor']['vcrpy']['median'])} ({cr:.2f}x) "
            f"| {_ok(0 <= cr <= 0.5)} |"
        )
        oo = s["ratios"]["open_only_llmreel_over_vcrpy"]
        rows.append(
            "| Opening a one-recording cassette ≤ 0.5x vcrpy "
            f"| llmreel {_ms(s['summary']['llmreel/open-only']['cpu']['median'])}, vcrpy "
            f"{_ms(s['summary']['vcrpy/open-only']['cpu']['median'])}, pytest-recording "
            f"{_ms(s['summary']['pytest-recording/open-only']['cpu']['median'])} ({oo:.2f}x) "
            f"| {_ok(oo <= 0.5)} |"
        )
    sc = read_result("scale")
    if sc:
        lr = sc["results"]["llmreel"]
        sizes = sorted(lr, key=int)
        lk = ", ".join(f"{int(n) // 1000}k: {_us(lr[n]['lookup']['median'])}" for n in sizes)
        growth = sc["lookup_growth_1k_to_100k"]
        rows.append(f"| Lookup flat from 1k to 100k | {lk} ({growth:.2f}x) | {_ok(growth < 1.5)} |")
        if "100000" in lr:
            w = lr["100000"]["open_warm"]["median"]
            i = lr["100000"]["open_indexed_fresh_process"]["median"]
            rows.append(
                f"| Open 100k with a warm index well under 1 s | warm {w:.2f} s, "
                f"index built, new process {i:.2f} s, no index "
                f"{lr['100000']['open_cold']['median']:.1f} s | {_ok(w < 0.5)} (see notes) |"
            )
    sv = read_result("server")
    if sv and sv.get("ratios"):
        parts = []
        ok = True
        for c, rr in sv["ratios"].items():
            f = rr["llmreel_over_floor"]
            m = rr.get("llmreel_over_mitmproxy")
            parts.append(f"{c} clients: {f:.2f}x floor" + (f", {m:.2f}x mitmproxy" if m else ""))
            ok = ok and f >= 0.8 and (m is None or m > 1)
        rows.append(
            "| Server replay ≥ 0.8x the floor's throughput, ahead of mitmproxy "
            f"| {'; '.join(parts)} | {_ok(ok)}{'' if ok else ' (see notes)'} |"
        )
    rc = read_result("record")
    if rc and "fixed_delay" in rc:
        fd = rc["fixed_delay"]
        s_ = fd["serve-record"]["ttfb_over_direct"]
        i_ = fd["inprocess-record"]["ttfb_over_direct"]
        live = fd.get("serve-live", {}).get("ttfb_over_direct")
        hop = (
            f" (forwarding alone, `--mode live`: {live * 1e3:+.2f} ms)" if live is not None else ""
        )
        rows.append(
            "| Record overhead: a few ms at most on TTFB (fixed-delay upstream) "
            f"| serve {s_ * 1e3:+.2f} ms{hop}, in-process {i_ * 1e3:+.2f} ms "
            f"| {_ok(max(s_, i_) < 5e-3)} (see notes) |"
        )
    dk = read_result("disk")
    if dk:
        e = dk["exchanges"]
        parts = [f"{n}: {v['llmreel_over_llama_stack']:.2f}x" for n, v in e.items()]
        rows.append(
            "| On disk under half of llama-stack's bytes "
            f"| {', '.join(parts)} | {_ok(e['seed']['llmreel_over_llama_stack'] < 0.5)} (streams) |"
        )
    rm = read_result("remote")
    if rm:
        e = {k: v for k, v in rm["exchanges"].items() if k != "cold_first_fetch"}
        worst = max(v["remote_over_local"] for v in e.values())
        parts = [
            f"{n}: {v['remote_over_local']:.2f}x (per test {v['remote_over_local_per_test']:.2f}x)"
            for n, v in e.items()
        ]
        rows.append(
            "| Replay from a warm object-store cache within 1.2x of a local cassette "
            f"| {', '.join(parts)} | {_ok(worst <= 1.2)} |"
        )
    ui = read_result("ui")
    if ui:
        b, a = ui["browser"], ui["api"]
        worst = max(b["browse_first_100_s"]["max"], b["search_s"]["max"])
        rows.append(
            f"| Inspector on {ui['corpus']['recordings']:,} recordings: first 100 rows and a "
            f"search each under {ui['target_s']:.0f} s in the browser "
            f"| browse {b['browse_first_100_s']['median']:.2f} s (max "
            f"{b['browse_first_100_s']['max']:.2f}), search {b['search_s']['median']:.2f} s "
            f"(max {b['search_s']['max']:.2f}); server side {_ms(a['first_page_s'])} / "
            f"{_ms(a['search_s'])}, {ui['ratios']['search_api_over_full_read']:.3f}x a full "
            f"re-read (`ls --grep`, {ui['reference']['ls_grep_full_read_s']:.2f} s); index "
            f"built once in {ui['index_build_s']:.2f} s | {_ok(worst < ui['target_s'])} |"
        )
    ck = read_result("check")
    if ck:
        w, sc = ck["check_wall_s"], ck["scan_interaction"]
        per = sc["per_recording_us"]
        rows.append(
            f"| `llmreel check` on the real llama-stack corpus ({ck['corpus']['files']:,} files, "
            f"{ck['corpus']['source']}) under {ck['target_s']:.0f} s | {w['llmreel']:.2f} s, "
            f"previous implementation {w['baseline']:.2f} s ({ck['check_ratio']:.3f}x); secret "
            f"scan per recording written {per['llmreel']:.0f} µs vs {per['baseline']:.0f} µs "
            f"({sc['ratio']:.3f}x) | {_ok(w['llmreel'] < ck['target_s'])} |"
        )
    return rows


def _details() -> list[str]:
    out: list[str] = []
    ip = read_result("inprocess")
    if ip:
        out += [
            "### 1. In-process replay (CPU ms per call, median; spread = p25-p75)",
            "",
            "| exchange | contender | median | p25-p75 | above floor (paired per round) |",
            "| --- | --- | --- | --- | --- |",
        ]
        for ex, d in ip["exchanges"].items():
            for n, s in d["summary"].items():
                c = s["cpu"]
                over = d["overhead_vs_floor"].get(n)
                ov = f"{over['median'] * 1e3:+.3f} ms" if over else ""
                out.append(
                    f"| {ex} | {n} | {c['median'] * 1e3:.3f} | "
                    f"{c['p25'] * 1e3:.3f}-{c['p75'] * 1e3:.3f} | {ov} |"
                )
        out += ["", "![in-process](results/inprocess.png)", ""]
    sc = read_result("scale")
    if sc:
        out += [
            "### 2. Lookup at scale",
            "",
            "| tool | recordings | open (no index) | open (index, new process) | open (warm) "
            "| lookup median | lookup p99 |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for n, v in sc["results"]["llmreel"].items():
            out.append(
                f"| llmreel | {n} | {v['open_cold']['median']:.3f} s | "
                f"{v['open_indexed_fresh_process']['median']:.3f} s | "
                f"{v['open_warm']['median']:.3f} s | {_us(v['lookup']['median'])} | "
                f"{_us(v['lookup']['p99'])} |"
            )
        for n, v in sc["results"].get("vcrpy", {}).items():
            out.append(
                f"| vcrpy | {n} | {v['open']['median']:.3f} s (YAML parse) | - | - | "
                f"{_us(v['lookup']['median'])} | {_us(v['lookup']['p99'])} |"
            )
        out += ["", *[f"- {n}" for n in sc.get("notes", [])], "", "![scale](results/scale.png)", ""]
    sv = read_result("server")
    if sv:
        out += [
            "### 3. Server replay (seed stream, req/s median over rounds; latency pooled)",
            "",
            "| server | clients | req/s | rounds | p50 | p99 | errors |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for name, per in sv["servers"].items():
            for c, v in per.items():
                rr = ", ".join(f"{x:.0f}" for x in v["rps_rounds"])
                out.append(
                    f"| {name} | {c} | {v['rps_median']:.0f} | {rr} | {_ms(v['p50'])} | "
                    f"{_ms(v['p99'])} | {v['errors']} |"
                )
        out += [
            "",
            *[f"- {n}" for n in sv.get("notes", [])],
            "",
            "![server](results/server.png)",
            "",
        ]
    rc = read_result("record")
    if rc:
        out += [
            "### 4. Record overhead (ms, median)",
            "",
            "| upstream | path | TTFB | TTFB p25-p75 | TTFB min | total | total p25-p75 |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for part in ("fixed_delay", "llamacpp"):
            d = rc.get(part, {})
            if "skipped" in d:
                out.append(f"| {part} | skipped: {d['skipped']} | | | | | |")
                continue
            for n, v in d.items():
                t, f = v["total"], v["ttfb"]
                out.append(
                    f"| {part} | {n} | {f['median'] * 1e3:.2f} | {f['p25'] * 1e3:.2f}-"
                    f"{f['p75'] * 1e3:.2f} | {f['min'] * 1e3:.2f} | {t['median'] * 1e3:.2f} | "
                    f"{t['p25'] * 1e3:.2f}-"
                    f"{t['p75'] * 1e3:.2f} |"
                )
        for part in ("fixed_delay", "llamacpp"):
            for n, v in rc.get(part, {}).items():
                failed = v.get("failed_attempts") if isinstance(v, dict) else None
                if failed:
                    out += [
                        "",
                        f"- {part} / {n}: {len(failed)} attempt(s) failed and were tried "
                        f"again, first: `{failed[0][:200]}`",
                    ]
        out += ["", "![record](results/record.png)", ""]
    dk = read_result("disk")
    if dk:
        out += [
            "### 5. Size on disk (bytes per recording)",
            "",
            "| exchange | events | llmreel | llama-stack (indent 2) | vcrpy YAML | "
            "llmreel / llama-stack |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for n, v in dk["exchanges"].items():
            out.append(
                f"| {n} | {v['events']} | {v['llmreel']} | {v['llama_stack_indent2']} | "
                f"{v['vcrpy_yaml']} | {v['llmreel_over_llama_stack']:.2f} |"
            )
        out += ["", "![disk](results/disk.png)", ""]
    rm = read_result("remote")
    if rm:
        out += [
            "### 6. Replay from object storage (S3 API on loopback: moto), wall ms per call",
            "",
            "| exchange | local | remote, warm cache | ratio | local, per test | "
            "remote, per test | ratio |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        cold = rm["exchanges"].get("cold_first_fetch")
        for n, v in rm["exchanges"].items():
            if n == "cold_first_fetch":
                continue
            s = v["samples"]
            out.append(
                f"| {n} | {s['local']['median'] * 1e3:.3f} | "
                f"{s['remote/warm']['median'] * 1e3:.3f} | {v['remote_over_local']:.2f}x | "
                f"{s['local/per-test']['median'] * 1e3:.3f} | "
                f"{s['remote/warm/per-test']['median'] * 1e3:.3f} | "
                f"{v['remote_over_local_per_test']:.2f}x |"
            )
        if cold:
            out += [
                "",
                f"Cold cache (an empty cache, a cassette of {cold['recordings_in_cassette']} "
                f"recordings, one replayed): {cold['cold_open_and_call_median_s'] * 1e3:.1f} ms "
                f"against {cold['warm_open_and_call_median_s'] * 1e3:.1f} ms warm: the first "
                f"use costs {cold['first_fetch_cost_s'] * 1e3:.1f} ms (one listing and one GET; "
                f"only the recording asked for is fetched).",
            ]
        out.append("")
    return out


def write_readme() -> None:
    head = (BENCH_DIR / "NOTES.md").read_text() if (BENCH_DIR / "NOTES.md").exists() else ""
    machine = ""
    loads: list[str] = []
    for name in ("inprocess", "scale", "server", "record", "disk", "remote", "ui", "check"):
        r = read_result(name)
        if r:
            m = r["machine"]
            load = m.get("loadavg_at_end", m.get("loadavg_at_start"))
            loads.append(f"{name} {load}")
            machine = machine or (
                f"Last run: Python {m['python']}, {m['cpus']} CPUs ({m['platform']}); "
                f"quick={r['params']['quick']}. Load average (1, 5, 15 min) when each "
                f"benchmark ended: "
            )
    machine += "; ".join(loads) + "." if loads else ""
    body = [
        "# Benchmarks: llmreel against its peers",
        "",
        "Run with `make bench` (about 10 minutes; installs the peers first) or "
        "`make bench ARGS=--quick`. Results: `bench/results/*.json` and `*.png`; this file "
        "is rewritten by every run (the notes come from `bench/NOTES.md`).",
        "",
        machine,
        "",
        "## Targets",
        "",
        *_targets(),
        "",
        head,
        "## Results",
        "",
        *_details(),
    ]
    (BENCH_DIR / "README.md").write_text("\n".join(body).rstrip() + "\n")


def write_all() -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    for name, fn in (
        ("inprocess", plot_inprocess),
        ("scale", plot_scale),
        ("server", plot_server),
        ("record", plot_record),
        ("disk", plot_disk),
    ):
        r = read_result(name)
        if r is not None:
            try:
                fn(r)
            except (KeyError, ValueError) as exc:
                print(f"[bench] cannot plot {name}: {exc!r}")
    write_readme()
