"""Benchmark 5: bytes on disk per recording, for the same exchanges in each format.

- llmreel: the file llmreel wrote when recording the exchange from the floor server;
- llama-stack: the record llama-stack's recorder writes for the same SDK call
  (``__type__``/``__data__`` objects, ``json.dump(indent=2)`` plus a newline);
- vcrpy: the YAML cassette vcrpy wrote when recording the same call (vcrpy's defaults,
  which keep every request header).

The seed file as it is shipped (a compact one-line llama-stack record) is listed too.
"""

from __future__ import annotations

from typing import Any

from bench.common import log, versions, write_result
from bench.exchanges import Prepared, llama_stack_bytes, locate_seed, prepare


def run(quick: bool, prepared: Prepared | None = None) -> dict[str, Any]:
    prepared = prepared or prepare()
    out: dict[str, Any] = {}
    for name, ex in prepared.exchanges.items():
        files = [p for p in prepared.llmreel_dirs[name].iterdir() if p.is_file()]
        llmreel = files[0].stat().st_size
        llama = len(llama_stack_bytes(ex))
        vcr = prepared.vcr_files[name].stat().st_size
        out[name] = {
            "events": len(ex.interaction.response.events),
            "llmreel": llmreel,
            "llama_stack_indent2": llama,
            "vcrpy_yaml": vcr,
            "llmreel_over_llama_stack": llmreel / llama,
            "llmreel_over_vcrpy": llmreel / vcr,
        }
        log(f"size on disk: {name}: llmreel {llmreel} B, llama-stack {llama} B, vcrpy {vcr} B")
    out["seed"]["seed_file_as_shipped"] = locate_seed().stat().st_size
    result = {"params": {"quick": quick}, "versions": versions("vcrpy"), "exchanges": out}
    write_result("disk", result)
    return result
