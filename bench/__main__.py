"""``python -m bench [--quick] [--only NAME ...]``: benchmarks, results, plots and README.

Benchmarks: ``inprocess`` (1), ``scale`` (2), ``server`` (3), ``record`` (4), ``disk`` (5),
``remote`` (6), ``ui`` (7, the inspector in headless Chromium), ``check`` (8, ``llmreel
check`` and the secret scanner on a real llama-stack corpus).
Results go to ``bench/results/*.json`` and ``*.png``; ``bench/README.md`` is rewritten
with the table of targets from whatever results exist. A benchmark that fails is
reported and the others still run.
"""

from __future__ import annotations

import argparse
import os
import time
import traceback

os.environ.setdefault("MPLBACKEND", "Agg")

NAMES = ("inprocess", "scale", "server", "record", "disk", "remote", "ui", "check")


def main() -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="fewer rounds and sizes (a few minutes)")
    p.add_argument("--only", nargs="+", choices=NAMES, help="run only these benchmarks")
    p.add_argument("--report-only", action="store_true", help="only redraw plots and README")
    a = p.parse_args()

    from bench import report
    from bench.common import log

    failed: list[str] = []
    if not a.report_only:
        from bench import (
            b1_inprocess,
            b2_scale,
            b3_server,
            b4_record,
            b5_disk,
            b6_remote,
            b7_ui,
            b8_check,
        )
        from bench.exchanges import prepare

        t0 = time.perf_counter()
        log("recording the exchanges with llmreel and vcrpy from the floor server")
        prepared = prepare()
        runs = {
            "inprocess": lambda: b1_inprocess.run(a.quick, prepared),
            "disk": lambda: b5_disk.run(a.quick, prepared),
            "scale": lambda: b2_scale.run(a.quick),
            "server": lambda: b3_server.run(a.quick, prepared),
            "record": lambda: b4_record.run(a.quick, prepared),
            "remote": lambda: b6_remote.run(a.quick, prepared),
            "ui": lambda: b7_ui.run(a.quick),
            "check": lambda: b8_check.run(a.quick),
        }
        for name, fn in runs.items():
            if a.only and name not in a.only:
                continue
            try:
                fn()
            except Exception:
                failed.append(name)
                log(f"benchmark {name} failed:\n{traceback.format_exc()}")
        log(f"benchmarks done in {time.perf_counter() - t0:.0f} s")
    report.write_all()
    log("wrote bench/README.md and bench/results/*.png")
    if failed:
        log(f"failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
