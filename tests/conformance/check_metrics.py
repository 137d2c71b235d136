#!/usr/bin/env python3
"""Check glint's /metrics after a conformance suite ran against it (issue 21).

Usage: check_metrics.py URL [--save FILE]

Reads the Prometheus text glint serves at URL and fails (exit 1, naming what is missing) unless
the series an operator relies on are there and moved during the suite: requests by route
template, method and status (2xx and 4xx, several routes), the latency histogram, database pool
use, the token cache (hits and misses) and Keystone calls, bytes uploaded and downloaded, the
transfer gauges and the notification queue. --save writes the scrape, for the closing note.
"""

import re
import sys
import urllib.request

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse(text):
    series = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = LINE.match(line)
        if not m:
            raise SystemExit(f"metrics: unparsable line {line!r}")
        labels = dict(LABEL.findall(m.group(3) or ""))
        series.append((m.group(1), labels, float(m.group(4))))
    return series


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    url = sys.argv[1]
    with urllib.request.urlopen(url, timeout=10) as r:
        if r.status != 200:
            raise SystemExit(f"metrics: {url} answered {r.status}")
        ctype = r.headers.get("Content-Type", "")
        text = r.read().decode()
    if "--save" in sys.argv:
        with open(sys.argv[sys.argv.index("--save") + 1], "w") as f:
            f.write(text)
    s = parse(text)

    def total(name, **want):
        return sum(v for n, labels, v in s
                   if n == name and all(re.fullmatch(p, labels.get(k, "")) for k, p in want.items()))

    def present(name):
        return any(n == name for n, _, _ in s)

    problems = []
    if not ctype.startswith("text/plain"):
        problems.append(f"content type {ctype!r}, not Prometheus' text/plain")
    routes = {labels.get("route") for n, labels, _ in s if n == "glint_http_requests_total"}
    checks = [
        ("requests answered 2xx", total("glint_http_requests_total", status=r"2\d\d") > 0),
        ("requests answered 4xx", total("glint_http_requests_total", status=r"4\d\d") > 0),
        ("at least 8 route templates", len(routes) >= 8),
        ("route templates, not raw paths",
         all(not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", r or "") for r in routes)),
        ("GET /v2/images/{image_id} counted",
         total("glint_http_requests_total", route=r".*/v2/images/\{[a-z_]+\}", method="GET") > 0),
        ("latency histogram", total("glint_http_request_duration_seconds_count") > 0
         and present("glint_http_request_duration_seconds_bucket")),
        ("database pool check-outs", total("glint_db_pool_acquired_total") > 0),
        ("pool wait and error series", present("glint_db_pool_wait_seconds_total")
         and present("glint_db_pool_errors_total")),
        ("token cache hits", total("glint_token_cache_hits_total") > 0),
        ("token cache misses", total("glint_token_cache_misses_total") > 0),
        ("Keystone calls and their time", total("glint_keystone_calls_total") > 0
         and total("glint_keystone_call_seconds_total") > 0),
        ("Keystone failures series", present("glint_keystone_failures_total")),
        ("bytes uploaded", total("glint_bytes_uploaded_total") > 0),
        ("bytes downloaded", total("glint_bytes_downloaded_total") > 0),
        ("uploads and imports in progress back to 0", present("glint_uploads_in_progress")
         and present("glint_imports_in_progress")
         and total("glint_uploads_in_progress") == 0),
        ("notification queue series", all(present(n) for n in (
            "glint_notifications_queue_depth", "glint_notifications_dropped_total",
            "glint_notifications_published_total"))),
    ]
    for what, ok in checks:
        if not ok:
            problems.append(what)
    requests = total("glint_http_requests_total")
    print(f"metrics: {len(s)} samples, {int(requests)} requests over {len(routes)} route templates, "
          f"{int(total('glint_bytes_uploaded_total'))} bytes up, "
          f"{int(total('glint_bytes_downloaded_total'))} down, token cache "
          f"{int(total('glint_token_cache_hits_total'))} hits / "
          f"{int(total('glint_token_cache_misses_total'))} misses")
    if problems:
        print("metrics: MISSING " + "; ".join(problems))
        sys.exit(1)
    print(f"metrics: all {len(checks)} checks passed")


if __name__ == "__main__":
    main()
