#!/usr/bin/env bash
# What scripts/schemathesis.sh, scripts/attack.sh and scripts/bench.sh share; they source it. They define `say`.

# Prints a command, then runs it.
run() {
    printf '+ %s\n' "$*"
    "$@"
}

# Sets and exports CARGO_TARGET_DIR: as given, else the workspace's own.
set_target_dir() {
    if [ -z "${CARGO_TARGET_DIR:-}" ]; then
        CARGO_TARGET_DIR=$(cargo metadata --format-version 1 --no-deps |
            python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
    fi
    export CARGO_TARGET_DIR
}

# build_basalt COPY PRODUCT: builds `basalt` ($BASALT_PROFILE: debug, the default, or release)
# into $CARGO_TARGET_DIR (the workspace's own when unset), installs it at COPY, so that a build
# elsewhere into the same target directory cannot swap it mid-run, and fails (2) unless PRODUCT
# (when given) is one `basalt products` lists.
build_basalt() {
    local copy=$1 product=$2 profile=${BASALT_PROFILE:-debug} known
    set_target_dir
    say "building basalt ($profile, target dir $CARGO_TARGET_DIR)"
    if [ "$profile" = release ]; then
        run cargo build -q --release -p server --bin basalt
    else
        run cargo build -q -p server --bin basalt
    fi
    install -m 755 "$CARGO_TARGET_DIR/$profile/basalt" "$copy"
    known=$("$copy" products)
    if [ -n "$product" ] && ! grep -qx "$product" <<<"$known"; then
        echo "unknown product '$product' (basalt products: $(tr '\n' ' ' <<<"$known"))" >&2
        return 2
    fi
}
