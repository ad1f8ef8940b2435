#!/usr/bin/env bash
# The HTTP benchmark of issue 13 (docs/performance.md): War Room on the release `basalt`
# binary against a raw axum handler, in one run.
#
#   scripts/bench.sh [--db sqlite|postgres|both] [--duration S] [--only OPS] [--connections N]
#                    [other options of scripts/bench/bench.py: --help]
#
# Builds the release `basalt` binary and the raw-axum baseline (crates/server/examples/
# axum_baseline.rs), installs wrk when it is missing (Debian's package), then runs
# scripts/bench/bench.py: the server pinned to CPU 0 (`taskset`), wrk to CPU 1, 10,000 War Room
# campaigns seeded through the API, each operation of issue 13's table driven with 64
# connections, and a markdown table printed: req/s, req/s per busy server core, p50/p99,
# peak RSS and RSS after 21 sign-ins. On PostgreSQL it makes a fresh `basalt_bench_<random>`
# database and drops it afterwards. A full run (both databases, 10 s per operation) takes
# about four minutes.
#
# Environment (all optional):
#   CARGO_TARGET_DIR   cargo's target directory (default: the workspace's own)
#   BENCH_BASALT       a release `basalt` binary to use instead of building one
#   BENCH_BASELINE     an `axum_baseline` binary to use instead of building one
#   BENCH_JSON_OUT     also copy every figure, as JSON, to this file
#   BENCH_PG_URL       PostgreSQL server for `postgres` (default postgres://postgres@127.0.0.1:5432/postgres);
#                      its user must be allowed to create databases
#
# Not part of CI: timings on a shared machine say little; compare ratios within one run.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

say() { printf '\n--- bench: %s\n' "$*"; }
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"

for arg in "$@"; do
    case "$arg" in
    -h | --help)
        sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
        exec python3 "$root/scripts/bench/bench.py" --help
        ;;
    esac
done

if ! command -v wrk >/dev/null; then
    say "installing wrk"
    if [ "$(id -u)" -eq 0 ]; then
        run apt-get install -y -q wrk >/dev/null
    else
        run sudo apt-get install -y -q wrk >/dev/null
    fi
fi
for tool in taskset python3; do
    command -v "$tool" >/dev/null || {
        echo "bench.sh: $tool is needed" >&2
        exit 2
    }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/basalt-bench.XXXXXX")
status=1
cleanup() {
    if [ "$status" -eq 0 ]; then
        rm -rf "$work"
    else
        echo "bench.sh: failed; server logs and data kept in $work" >&2
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

basalt=$work/basalt
baseline=$work/axum_baseline
if [ -n "${BENCH_BASALT:-}" ]; then
    install -m 755 "$BENCH_BASALT" "$basalt"
else
    BASALT_PROFILE=release build_basalt "$basalt" warroom
fi
if [ -n "${BENCH_BASELINE:-}" ]; then
    install -m 755 "$BENCH_BASELINE" "$baseline"
else
    say "building the raw axum baseline (release)"
    set_target_dir
    run cargo build -q --release -p server --example axum_baseline
    install -m 755 "$CARGO_TARGET_DIR/release/examples/axum_baseline" "$baseline"
fi

say "measuring (logs in $work)"
python3 "$root/scripts/bench/bench.py" --basalt "$basalt" --baseline "$baseline" \
    --work-dir "$work" --pg-url "${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}" \
    --json "$work/bench.json" "$@"
if [ -n "${BENCH_JSON_OUT:-}" ]; then
    cp "$work/bench.json" "$BENCH_JSON_OUT"
fi
status=0
