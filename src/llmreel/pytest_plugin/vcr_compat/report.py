"""What the session says about vcr-marked tests, and the file of replays strict matching would miss.

Without ``--llmreel-strict`` every replay is also checked against llmreel's own
matching; the summary says how many would have missed, and
``.llmreel/strict-misses.txt`` under the root directory says, per test, which
request and how it differs from the interaction that played, so a team can
tighten matching at its own pace. The file is rewritten every session (removed
when nothing would miss). Counts from pytest-xdist workers are merged on the
controller.
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmreel.pytest_plugin.vcr_compat.engine import VcrEngine

__all__ = ["REPORT_NAME", "StrictReport"]

REPORT_NAME = ".llmreel/strict-misses.txt"


@dataclass
class StrictReport:
    """Counts of vcr-marked tests and the replays strict matching would miss."""

    rootpath: Path
    strict: bool
    tests: int = 0
    replays: int = 0
    would_miss: list[dict[str, Any]] = field(default_factory=list)
    ignored: set[str] = field(default_factory=set)

    @property
    def path(self) -> Path:
        return self.rootpath / REPORT_NAME

    def add(self, nodeid: str, cassette: str, engine: VcrEngine) -> None:
        self.tests += 1
        self.replays += engine.stats.hits
        for request, index, diff in engine.would_miss:
            self.would_miss.append(
                {
                    "test": nodeid,
                    "cassette": cassette,
                    "request": request,
                    "index": index,
                    "diff": diff,
                }
            )

    def dump(self) -> str:
        return json.dumps(
            {
                "tests": self.tests,
                "replays": self.replays,
                "would_miss": self.would_miss,
                "ignored": sorted(self.ignored),
            }
        )

    def merge(self, data: str | None) -> None:
        if not data:
            return
        doc = json.loads(data)
        self.tests += int(doc["tests"])
        self.replays += int(doc["replays"])
        self.would_miss.extend(doc["would_miss"])
        self.ignored.update(doc["ignored"])

    def write(self) -> None:
        if self.strict or not self.tests:
            return
        if not self.would_miss:
            self.path.unlink(missing_ok=True)  # a file from an earlier run would mislead
            return
        when = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
        lines = [
            "# llmreel: replays that matched as vcr_config says but would miss under "
            "--llmreel-strict",
            f"# {len(self.would_miss)} of {self.replays} replay(s), written {when}. Each entry: "
            "the test, its cassette, the interaction that played, and how this request "
            "differs from it in what llmreel matches on.",
        ]
        for miss in sorted(self.would_miss, key=lambda m: (m["test"], m["index"])):
            lines.append("")
            lines.append(f"{miss['test']}  ({miss['cassette']}, interaction #{miss['index']})")
            lines.append(f"  {miss['request']}")
            lines.append(miss["diff"])
        self.path.parent.mkdir(parents=True, exist_ok=True)
        ignore = self.path.parent / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# llmreel's derived files: never commit them\n*\n")
        self.path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def summary(self, tr: Any) -> None:
        if not self.tests:
            return
        tr.write_sep("-", "llmreel: vcr cassettes")
        how = (
            "with llmreel's own keys (--llmreel-strict)" if self.strict else ("as vcr_config says")
        )
        tr.write_line(
            f"llmreel served {self.tests} @pytest.mark.vcr test(s) from pytest-recording "
            f"cassettes, matching {how}."
        )
        if not self.strict:
            if self.would_miss:
                tests = len({m["test"] for m in self.would_miss})
                tr.write_line(
                    f"under --llmreel-strict, {len(self.would_miss)} of {self.replays} replay(s) "
                    f"in {tests} test(s) would miss; what differs: {REPORT_NAME}"
                )
            elif self.replays:
                tr.write_line(
                    f"all {self.replays} replay(s) would also match under --llmreel-strict."
                )
        if self.ignored:
            tr.write_line(
                f"without effect under llmreel (it intercepts every HTTP library itself): "
                f"{', '.join(sorted(self.ignored))}"
            )
