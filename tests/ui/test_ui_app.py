"""The inspector over HTTP: its JSON, its safety rules, its mount on serve, the command."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from llmreel.cli import app
from llmreel.server import ServerConfig, ServerThread
from llmreel.ui.app import static_files
from llmreel.ui.guard import CSP
from llmreel.ui.run import UiThread
from ui_helpers import HOSTILE, SEED_ANSWER, SEED_NAME

SEED_ID = f"seed/{SEED_NAME}"


def test_the_page_and_its_assets_carry_strict_headers_and_no_cors(ui: UiThread) -> None:
    origin = {"origin": "http://evil.example"}
    for path in ("", "static/app.js", "static/style.css", "api/recordings", "api/facets"):
        resp = httpx.get(ui.url + path, headers=origin)
        assert resp.status_code == 200, path
        assert resp.headers["content-security-policy"] == CSP
        assert "'unsafe-inline'" not in CSP and "'unsafe-eval'" not in CSP
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert resp.headers["x-frame-options"] == "DENY"
        assert not any(k.startswith("access-control-") for k in resp.headers), path
    page = httpx.get(ui.url).text
    # Nothing from elsewhere: every script and stylesheet is the inspector's own.
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
    preflight = httpx.request(
        "OPTIONS",
        ui.url + "api/recordings",
        headers={**origin, "access-control-request-method": "GET"},
    )
    assert preflight.status_code == 405
    assert "access-control-allow-origin" not in preflight.headers


def test_read_only_and_loopback_names_only(ui: UiThread) -> None:
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        resp = httpx.request(method, ui.url + "api/recordings")
        assert resp.status_code == 405 and "read-only" in resp.json()["error"]
    # A page elsewhere that rebinds its own name to 127.0.0.1 sends its own Host header.
    resp = httpx.get(ui.url + "api/recordings", headers={"host": f"evil.example:{ui.port}"})
    assert resp.status_code == 403 and "127.0.0.1" in resp.json()["error"]
    for host in (f"localhost:{ui.port}", f"127.0.0.1:{ui.port}", "[::1]:1"):
        assert httpx.get(ui.url + "api/facets", headers={"host": host}).status_code == 200


def test_a_recording_as_a_person_reads_it(ui: UiThread) -> None:
    doc = httpx.get(ui.url + "api/recording", params={"id": SEED_ID}).json()
    assert doc["summary"]["text"].startswith(SEED_ANSWER)
    assert doc["summary"]["messages"] == [
        {"role": "user", "content": "What is the name of the US captial?"}
    ]
    assert doc["summary"]["finish_reason"] == "stop"
    tl = doc["timeline"]
    assert (tl["events"], tl["done"], tl["timed"]) == (46, True, False)
    assert "".join(p["text"] for p in tl["points"]).startswith(SEED_ANSWER)
    assert doc["raw"] == (Path(doc["dir"]) / SEED_ID).read_text()
    assert doc["path"].endswith(SEED_ID)
    raw = httpx.get(ui.url + "api/raw", params={"id": SEED_ID})
    assert raw.headers["content-type"].startswith("text/plain")
    assert raw.text == doc["raw"]


def test_the_timeline_shows_a_stall(ui: UiThread) -> None:
    rows = httpx.get(ui.url + "api/recordings", params={"q": "one two three four"}).json()["rows"]
    assert len(rows) == 1
    tl = httpx.get(ui.url + "api/recording", params={"id": rows[0]["id"]}).json()["timeline"]
    assert tl["timed"] and tl["first_event_s"] > 0
    # The upstream paused 1.5 s after its third event. On a loaded machine other gaps of the
    # recording may be long enough to count as stalls too; this one must be there, and be
    # the longest.
    stalls = {s["after"]: s["gap"] for s in tl["stalls"]}
    assert 2 in stalls
    assert stalls[2] > 1.0 > tl["median_gap_s"]
    assert tl["events_per_s"] and tl["max_gap_s"] == pytest.approx(stalls[2])


def test_recorded_html_is_data_in_the_json(ui: UiThread) -> None:
    rows = httpx.get(ui.url + "api/recordings", params={"q": "onerror"}).json()["rows"]
    assert [r["preview"] for r in rows] == [HOSTILE]
    doc = httpx.get(ui.url + "api/recording", params={"id": rows[0]["id"]}).json()
    assert doc["summary"]["messages"][0]["content"] == HOSTILE
    assert "<script>alert(1)</script>" in doc["summary"]["text"]


def test_nothing_outside_the_directory_is_served(
    ui: UiThread, corpus: Path, tmp_path: Path
) -> None:
    for rid in ("../../etc/passwd", "/etc/passwd", f"seed/../../{SEED_NAME}", "seed"):
        for api in ("api/recording", "api/raw"):
            resp = httpx.get(ui.url + api, params={"id": rid})
            assert resp.status_code == 404, (api, rid)
    for asset in ("static/../app.py", "static/%2e%2e%2fapp.py", "static/index.js"):
        assert httpx.get(ui.url + asset).status_code == 404
    # A file swapped for a link to somewhere else after it was indexed is refused at read time.
    outside = tmp_path / "secret.txt"
    outside.write_text("not yours")
    root = tmp_path / "root"
    root.mkdir()
    target = root / "x.json"
    target.write_bytes((corpus / SEED_ID).read_bytes())
    with UiThread(root) as small:
        assert httpx.get(small.url + "api/recording", params={"id": "x.json"}).status_code == 200
        small.app.index.max_age = 3600  # the index does not look again before the read
        target.unlink()
        target.symlink_to(outside)
        for api in ("api/recording", "api/raw"):
            resp = httpx.get(small.url + api, params={"id": "x.json"})
            assert resp.status_code == 403 and "not yours" not in resp.text
            assert "outside" in resp.json()["error"]


def test_mounted_on_serve_under_the_control_prefix(corpus: Path) -> None:
    with ServerThread(ServerConfig.build(corpus)) as srv:
        moved = httpx.get(f"{srv.base_url}/_llmreel/ui")
        assert moved.status_code == 308 and moved.headers["location"] == "/_llmreel/ui/"
        page = httpx.get(f"{srv.base_url}/_llmreel/ui/")
        assert page.status_code == 200 and 'src="static/app.js"' in page.text
        assert page.headers["content-security-policy"] == CSP
        found = httpx.get(
            f"{srv.base_url}/_llmreel/ui/api/recordings", params={"model": "alpha-model"}
        )
        assert found.json()["total"] == 2
        assert httpx.post(f"{srv.base_url}/_llmreel/ui/api/recordings").status_code == 405
        # The server's own paths stay off the pages: files are named under --dir.
        assert httpx.get(f"{srv.base_url}/_llmreel/ui/api/info").json()["dir"] == "--dir"
        doc = httpx.get(f"{srv.base_url}/_llmreel/ui/api/recording", params={"id": SEED_ID})
        assert doc.json()["path"] == SEED_ID and str(corpus) not in doc.text
        evil = httpx.get(f"{srv.base_url}/_llmreel/ui/", headers={"host": "evil.example"})
        assert evil.status_code == 403
        # The proxy itself is untouched: an API path still replays the seed.
        listed = httpx.get(f"{srv.base_url}/_llmreel/").json()["endpoints"]
        assert "/_llmreel/ui/" in listed


def test_the_command_has_help_and_refuses_a_missing_directory(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["ui", "--help"])
    assert result.exit_code == 0 and "llmreel ui tests/cassettes" in result.stdout
    result = runner.invoke(app, ["ui", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "is not a directory" in result.stderr


def test_the_command_serves_the_directory(corpus: Path) -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "llmreel", "ui", str(corpus), "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    ) as proc:
        try:
            assert proc.stderr is not None
            lines = []
            for line in proc.stderr:
                lines.append(line)
                if "inspector" in line:
                    break
            text = "".join(lines)
            assert re.search(r"indexed \d+ recording\(s\) in \d+ file\(s\)", text), text
            url = re.search(r"http://127\.0\.0\.1:\d+/", text)
            assert url, text
            # The socket is bound before this line is printed, so the request waits in the
            # backlog until uvicorn accepts it; on a loaded machine that can take seconds.
            facets = httpx.get(url.group(0) + "api/facets", timeout=60).json()
            assert facets["total"] >= 5
        finally:
            proc.terminate()
            proc.wait(10)


def test_every_asset_the_page_loads_ships_in_the_package() -> None:
    static = static_files()
    page = static["index.html"].decode()
    wanted = set(re.findall(r'(?:src|href)="static/([^"]+)"', page))
    for name, data in static.items():
        if name.endswith(".js"):
            wanted |= set(re.findall(r'from "\./([^"]+)"', data.decode()))
    assert wanted and wanted <= set(static), wanted - set(static)
    # No script in the page itself: the CSP allows none.
    assert "<script>" not in page and "onclick" not in page
