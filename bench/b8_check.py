"""8. ``llmreel check`` on a real llama-stack corpus, and the secret scanner on every write.

**The corpus.** The real recordings of llama-stack's (OGX's) own test suite, as its
May 2026 release ships them: ``pip download ogx==1.0.0`` (the source distribution,
through pip as usual), every ``tests/integration/**/recordings/*.json`` (3,082 files,
89 MB, the current generation), plus the public conformance files (both
generations). The download is cached under the system temp directory; without it the
benchmark falls back to ``tests/synthetic_corpus.py`` (3,160 files built from real
file shapes) and says so.

**Compared.** The same commands on the same corpus, interleaved: this tree's
``llmreel check`` and the previous implementation's (the tree at ``BASELINE``,
extracted with ``git archive``), both as a user runs them (a fresh process, wall
time). Then, per recording as the recorder writes it (each corpus file loaded as an
interaction), ``SecretScanner.scan_interaction`` of both trees, CPU time.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import REPO, log, write_result

BASELINE = "9f947d9"  # main before the one-pass scanner and the current recorder's names
OGX_VERSION = "1.0.0"
TARGET_S = 5.0
CACHE = Path(tempfile.gettempdir()) / "llmreel-bench-corpus"


def fetch_corpus(dest: Path) -> dict[str, Any]:
    """The real corpus in ``dest``; ``{"source": ...}`` says where it came from."""
    sdist = CACHE / f"ogx-{OGX_VERSION}.tar.gz"
    if not sdist.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", f"ogx=={OGX_VERSION}", "--no-deps"]
        cmd += ["--no-binary", ":all:", "--python-version", "3.12", "--only-binary=:none:"]
        subprocess.run([*cmd, "-d", str(CACHE)], check=False, capture_output=True, timeout=600)
    n = 0
    if sdist.exists():
        with tarfile.open(sdist) as tar:
            for member in tar.getmembers():
                parts = Path(member.name).parts
                if member.isfile() and "recordings" in parts and member.name.endswith(".json"):
                    out = dest / "ogx" / Path(*parts[parts.index("tests") :])
                    out.parent.mkdir(parents=True, exist_ok=True)
                    src = tar.extractfile(member)
                    if src is not None:
                        out.write_bytes(src.read())
                        n += 1
    conf = REPO.parent / "shared" / "conformance" / "llama-stack"
    extra = 0
    for f in conf.rglob("*.json") if conf.is_dir() else []:
        out = dest / "conformance" / f.relative_to(conf)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(f.read_bytes())
        extra += 1
    if n:
        return {"source": f"ogx {OGX_VERSION} sdist", "real_files": n, "conformance": extra}
    sys.path.insert(0, str(REPO / "tests"))
    from synthetic_corpus import build

    build(dest / "synthetic", 3160)
    return {"source": "synthetic (download failed)", "real_files": 0, "conformance": extra}


def _baseline_tree(root: Path) -> Path:
    out = root / "baseline"
    out.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", BASELINE, "src"], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
    return out / "src"


def _run_check(src: Path, corpus: Path) -> tuple[float, dict[str, Any]]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "llmreel", "check", str(corpus), "--json"],
        env=env,
        capture_output=True,
        timeout=900,
    )
    took = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # CPU of the command and the children it waited for (a process pool's workers under a
    # forkserver are not its children: then this undercounts, and the wall time tells).
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    report = json.loads(proc.stdout)
    return took, {"files": report["files"], "counts": report["counts"], "cpu_s": cpu}


_SCAN_SNIPPET = """
import json, sys, time
from pathlib import Path
from llmreel.formats.llama_stack import from_document
from llmreel.redaction import SecretScanner
inters = []
for f in sorted(Path(sys.argv[1]).rglob("*.json")):
    try:
        inters.append(from_document(json.loads(f.read_bytes()), str(f)))
    except Exception:
        pass
scanner = SecretScanner()
t = time.process_time()
found = sum(scanner.scan_interaction(i) is not None for i in inters)
print(json.dumps({"n": len(inters), "cpu_s": time.process_time() - t, "found": found}))
"""


def _scan_interactions(src: Path, corpus: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    proc = subprocess.run(
        [sys.executable, "-c", _SCAN_SNIPPET, str(corpus)],
        env=env,
        capture_output=True,
        check=True,
        timeout=1800,
    )
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def run(quick: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        corpus = root / "corpus"
        info = fetch_corpus(corpus)
        files = len(list(corpus.rglob("*.json")))
        log(f"check: corpus of {files} files ({info['source']})")
        new_src, old_src = REPO / "src", _baseline_tree(root)
        rounds = 1 if quick else 3
        new_t: list[float] = []
        old_t: list[float] = []
        reports: dict[str, Any] = {}
        for _ in range(rounds):
            took, reports["llmreel"] = _run_check(new_src, corpus)
            new_t.append(took)
            if len(old_t) < (1 if quick else 2):
                took, reports["baseline"] = _run_check(old_src, corpus)
                old_t.append(took)
        scan_new = _scan_interactions(new_src, corpus)
        scan_old = _scan_interactions(old_src, corpus)
    new_s, old_s = statistics.median(new_t), statistics.median(old_t)
    result = {
        "params": {"quick": quick},
        "corpus": {**info, "files": files},
        "baseline": BASELINE,
        "target_s": TARGET_S,
        "check_wall_s": {"llmreel": new_s, "baseline": old_s, "runs": [new_t, old_t]},
        "check_ratio": new_s / old_s,
        "reports": reports,
        "scan_interaction": {
            "llmreel": scan_new,
            "baseline": scan_old,
            "per_recording_us": {
                "llmreel": scan_new["cpu_s"] / max(1, scan_new["n"]) * 1e6,
                "baseline": scan_old["cpu_s"] / max(1, scan_old["n"]) * 1e6,
            },
            "ratio": scan_new["cpu_s"] / max(1e-9, scan_old["cpu_s"]),
        },
    }
    write_result("check", result)
    log(
        f"check: {new_s:.2f} s vs {old_s:.2f} s before ({result['check_ratio']:.3f}x); "
        f"scan per recording {result['scan_interaction']['per_recording_us']}"
    )
    return result
