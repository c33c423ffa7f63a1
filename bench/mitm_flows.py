"""Write a mitmproxy flow file holding one recorded exchange (run with mitmproxy's Python).

mitmproxy lives in its own virtual environment (its pins clash with the project's), so
this script is run by that interpreter: ``python mitm_flows.py SPEC.json OUT.mitm``,
where SPEC holds the request (method, url, headers, body) and the response (status,
headers, body as base64) exactly as the other tools replay them.
"""

from __future__ import annotations

import base64
import json
import sys
import time


def main() -> None:
    from mitmproxy import http, io
    from mitmproxy.test import tflow

    with open(sys.argv[1]) as f:
        spec = json.load(f)
    req = spec["request"]
    resp = spec["response"]
    flow = tflow.tflow(resp=True)
    flow.request = http.Request.make(
        req["method"], req["url"], req["body"].encode(), req["headers"]
    )
    now = time.time()
    flow.request.timestamp_start = flow.request.timestamp_end = now
    flow.response = http.Response.make(
        resp["status"], base64.b64decode(resp["body"]), resp["headers"]
    )
    flow.response.timestamp_start = flow.response.timestamp_end = now
    with open(sys.argv[2], "wb") as f:
        io.FlowWriter(f).add(flow)


if __name__ == "__main__":
    main()
