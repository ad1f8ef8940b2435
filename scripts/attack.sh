#!/usr/bin/env bash
# The attack probe of issue 12 against one Basalt product.
#
#   scripts/attack.sh PRODUCT [sqlite|postgres]
#
# Builds the `basalt` binary, makes a fresh database (a SQLite file in a new data directory,
# or a new `basalt_attack_<random>` database on PostgreSQL, dropped afterwards), and runs
# scripts/attack/attack.py, which serves PRODUCT on a free loopback port in MOCK mode, replays
# the probe (forged tokens, refresh races, access matrix, malformed input, sign-in guessing
# from many loopback addresses, idle and slow connections, kill -9 under writes), prints a
# table of checks and stops the server. Exits non-zero when a check fails.
#
# Environment (all optional):
#   CARGO_TARGET_DIR      cargo's target directory (default: the workspace's own)
#   BASALT_PROFILE        debug (default) or release
#   ATTACK_PG_URL         PostgreSQL server for `postgres` (default postgres://postgres@127.0.0.1:5432/postgres);
#                         its user must be allowed to create databases
#   ATTACK_ONLY           comma-separated check groups (see scripts/attack/attack.py --help)
#
# Needs python3 (standard library only) and, for `postgres`, psql. The loopback addresses
# 127.0.0.0/8 must all be usable as sources (they are on Linux).
set -euo pipefail

product=${1:?usage: scripts/attack.sh PRODUCT [sqlite|postgres]  (see: basalt products)}
database=${2:-sqlite}
case "$database" in
sqlite | postgres) ;;
*)
    echo "attack.sh: database must be sqlite or postgres, not '$database'" >&2
    exit 2
    ;;
esac

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

say() { printf '\n--- attack(%s, %s): %s\n' "$product" "$database" "$*"; }
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/basalt-attack-$product-$database.XXXXXX")
basalt=$work/basalt
build_basalt "$basalt" "$product"

pg_url=${ATTACK_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
db_name=
status=1
cleanup() {
    if [ -n "$db_name" ]; then
        # The server has stopped; FORCE (PostgreSQL 13+) only for a connection left behind.
        psql -X -q "$pg_url" -c "DROP DATABASE IF EXISTS \"$db_name\"" >/dev/null 2>&1 ||
            psql -X -q "$pg_url" -c "DROP DATABASE IF EXISTS \"$db_name\" WITH (FORCE)" >/dev/null 2>&1 ||
            echo "attack.sh: could not drop database $db_name" >&2
    fi
    if [ "$status" -eq 0 ]; then
        rm -rf "$work"
    else
        echo "attack.sh: failed; server log and data kept in $work" >&2
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

args=(--product "$product" --basalt "$basalt" --data-dir "$work/data" --work-dir "$work")
if [ "$database" = postgres ]; then
    db_name=basalt_attack_$(python3 -c 'import uuid; print(uuid.uuid4().hex[:12])')
    run psql -X -q -v ON_ERROR_STOP=1 "$pg_url" -c "CREATE DATABASE \"$db_name\""
    # The same server and credentials, the new database.
    db_url=$(python3 - "$pg_url" "$db_name" <<'PY'
import sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
print(urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + sys.argv[2], u.query, "")))
PY
)
    args+=(--database-url "$db_url")
fi
if [ -n "${ATTACK_ONLY:-}" ]; then
    args+=(--only "$ATTACK_ONLY")
fi

say "probing (server log: $work/server.log)"
set +e
python3 "$root/scripts/attack/attack.py" "${args[@]}"
rc=$?
set -e
if [ "$rc" -eq 0 ]; then
    status=0
fi
exit "$rc"
