#!/usr/bin/env bash
# Schemathesis against one Basalt product's OpenAPI document.
#
#   scripts/schemathesis.sh PRODUCT
#
# Builds the `basalt` binary, serves PRODUCT in MOCK mode on a free port with a fresh SQLite
# data directory, creates an admin, signs in, and runs Schemathesis (every default check) with
# that admin's Bearer token. Exits non-zero on any Schemathesis failure. ./schemathesis.toml,
# when the repository has one, is passed to Schemathesis as its configuration file.
#
# Environment (all optional):
#   CARGO_TARGET_DIR            cargo's target directory (default: the workspace's own)
#   BASALT_PROFILE              debug (default) or release
#   SCHEMATHESIS_VERSION        PyPI version to use (default below)
#   SCHEMATHESIS_VENV           where the virtualenv lives (default: ~/.cache/basalt/...)
#   SCHEMATHESIS_MAX_EXAMPLES   test cases per operation (default 50)
#   SCHEMATHESIS_SEED           fixed seed, to reproduce a run
#   SCHEMATHESIS_WORKERS        concurrent workers (default 1)
#   SCHEMATHESIS_CONFIG         configuration file (default ./schemathesis.toml if present;
#                               `none` runs with Schemathesis's own defaults only)
#
# Nothing here is specific to a product: the product must be one `basalt products` lists; the
# admin signs in through `basalt user token`; what an operation changes for every later request
# is read from the document itself (the `x-basalt-effect` extension, see platform::docs):
# operations that end sessions or switch the data mode are each fuzzed afterwards, alone, with a
# session of their own, and endless streams (SSE) are left out (they are tested over sockets).
set -euo pipefail

product=${1:?usage: scripts/schemathesis.sh PRODUCT  (see: basalt products)}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

say() { printf '\n--- schemathesis(%s): %s\n' "$product" "$*"; }
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"

version=${SCHEMATHESIS_VERSION:-4.32.5}
max_examples=${SCHEMATHESIS_MAX_EXAMPLES:-50}
workers=${SCHEMATHESIS_WORKERS:-1}
venv=${SCHEMATHESIS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/basalt/schemathesis-$version}

# 1. The binary, a copy of it for this run.
basalt=$(mktemp "${TMPDIR:-/tmp}/basalt-schemathesis-bin.XXXXXX")
bin_copy=$basalt
build_basalt "$basalt" "$product"

# 2. Schemathesis, installed once per version into a virtualenv that later runs reuse.
if [ "$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null)" != "$version" ]; then
    say "installing schemathesis==$version into $venv"
    rm -rf "$venv"
    run python3 -m venv "$venv"
    run "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
fi
st=("$venv/bin/schemathesis")
# Settings kept in the repository (per-operation check options) apply when present; Schemathesis
# itself runs in the work directory below, so that its caches stay out of the tree.
config=${SCHEMATHESIS_CONFIG:-$root/schemathesis.toml}
if [ "$config" != none ] && [ -f "$config" ]; then
    st+=(--config-file "$config")
fi

# 3. The server: a fresh data directory, no configuration file, no database URL from outside.
work=$(mktemp -d "${TMPDIR:-/tmp}/basalt-schemathesis-$product.XXXXXX")
data_dir=$work/data
log=$work/server.log
upper=$(printf '%s' "$product" | tr '[:lower:]' '[:upper:]')
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
server_pid=
status=1
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -f "$bin_copy"
    if [ "$status" -eq 0 ]; then
        rm -rf "$work"
    else
        echo "schemathesis.sh: failed; server log and data kept in $work" >&2
        if [ -f "$log" ]; then
            echo "--- warnings and errors the server logged (last 40; the full log is $log)" >&2
            grep -E '"level":"(WARN|ERROR)"' "$log" | tail -n 40 >&2 || echo "(none)" >&2
        fi
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Anything in the caller's environment that would point the product elsewhere is dropped.
clean_env=(env -u BASALT_DATA_DIR -u DATABASE_URL -u REDIS_URL -u SMTP_URL)
for var in DATABASE_URL JWT_SECRET LISTEN PUBLIC_URL APP_URL CORS_ORIGINS TRUSTED_PROXIES; do
    clean_env+=(-u "${upper}_$var")
done
clean_env+=(DATA_MODE=MOCK)

say "serving $product on $base (data dir $data_dir, log $log)"
printf '+ DATA_MODE=MOCK %s serve %s --listen 127.0.0.1:%s --data-dir %s &\n' "$basalt" "$product" "$port" "$data_dir"
# From inside the work directory, so that no ./basalt.toml is read.
(cd "$work" && exec "${clean_env[@]}" "$basalt" serve "$product" --listen "127.0.0.1:$port" --data-dir "$data_dir") >"$log" 2>&1 &
server_pid=$!

health=/readyz
for _ in $(seq 1 120); do
    if curl -fsS "$base$health" >/dev/null 2>&1; then
        break
    fi
    kill -0 "$server_pid" 2>/dev/null || {
        echo "the server exited before answering $health" >&2
        exit 1
    }
    sleep 0.5
done
run curl -fsS -o /dev/null -w '%{http_code}\n' "$base$health"

# 4. An admin, signed in once per pass below.
say "creating an admin and signing in"
email=admin@example.com
password=$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')
printf '+ %s user create %s --email %s --password <generated> --role admin --data-dir %s\n' \
    "$basalt" "$product" "$email" "$data_dir"
(cd "$work" && "${clean_env[@]}" "$basalt" user create "$product" --email "$email" \
    --password="$password" --role admin --data-dir "$data_dir")

login() {
    (cd "$work" && "${clean_env[@]}" "$basalt" user token "$product" --email "$email" --data-dir "$data_dir")
}

# What the document says about its operations: those to fuzz alone, those to leave out, and
# the cookie that carries the session when the product documents one (Crenoir X MAP).
curl -fsS "$base/openapi.json" >"$work/openapi.json"
read_doc() { # WHAT
    python3 - "$work/openapi.json" "$1" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
what = sys.argv[2]
if what == "cookie":
    for scheme in doc.get("components", {}).get("securitySchemes", {}).values():
        if scheme.get("type") == "apiKey" and scheme.get("in") == "cookie":
            print(scheme["name"])
            break
    sys.exit(0)
wanted = {"alone": ("ends-session", "switches-data-mode"), "skip": ("endless-stream",)}[what]
for path, item in doc["paths"].items():
    for method, op in item.items():
        if isinstance(op, dict) and op.get("x-basalt-effect") in wanted:
            print(f"{method.upper()} {path}")
PY
}
mapfile -t run_alone < <(read_doc alone)
mapfile -t skip < <(read_doc skip)
cookie=$(read_doc cookie)

# Operations that change what every later request sees (run_alone, from the document) are
# fuzzed alone, each with a session of its own, after the main pass, so that the main pass
# keeps a working token and MOCK mode.
printf '+ %s user token %s --email %s  (%d sessions)\n' "$basalt" "$product" "$email" $((${#run_alone[@]} + 1))
token=$(login)
alone_tokens=()
for _ in "${run_alone[@]}"; do
    alone_tokens+=("$(login)")
done

# 5. Schemathesis.
common=(--max-examples "$max_examples" --workers "$workers")
if [ -n "${SCHEMATHESIS_SEED:-}" ]; then
    common+=(--seed "$SCHEMATHESIS_SEED")
fi
failed=0
schemathesis() { # TOKEN-LABEL TOKEN ARGS...
    local label=$1 tok=$2
    shift 2
    if [ -n "$cookie" ]; then
        # The product documents its session as a cookie (security scheme `cookie`, Crenoir X
        # MAP); Schemathesis sends it (and leaves it out where it probes missing credentials)
        # from an `[auth.openapi.cookie]` block in a per-pass copy of the settings.
        local cfg=$work/schemathesis-$label.toml
        { [ "$config" != none ] && [ -f "$config" ] && cat "$config"; printf '\n[auth.openapi.cookie]\napi_key = "%s"\n' "$tok"; } >"$cfg"
        printf '+ %s --config-file <settings + [auth.openapi.cookie] api_key = <%s>> run %s' "$venv/bin/schemathesis" "$label" "$base/openapi.json"
        printf ' %q' "$@"
        echo
        (cd "$work" && "$venv/bin/schemathesis" --config-file "$cfg" run "$base/openapi.json" "$@") || failed=1
        return
    fi
    printf '+ %s run %s --header "Authorization: Bearer <%s>"' "${st[*]}" "$base/openapi.json" "$label"
    printf ' %q' "$@"
    echo
    (cd "$work" && "${st[@]}" run "$base/openapi.json" --header "Authorization: Bearer $tok" "$@") || failed=1
}

excludes=()
for op in "${run_alone[@]}" "${skip[@]}"; do
    excludes+=(--exclude-name "$op")
done
say "every operation but: ${run_alone[*]} ${skip[*]}"
schemathesis "admin token" "$token" "${common[@]}" "${excludes[@]}"
# The main pass must leave the admin's session and MOCK mode as they were.
if ! mode=$(curl -fsS -H "Authorization: Bearer $token" "$base/admin/api/data-mode"); then
    echo "schemathesis.sh: the admin's session was revoked during the run, so later requests were" >&2
    echo "answered 401 and tested little: mark the operation that revoked it" >&2
    echo "x-basalt-effect = ends-session" >&2
    failed=1
elif ! grep -q '"dataMode":"MOCK"' <<<"$mode"; then
    echo "schemathesis.sh: the server left MOCK mode during the run: mark the operation that" >&2
    echo "switched it x-basalt-effect = switches-data-mode" >&2
    failed=1
fi

for i in "${!run_alone[@]}"; do
    op=${run_alone[$i]}
    say "'$op' alone, with a session of its own"
    schemathesis "admin token $((i + 2))" "${alone_tokens[$i]}" "${common[@]}" --include-name "$op"
done

if [ "$failed" -ne 0 ]; then
    say "FAILED (each failure is printed above with a curl command that reproduces it)"
    exit 1
fi
say "passed"
status=0
