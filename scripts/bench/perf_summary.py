#!/usr/bin/env python3
"""Summarises one `perf record --call-graph dwarf` profile of the server (bench.py --perf-dir).

    perf_summary.py PROFILE.data [--top N]

Prints markdown: where the CPU samples went by layer of the request path, and the hottest
functions. Each sample is charged to one layer: walking its stack from the innermost frame
outwards, the first frame that belongs to a known layer (generic frames, i.e. the allocator,
libc's memcpy, core/alloc/std, are skipped so that their cost lands on whoever called them).
A sample in the kernel is charged to the system call it came through (futex: threads waking
each other; write/sendto, read/recvfrom: the sockets; epoll_wait: the event loop). With
`PROFILE.json` beside it (requests and server CPU seconds, which bench.py writes), the share
is also given in microseconds of CPU per request.

Inlining blurs the picture: code the compiler inlined into a caller is charged to the caller
(e.g. serialisation inlined into a handler counts as the handler).
"""

import collections
import json
import os
import subprocess
import sys

# (layer, substrings of a frame's symbol), in the order they are tried on each frame.
LAYERS = [
    ("logging: tracing span + JSON log line (tracing-subscriber, observability)",
     ["tracing_subscriber", "platform::observability", "tracing_core", "tracing::span",
      "<tracing::"]),
    ("metrics: Prometheus counter + histogram with labels", ["metrics_exporter_prometheus",
                                                            "metrics_util", "record_metrics",
                                                            "metrics::", "quanta::"]),
    ("request id (UUID v4, header)", ["request_id", "uuid::", "getrandom", "rand::"]),
    ("CORS layer", ["tower_http::cors"]),
    ("error-shape layer", ["error_shape_layer"]),
    ("security headers", ["security_headers", "forwarded_https", "Surface::of"]),
    ("request limits (URI, headers, body cap)", ["request_limits", "CappedBody",
                                                 "http_body_util::limited", "headers_too_large"]),
    ("timeout layer + tokio timers", ["tower_http::timeout", "tokio::time", "tokio::runtime::time"]),
    ("catch-panic layer", ["catch_panic", "std::panicking::try", "__rust_try"]),
    ("ETag (SHA-256 of the body)", ["platform::http::etag", "sha2::", "hex::"]),
    ("rate limits", ["ratelimit"]),
    ("JWT verification (jsonwebtoken, HMAC)", ["jsonwebtoken", "aws_lc", "ring::"]),
    ("auth: session + user lookup, touch_session", ["identity::sessions", "identity::auth",
                                                    "identity::users", "identity::Identity"]),
    ("SQLite engine (libsqlite3)", ["sqlite3"]),
    ("sqlx-sqlite (worker thread, statement cache, rows)", ["sqlx_sqlite"]),
    ("sqlx-postgres (wire protocol, rows)", ["sqlx_postgres"]),
    ("sqlx pool and core", ["sqlx_core", "sqlx::"]),
    ("sea-orm / sea-query (SQL building, row mapping)", ["sea_orm", "sea_query"]),
    ("JSON (serde_json)", ["serde_json", "serde::", "serde_core"]),
    ("chrono (dates)", ["chrono::"]),
    ("War Room handlers and services", ["warroom::"]),
    ("axum routing and extractors", ["axum::", "matchit", "axum_core"]),
    ("hyper (HTTP/1 parsing and writing)", ["hyper::", "hyper_util", "httparse", "http::header",
                                            "http::"]),
    ("platform, other", ["platform::"]),
    ("tokio runtime, mio", ["tokio::", "mio::", "futures_util", "futures_core"]),
]
GENERIC_SYMBOLS = ("core::", "<core::", "alloc::", "<alloc::", "std::", "<std::", "__rust",
                   "hashbrown", "<hashbrown", "bytes::", "<bytes::", "smallvec", "<smallvec",
                   "[unknown]", "memchr", "<&", "<T as ", "<F as ", "_$LT$")
GENERIC_DSOS = ("libc.so", "libc-", "ld-linux", "libm.so", "libgcc")


def layer_of(sym):
    for name, pats in LAYERS:
        if any(p in sym for p in pats):
            return name
    return None


def samples(path):
    out = subprocess.run(
        ["perf", "script", "-i", path, "--no-inline", "-F", "comm,tid,ip,sym,dso"],
        capture_output=True, text=True, errors="replace",
    ).stdout
    frames = []
    for line in out.splitlines():
        if not line.strip():
            if frames:
                yield frames
            frames = []
            continue
        if line[0] in " \t":
            parts = line.strip().split(None, 1)
            if len(parts) < 2:
                continue
            rest = parts[1]
            dso = ""
            if rest.endswith(")") and " (" in rest:
                rest, dso = rest.rsplit(" (", 1)
                dso = dso[:-1]
            sym = rest.rsplit("+0x", 1)[0]
            frames.append((sym, dso))
    if frames:
        yield frames


def main():
    path = sys.argv[1]
    top = int(sys.argv[sys.argv.index("--top") + 1]) if "--top" in sys.argv else 25
    meta = {}
    side = path[: -len(".data")] + ".json" if path.endswith(".data") else path + ".json"
    if os.path.exists(side):
        with open(side) as f:
            meta = json.load(f)
    per_layer = collections.Counter()
    leaf = collections.Counter()
    total = 0
    for frames in samples(path):
        total += 1
        sym, dso = frames[0]
        leaf[(sym, os.path.basename(dso))] += 1
        if "kernel" in dso:
            call = next((s.split("_sys_", 1)[1] for s, d in frames
                         if "kernel" in d and ("__x64_sys_" in s or "__do_sys_" in s)), None)
            per_layer[f"kernel: {call} system call" if call
                      else "kernel: scheduling, interrupts, faults"] += 1
            continue
        chosen = None
        for s, d in frames:
            if any(g in d for g in GENERIC_DSOS) or s.startswith(GENERIC_SYMBOLS):
                continue
            chosen = layer_of(s)
            if chosen:
                break
        per_layer[chosen or f"other ({sym[:60]})"] += 1
    if total == 0:
        print(f"no samples in {path}")
        return
    us = None
    if meta.get("requests"):
        us = meta["server_cpu_s"] / meta["requests"] * 1e6
    name = os.path.basename(path)
    print(f"#### {name}: {total} samples"
          + (f", {us:.1f} µs of server CPU per request" if us else ""))
    print()
    print("| layer | share of CPU | µs per request |")
    print("|---|---:|---:|")
    # Kernel lines by system call, and unattributed functions, are many and small: those
    # under 1 % are folded into one line each.
    folded = collections.Counter()
    for layer, n in per_layer.most_common():
        kind = "kernel" if layer.startswith("kernel") else "other" if layer.startswith("other (") else None
        if kind and n / total < 0.01:
            folded[kind] += n
            continue
        share = n / total
        print(f"| {layer} | {share:.1%} | " + (f"{share * us:.2f} |" if us else " |"))
    for kind, label in (("kernel", "kernel, other system calls"), ("other", "other, each < 1 %")):
        if folded[kind]:
            share = folded[kind] / total
            print(f"| {label} | {share:.1%} | " + (f"{share * us:.2f} |" if us else " |"))
    print()
    print(f"Hottest functions (self time, top {top}):")
    print()
    print("| self | function | object |")
    print("|---:|---|---|")
    for (sym, dso), n in leaf.most_common(top):
        print(f"| {n / total:.1%} | `{sym[:110]}` | {dso} |")
    print()


if __name__ == "__main__":
    main()
