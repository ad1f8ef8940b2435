#!/usr/bin/env bash
# Checks every product's OpenAPI document the way a frontend developer uses it.
#
#   scripts/openapi-check.sh [PRODUCT...]      (default: every product `basalt products` lists)
#
# For each product: dumps its document (`basalt openapi PRODUCT`), validates it with
# openapi-spec-validator and with `redocly lint` (recommended rules, scripts/openapi-check/
# redocly.yaml; zero errors), generates a TypeScript client with openapi-typescript; then
# type-checks every generated client together with the product's small typed program
# (scripts/openapi-check/src/PRODUCT.ts, openapi-fetch) under `tsc --strict`, checks that the types
# `basalt gen types PRODUCT` prints are the same types (under `tsc --strict` too), and runs each
# program against the product served in MOCK mode with a fresh data directory and an admin made
# by `basalt user create`. Exits non-zero on the first failure.
#
# Environment (all optional):
#   CARGO_TARGET_DIR         cargo's target directory (default: the workspace's own)
#   BASALT_PROFILE           debug (default) or release
#   OPENAPI_VALIDATOR_VENV   where openapi-spec-validator's virtualenv lives (default under
#                            ~/.cache/basalt/)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

say() { printf '\n--- openapi-check: %s\n' "$*"; }
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"

validator_version=0.7.2
venv=${OPENAPI_VALIDATOR_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/basalt/openapi-spec-validator-$validator_version}
npm_dir=$root/scripts/openapi-check

work=$(mktemp -d "${TMPDIR:-/tmp}/basalt-openapi-check.XXXXXX")
server_pid=
status=1
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [ "$status" -eq 0 ]; then
        rm -rf "$work"
    else
        echo "openapi-check.sh: failed; documents, clients and server logs kept in $work" >&2
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1. The binary, a copy of it for this run; the products to check.
basalt=$work/basalt
build_basalt "$basalt" "${1:-}"
if [ $# -gt 0 ]; then
    products=("$@")
else
    mapfile -t products < <("$basalt" products)
fi
for product in "${products[@]}"; do
    grep -qx "$product" < <("$basalt" products) || {
        echo "unknown product '$product' (basalt products: $("$basalt" products | tr '\n' ' '))" >&2
        exit 2
    }
done

# 2. The tools: openapi-spec-validator in a virtualenv kept between runs; the npm packages at
# the versions package-lock.json pins.
if [ "$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("openapi-spec-validator"))' 2>/dev/null)" != "$validator_version" ]; then
    say "installing openapi-spec-validator==$validator_version into $venv"
    rm -rf "$venv"
    run python3 -m venv "$venv"
    run "$venv/bin/pip" install --quiet --disable-pip-version-check "openapi-spec-validator==$validator_version"
fi
say "installing the npm packages (npm ci in scripts/openapi-check)"
(cd "$npm_dir" && run npm ci --no-audit --no-fund --loglevel=error)
bin=$npm_dir/node_modules/.bin

# 3. Each document: validated twice, then a TypeScript client of it.
rm -rf "$npm_dir/generated" "$npm_dir/dist"
mkdir -p "$npm_dir/generated"
for product in "${products[@]}"; do
    doc=$work/$product.json
    say "$product: the document"
    printf '+ %s openapi %s > %s\n' "$basalt" "$product" "$doc"
    "$basalt" openapi "$product" >"$doc"
    run "$venv/bin/openapi-spec-validator" "$doc"
    (cd "$npm_dir" && run "$bin/redocly" lint --config redocly.yaml --format stylish "$doc")
    (cd "$npm_dir" && run "$bin/openapi-typescript" "$doc" -o "generated/$product.d.ts" --silent)
done

# 4. The clients and the programs that use them, under tsc --strict (tsconfig.json).
say "tsc --strict: the generated clients and the programs"
# A configuration of this run's products only (generated/ is not kept in the repository).
{
    printf '{ "extends": "../tsconfig.json", "compilerOptions": { "outDir": "../dist" },\n  "include": [], "files": ['
    sep=
    for product in "${products[@]}"; do
        printf '%s"../src/%s.ts", "%s.d.ts"' "$sep" "$product" "$product"
        sep=', '
    done
    printf '] }\n'
} >"$npm_dir/generated/tsconfig.json"
(cd "$npm_dir" && run "$bin/tsc" -p generated/tsconfig.json)

# 4b. The types `basalt gen types` prints (the npm-free way to a typed client), under the same
# tsc --strict: each must be the very types openapi-typescript generated (mutually assignable,
# path by path, operation by operation, schema by schema), so the programs compile against
# either. A difference fails with the names of the paths, operations or schemas that differ.
say "tsc --strict: \`basalt gen types\` against openapi-typescript's"
files=
for product in "${products[@]}"; do
    printf '+ %s gen types %s > generated/%s.basalt.d.ts\n' "$basalt" "$product" "$product"
    "$basalt" gen types "$product" >"$npm_dir/generated/$product.basalt.d.ts"
    cat >"$npm_dir/generated/$product.same.ts" <<EOF
import type * as npm from "./$product.js";
import type * as basalt from "./$product.basalt.js";
type Same<X, Y> = [X] extends [Y] ? ([Y] extends [X] ? true : false) : false;
type Differs<A, B> = {
  [K in keyof A | keyof B]: K extends keyof A & keyof B ? (Same<A[K], B[K]> extends true ? never : K) : K;
}[keyof A | keyof B];
type None<T extends never> = T;
export type Paths = None<Differs<npm.paths, basalt.paths>>;
export type Operations = None<Differs<npm.operations, basalt.operations>>;
export type Schemas = None<Differs<npm.components["schemas"], basalt.components["schemas"]>>;
EOF
    files+="${files:+, }\"$product.basalt.d.ts\", \"$product.same.ts\""
done
printf '{ "extends": "../tsconfig.json", "compilerOptions": { "noEmit": true },\n  "include": [], "files": [%s] }\n' \
    "$files" >"$npm_dir/generated/tsconfig.basalt.json"
(cd "$npm_dir" && run "$bin/tsc" -p generated/tsconfig.basalt.json)

# 5. Each program against its product, served in MOCK mode with a fresh data directory.
# Anything in the caller's environment that would point a product elsewhere is dropped.
clean_env=(env -u BASALT_DATA_DIR -u DATABASE_URL -u REDIS_URL -u SMTP_URL)
for product in "${products[@]}"; do
    upper=$(printf '%s' "$product" | tr '[:lower:]' '[:upper:]')
    product_env=("${clean_env[@]}")
    for var in DATABASE_URL JWT_SECRET LISTEN PUBLIC_URL APP_URL CORS_ORIGINS TRUSTED_PROXIES; do
        product_env+=(-u "${upper}_$var")
    done
    product_env+=(DATA_MODE=MOCK)
    dir=$work/$product
    mkdir -p "$dir"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    base=http://127.0.0.1:$port
    say "$product: the typed client against $base"
    (cd "$dir" && exec "${product_env[@]}" "$basalt" serve "$product" --listen "127.0.0.1:$port" --data-dir "$dir/data") >"$dir/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 120); do
        curl -fsS "$base/readyz" >/dev/null 2>&1 && break
        kill -0 "$server_pid" 2>/dev/null || {
            echo "$product exited before answering /readyz; see $dir/server.log" >&2
            exit 1
        }
        sleep 0.25
    done
    email=admin@example.com
    password=$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')
    (cd "$dir" && "${product_env[@]}" "$basalt" user create "$product" --email "$email" \
        --password="$password" --role admin --data-dir "$dir/data" >/dev/null)
    admin_token=$(cd "$dir" && "${product_env[@]}" "$basalt" user token "$product" --email "$email" --data-dir "$dir/data")
    (cd "$npm_dir" && BASE_URL=$base EMAIL=$email PASSWORD=$password ADMIN_TOKEN=$admin_token \
        run node "dist/$product.js")
    kill "$server_pid"
    wait "$server_pid" 2>/dev/null || true
    server_pid=
done

status=0
say "passed: ${products[*]}"
