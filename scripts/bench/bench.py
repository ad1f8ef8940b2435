#!/usr/bin/env python3
"""The HTTP benchmark of issue 13 (scripts/bench.sh runs it; see docs/performance.md).

Serves War Room from the release `basalt` binary pinned to one CPU, seeds campaigns through
the API, drives each operation with wrk pinned to another CPU, and measures the server's CPU
time (/proc/PID/stat) and memory (/proc/PID/status) around every run. A raw axum handler
(crates/server/examples/axum_baseline.rs) is measured the same way in the same run: the
machine's limit, so that figures are compared as ratios (the machine is shared and noisy).

Standard library only; needs wrk, taskset and, for PostgreSQL, psql.
"""

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
LUA = os.path.join(HERE, "wrk.lua")
CLK_TCK = os.sysconf("SC_CLK_TCK")

ADMIN_EMAIL = "bench-admin@example.com"

# The issue's table (issue 13, measured on this machine kind, one server core, wrk on the
# other, 64 connections, 10,000 War Room campaigns, SQLite). Peers are not in the repository;
# their figures are kept here as the goals they set. The goals are req/s per busy core:
# ≥ 5 × the better peer for GET by id, ≥ 4 × for the others; health ≥ 0.7 × raw axum.
ISSUE_RAW_AXUM_HEALTH = 230_000  # raw axum on health, the day the peers were measured
PEERS = {  # operation: (PocketBase 0.40, Fastify + better-sqlite3, Basalt on the day)
    "health": (16_200, 73_600, 18_900),
    "get": (3_900, 2_600, 3_600),
    "list1": (1_080, 2_040, 1_660),
    "list400": (820, 1_530, 161),
    "post": (1_910, 2_150, 2_000),
}
GOAL_FACTOR = {"get": 5, "list1": 4, "list400": 4, "post": 4}
GOAL_HEALTH_VS_AXUM = 0.7
GOAL_PEAK_RSS_MB = 40
GOAL_P99_OVER_P50 = 3

OPS = {
    # name: (label, method, path, needs token, body)
    "health": ("`GET /api/v1/health`", "GET", "/api/v1/health", False, None),
    "get": ("`GET /campaigns/:id` (auth)", "GET", "/api/v1/campaigns/", True, None),
    "list1": (
        "`GET /campaigns?page=1&limit=20` with total (auth)",
        "GET",
        "/api/v1/campaigns?page=1&limit=20",
        True,
        None,
    ),
    "list400": (
        "same at page 400",
        "GET",
        "/api/v1/campaigns?page=400&limit=20",
        True,
        None,
    ),
    "post": ("`POST /campaigns` (auth; + audit row)", "POST", "/api/v1/campaigns", True, "post"),
}
ORDER = ["health", "get", "list1", "list400", "post"]

WORDS = (
    "harbor river valley summit prairie coastal metro rural union liberty "
    "future forward together voters families jobs schools health housing climate"
).split()
PLATFORMS = ["facebook", "instagram", "twitter", "tiktok", "google"]


def log(msg):
    print(f"--- bench: {msg}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_ticks(pid):
    """utime + stime of the whole process (every thread), in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # After the command name: state is field 3, utime 14, stime 15 (1-based in proc(5)).
    return int(fields[11]) + int(fields[12])


def status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def campaign_body(i, rng):
    start = f"2026-{rng.randint(1, 6):02d}-{rng.randint(1, 28):02d}"
    end = f"2027-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    lo = rng.randint(18, 40)
    return {
        "name": f"Campaign {i:05d} {rng.choice(WORDS).title()} {rng.choice(WORDS).title()}",
        "description": " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 25))),
        "startDate": start,
        "endDate": end,
        "budget": rng.randint(100, 1_000_000),
        "targetAudience": {
            "demographics": {
                "ageRange": {"min": lo, "max": lo + rng.randint(5, 50)},
                "gender": ["all"],
                "income": "middle",
                "education": "any",
            },
            "interests": rng.sample(WORDS, 3),
            "locations": [f"District {rng.randint(1, 40)}"],
            "platforms": rng.sample(PLATFORMS, rng.randint(1, 3)),
        },
        "keywords": [
            {"keyword": w, "weight": round(rng.uniform(0.5, 3), 2)} for w in rng.sample(WORDS, 3)
        ],
    }


class Api:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, port, token=None, source="127.0.0.1"):
        self.port, self.token, self.source = port, token, source
        self.conn = None

    def call(self, method, path, body=None):
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(
                    "127.0.0.1", self.port, timeout=60, source_address=(self.source, 0)
                )
            headers = {"Content-Type": "application/json"}
            if self.token:
                headers["Authorization"] = f"Bearer {self.token}"
            data = json.dumps(body).encode() if body is not None else None
            try:
                self.conn.request(method, path, body=data, headers=headers)
                res = self.conn.getresponse()
                raw = res.read()
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
                continue
            return res.status, (json.loads(raw) if raw else None)
        raise RuntimeError("unreachable")


class Server:
    def __init__(self, argv, env, log_path, cpu):
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            ["taskset", "-c", str(cpu), *argv],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        # taskset execs the program: the child's pid is the server's.
        self.pid = self.proc.pid

    def wait_ready(self, port, path, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"server exited with {self.proc.returncode}; see {self.log.name}")
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", path)
                if c.getresponse().status == 200:
                    c.close()
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"server not ready after {timeout}s; see {self.log.name}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def run_wrk(args, url, env_extra, duration):
    """Runs wrk on the client CPU; its BENCH_RESULT and the CPU seconds wrk itself used."""
    env = dict(os.environ, **env_extra)
    cmd = [
        "taskset", "-c", str(args.client_cpu), "wrk",
        f"-t{args.threads}", f"-c{args.connections}", f"-d{duration}s",
        "--timeout", "10s", "--latency", "-s", LUA, url,
    ]
    before = os.times()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    after = os.times()
    client_cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    if out.returncode != 0:
        raise SystemExit(f"wrk failed ({out.returncode}): {out.stderr or out.stdout}")
    line = next((l for l in out.stdout.splitlines() if l.startswith("BENCH_RESULT ")), None)
    if line is None:
        raise SystemExit(f"wrk printed no result:\n{out.stdout}\n{out.stderr}")
    return json.loads(line.split(" ", 1)[1]), client_cpu


def measure(args, pid, url, env_extra, profile_as=None):
    """One operation: a warm-up, then a timed run with the server's CPU time around it; with
    --perf-dir, `perf record` samples the server meanwhile (into PROFILE_AS.data)."""
    if args.warmup > 0:
        run_wrk(args, url, env_extra, args.warmup)
    perf = None
    if args.perf_dir and profile_as:
        perf = subprocess.Popen(
            ["perf", "record", "-q", "-e", "cpu-clock", "-F", str(args.perf_freq),
             "--call-graph", "dwarf,32768", "-p", str(pid),
             "-o", os.path.join(args.perf_dir, f"{profile_as}.data")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
    t0, c0 = time.monotonic(), cpu_ticks(pid)
    res, client_cpu = run_wrk(args, url, env_extra, args.duration)
    wall, cpu = time.monotonic() - t0, (cpu_ticks(pid) - c0) / CLK_TCK
    if perf:
        perf.send_signal(signal.SIGINT)
        perf.wait()
        with open(os.path.join(args.perf_dir, f"{profile_as}.json"), "w") as f:
            json.dump({"requests": res["requests"], "server_cpu_s": cpu}, f)
    secs = res["duration_us"] / 1e6
    n = res["requests"]
    lat = res["latency_us"]
    errors = sum(res["errors"].values())
    return {
        "requests": n,
        "seconds": secs,
        "rps": n / secs,
        "server_cpu_s": cpu,
        "busy_cores": cpu / wall,
        "rps_per_core": n / cpu if cpu > 0 else float("nan"),
        "client_busy_cores": client_cpu / wall,
        "p50_ms": lat["p50"] / 1000,
        "p90_ms": lat["p90"] / 1000,
        "p99_ms": lat["p99"] / 1000,
        "max_ms": lat["max"] / 1000,
        "p99_over_p50": lat["p99"] / lat["p50"] if lat["p50"] else float("nan"),
        "errors": errors,
        "error_detail": res["errors"],
        "rss_mb": status_kb(pid, "VmRSS") / 1024,
        "hwm_mb": status_kb(pid, "VmHWM") / 1024,
    }


def baseline(args, work):
    port = free_port()
    srv = Server([args.baseline, f"127.0.0.1:{port}"], dict(os.environ),
                 os.path.join(work, "axum.log"), args.server_cpu)
    try:
        srv.wait_ready(port, "/")
        idle = status_kb(srv.pid, "VmRSS") / 1024
        log("raw axum: GET / (fixed JSON)")
        m = measure(args, srv.pid, f"http://127.0.0.1:{port}/", {}, "axum-health")
        m["idle_rss_mb"] = idle
        return m
    finally:
        srv.stop()


def psql(url, sql):
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", sql],
                   check=True, stdout=subprocess.DEVNULL)


def seed(port, token, count, concurrency, rng_seed):
    """`count` campaigns through the API, `concurrency` connections at once; their ids."""
    ids, failures, lock = [], [], threading.Lock()
    next_i = iter(range(count))

    def worker(k):
        rng = random.Random(rng_seed * 1000 + k)
        api = Api(port, token)
        while True:
            with lock:
                i = next(next_i, None)
            if i is None:
                return
            status, body = api.call("POST", "/api/v1/campaigns", campaign_body(i, rng))
            with lock:
                if status == 201:
                    ids.append(body["id"])
                else:
                    failures.append((status, body))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise SystemExit(f"seeding: {len(failures)} campaigns refused, e.g. {failures[0]}")
    return ids


def sign_ins(port, password, n):
    """`n` password sign-ins at once (as a burst of users arriving would); their statuses
    (a refusal is a figure too: a timeout says the hashing queued past the request timeout)
    and how long the burst took."""
    barrier = threading.Barrier(n)
    statuses = []

    def one():
        api = Api(port)
        barrier.wait()
        status, _ = api.call("POST", "/api/v1/auth/login",
                             {"email": ADMIN_EMAIL, "password": password})
        statuses.append(status)

    threads = [threading.Thread(target=one) for _ in range(n)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses, time.monotonic() - t0


def product_run(args, work, db):
    data = os.path.join(work, f"data-{db}")
    os.makedirs(data, exist_ok=True)
    env = {k: v for k, v in os.environ.items()
           if not (k.endswith("_DATABASE_URL") or k in ("DATABASE_URL", "REDIS_URL"))}
    env.update(BASALT_DATA_DIR=data, DATA_MODE="MOCK")
    db_name = None
    if db == "postgres":
        db_name = "basalt_bench_" + uuid.uuid4().hex[:12]
        psql(args.pg_url, f'CREATE DATABASE "{db_name}"')
        u = urllib.parse.urlsplit(args.pg_url)
        env["DATABASE_URL"] = urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + db_name, u.query, ""))
    srv = None
    try:
        password = "bench-" + uuid.uuid4().hex
        basalt = args.basalt
        subprocess.run([basalt, "user", "create", "warroom", "--email", ADMIN_EMAIL,
                        f"--password={password}", "--role", "admin", "--name", "Bench Admin"],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        token = subprocess.run([basalt, "user", "token", "warroom", "--email", ADMIN_EMAIL],
                               env=env, check=True, capture_output=True, text=True).stdout.strip()
        port = free_port()
        srv = Server([basalt, "serve", "warroom", "--listen", f"127.0.0.1:{port}"], env,
                     os.path.join(work, f"server-{db}.log"), args.server_cpu)
        srv.wait_ready(port, "/api/v1/health")
        time.sleep(1)
        result = {"idle_rss_mb": status_kb(srv.pid, "VmRSS") / 1024, "ops": {}}

        log(f"{db}: seeding {args.campaigns} campaigns ({args.seed_concurrency} connections)")
        t0 = time.monotonic()
        ids = seed(port, token, args.campaigns, args.seed_concurrency, 13)
        secs = time.monotonic() - t0
        result["seed_rps"] = len(ids) / secs
        result["after_seed_rss_mb"] = status_kb(srv.pid, "VmRSS") / 1024
        log(f"{db}: seeded in {secs:.1f}s ({len(ids) / secs:.0f}/s)")
        ids_file = os.path.join(work, f"ids-{db}.txt")
        with open(ids_file, "w") as f:
            f.write("\n".join(ids) + "\n")
        body_file = os.path.join(work, "post.json")
        with open(body_file, "w") as f:
            json.dump(campaign_body(99_999, random.Random(7)), f)

        for op in [o for o in ORDER if o in args.only]:
            label, method, path, auth, body = OPS[op]
            extra = {"BENCH_METHOD": method, "BENCH_TOKEN": token if auth else ""}
            if body:
                extra["BENCH_BODY_FILE"] = body_file
            url = f"http://127.0.0.1:{port}{path}"
            if op == "get":
                extra["BENCH_IDS_FILE"] = ids_file
                extra["BENCH_PATH_PREFIX"] = path
                url = f"http://127.0.0.1:{port}/"
            log(f"{db}: {method} {path}{'<id>' if op == 'get' else ''}")
            result["ops"][op] = measure(args, srv.pid, url, extra, f"{db}-{op}")
        result["peak_rss_mb"] = status_kb(srv.pid, "VmHWM") / 1024

        if args.signins > 0:
            log(f"{db}: {args.signins} sign-ins at once")
            statuses, secs = sign_ins(port, password, args.signins)
            result["signins_seconds"] = secs
            result["signins_refused"] = sorted(s for s in statuses if s != 200)
            time.sleep(args.settle)
            result["signins_rss_mb"] = status_kb(srv.pid, "VmRSS") / 1024
            result["signins_hwm_mb"] = status_kb(srv.pid, "VmHWM") / 1024
        return result
    finally:
        if srv:
            srv.stop()
        if db_name:
            try:
                psql(args.pg_url, f'DROP DATABASE IF EXISTS "{db_name}"')
            except subprocess.CalledProcessError:
                psql(args.pg_url, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


def fmt(x, digits=0):
    if x != x:  # NaN
        return "–"
    return f"{x:,.{digits}f}"


def table(db, res, axum):
    ax = axum["rps_per_core"] if axum else float("nan")
    lines = [
        f"### War Room on {db}: {res['campaigns']:,} campaigns, {res['connections']} connections, "
        f"{res['duration']} s per operation",
        "",
        "| operation | req/s | server cores busy | req/s per busy core | × raw axum (per core) "
        "| goal (req/s per core; issue 13) | goal × raw axum | meets | p50 ms | p99 ms | p99/p50 "
        "| errors | wrk cores busy |",
        "|---|---:|---:|---:|---:|---:|---:|:-:|---:|---:|---:|---:|---:|",
    ]
    if axum:
        lines.append(
            f"| raw axum, fixed JSON (same pinning, same wrk) | {fmt(axum['rps'])} "
            f"| {fmt(axum['busy_cores'], 2)} | {fmt(ax)} | 1.00 | | | "
            f"| {fmt(axum['p50_ms'], 2)} | {fmt(axum['p99_ms'], 2)} "
            f"| {fmt(axum['p99_over_p50'], 1)} | {axum['errors']} "
            f"| {fmt(axum['client_busy_cores'], 2)} |"
        )
    ratios = []
    for op in ORDER:
        m = res["ops"].get(op)
        if not m:
            continue
        ratios.append(m["p99_over_p50"])
        vs = m["rps_per_core"] / ax if axum else float("nan")
        if op == "health":
            goal_abs = GOAL_HEALTH_VS_AXUM * ax if axum else float("nan")
            goal_ratio = GOAL_HEALTH_VS_AXUM
            goal_txt = f"≥ 0.7 × raw axum = {fmt(goal_abs)}"
        else:
            goal_abs = GOAL_FACTOR[op] * max(PEERS[op][:2])
            goal_ratio = goal_abs / ISSUE_RAW_AXUM_HEALTH
            goal_txt = f"≥ {GOAL_FACTOR[op]} × {fmt(max(PEERS[op][:2]))} = {fmt(goal_abs)}"
        meets = "–" if vs != vs else ("yes" if vs >= goal_ratio else "no")
        lines.append(
            f"| {OPS[op][0]} | {fmt(m['rps'])} | {fmt(m['busy_cores'], 2)} "
            f"| {fmt(m['rps_per_core'])} | {fmt(vs, 3)} | {goal_txt} | {fmt(goal_ratio, 3)} | {meets} "
            f"| {fmt(m['p50_ms'], 2)} | {fmt(m['p99_ms'], 2)} | {fmt(m['p99_over_p50'], 1)} "
            f"| {m['errors']} | {fmt(m['client_busy_cores'], 2)} |"
        )
    lines.append("")
    mem = [
        f"- peak RSS under this load (VmHWM): **{fmt(res.get('peak_rss_mb', float('nan')), 1)} MB** "
        f"(idle after start {fmt(res['idle_rss_mb'], 1)} MB, after seeding "
        f"{fmt(res.get('after_seed_rss_mb', float('nan')), 1)} MB; goal ≤ {GOAL_PEAK_RSS_MB} MB; "
        f"raw axum peak {fmt(axum['hwm_mb'], 1) if axum else '–'} MB)",
    ]
    if "signins_rss_mb" in res:
        mem.append(
            f"- after {res['signins']} sign-ins at once: RSS **{fmt(res['signins_rss_mb'], 1)} MB** "
            f"{res['settle']} s later (peak {fmt(res['signins_hwm_mb'], 1)} MB); the burst took "
            f"{res['signins_seconds']:.1f} s"
            + (f", **{len(res['signins_refused'])} refused** (statuses "
               f"{', '.join(map(str, sorted(set(res['signins_refused']))))})"
               if res["signins_refused"] else ", all 200")
        )
    if ratios:
        mem.append(
            f"- p99/p50 under load: {fmt(min(ratios), 1)}–{fmt(max(ratios), 1)} "
            f"(goal ≤ {GOAL_P99_OVER_P50})"
        )
    mem.append(f"- seeding through the API: {fmt(res['seed_rps'])} campaigns/s")
    return "\n".join(lines + mem)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--basalt", required=True, help="the release basalt binary")
    p.add_argument("--baseline", help="the axum_baseline example binary (none: no baseline)")
    p.add_argument("--work-dir", required=True)
    p.add_argument("--db", choices=["sqlite", "postgres", "both"], default="sqlite")
    p.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--duration", type=int, default=10, help="seconds per operation (default 10)")
    p.add_argument("--warmup", type=int, default=2, help="seconds of warm-up before each (default 2)")
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--threads", type=int, default=1, help="wrk threads (default 1: wrk has one CPU)")
    p.add_argument("--only", default=",".join(ORDER),
                   help=f"comma-separated operations, of: {','.join(ORDER)} (default all)")
    p.add_argument("--campaigns", type=int, default=10_000)
    p.add_argument("--seed-concurrency", type=int, default=16)
    p.add_argument("--signins", type=int, default=21, help="sign-ins at once after the load (0: none)")
    p.add_argument("--settle", type=int, default=3, help="seconds before RSS is read after them")
    p.add_argument("--server-cpu", type=int, default=0)
    p.add_argument("--client-cpu", type=int, default=1)
    p.add_argument("--json", help="also write every figure to this file")
    p.add_argument("--perf-dir", help="profile the server with `perf record` during each measured "
                   "run, into DIR/<db>-<op>.data, and summarise each (scripts/bench/perf_summary.py); "
                   "figures of such a run are disturbed by the profiler")
    p.add_argument("--perf-freq", type=int, default=499, help="perf samples per second (default 499)")
    args = p.parse_args()
    args.only = [o.strip() for o in args.only.split(",") if o.strip()]
    unknown = [o for o in args.only if o not in OPS]
    if unknown:
        p.error(f"unknown operations {unknown} (known: {','.join(ORDER)})")
    if not shutil.which("wrk"):
        p.error("wrk not found (scripts/bench.sh installs it)")
    if args.connections > 250:
        p.error("at most 250 connections: the server caps connections per client address at 256")

    work = args.work_dir
    os.makedirs(work, exist_ok=True)
    if args.perf_dir:
        if not shutil.which("perf"):
            p.error("--perf-dir needs perf (Debian: linux-perf)")
        os.makedirs(args.perf_dir, exist_ok=True)
    started = time.time()
    load_before = os.getloadavg()[0]
    axum = baseline(args, work) if args.baseline else None
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    results = {}
    for db in dbs:
        r = product_run(args, work, db)
        r.update(campaigns=args.campaigns, connections=args.connections, duration=args.duration,
                 signins=args.signins, settle=args.settle)
        results[db] = r
        # Each database's table as soon as it is measured (a later failure keeps it).
        print()
        print(table(db, r, axum), flush=True)
    out = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
        "host": os.uname().nodename,
        "cpus": os.cpu_count(),
        "load_avg_1min": [load_before, os.getloadavg()[0]],
        "axum": axum,
        "results": results,
    }
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    print()
    print(f"## Benchmark, {out['when']} (server on CPU {args.server_cpu}, wrk on CPU "
          f"{args.client_cpu}, {args.threads} wrk thread(s); 1-minute load average "
          f"{load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end on "
          f"{os.cpu_count()} CPUs)")
    for db in dbs:
        print()
        print(table(db, results[db], axum))
    print()
    if args.perf_dir:
        summary = os.path.join(HERE, "perf_summary.py")
        for name in sorted(f for f in os.listdir(args.perf_dir) if f.endswith(".data")):
            data = os.path.join(args.perf_dir, name)
            out_path = data[: -len(".data")] + ".md"
            log(f"summarising {name} into {out_path}")
            with open(out_path, "w") as f:
                subprocess.run([sys.executable, summary, data], stdout=f, check=False)
        print(f"\nProfiles and their summaries (*.md) are in {args.perf_dir}; "
              "the figures above are disturbed by the profiler.")
    print("req/s per busy core = requests ÷ the server's CPU seconds (utime+stime of every "
          "thread) over the run. Goals from issue 13: peers measured there on this machine kind "
          f"(raw axum then {ISSUE_RAW_AXUM_HEALTH:,}/s on health); 'meets' compares ratios to raw "
          "axum, since the machine's speed varies from day to day.")


if __name__ == "__main__":
    main()
