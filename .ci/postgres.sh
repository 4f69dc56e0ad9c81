# PostgreSQL for the shared-storage tuning tests. Source it: `source .ci/postgres.sh || true`.
#
# Installs PostgreSQL from Debian packages when its server binaries are missing, starts a
# private cluster (its own data folder and port, listening on 127.0.0.1 only, trust
# authentication: a throwaway test database) unless one is already running, creates the
# test database and exports REGIME_TEST_POSTGRES_URL. Tests that need it skip with a
# message when the variable is unset or the server is unreachable.
#
# Settings (environment): REGIME_PG_DIR (default /tmp/regime-ci-postgres),
# REGIME_PG_PORT (default 55432). Stop the server with `regime_postgres_stop`.
#
# Sourced by a `set -euo pipefail` script: every step checks its own result and the
# script returns non-zero instead of exiting the caller.

REGIME_PG_DIR="${REGIME_PG_DIR:-/tmp/regime-ci-postgres}"
REGIME_PG_PORT="${REGIME_PG_PORT:-55432}"

_regime_pg_bin() {
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    [ -n "$dir" ] && [ -x "$dir/initdb" ] && echo "$dir"
}

# Run a PostgreSQL program as the cluster owner: `postgres` when we are root (the server
# refuses to run as root), ourselves otherwise.
_regime_pg_as_owner() {
    if [ "$(id -u)" = "0" ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

regime_postgres_stop() {
    local bin
    bin="$(_regime_pg_bin)" || return 0
    _regime_pg_as_owner "$bin/pg_ctl" -D "$REGIME_PG_DIR/data" -m fast stop >/dev/null 2>&1 || true
}

_regime_postgres_start() {
    local bin url
    bin="$(_regime_pg_bin)"
    if [ -z "$bin" ]; then
        echo "postgres.sh: installing PostgreSQL from Debian packages" >&2
        if [ "$(id -u)" != "0" ]; then
            echo "postgres.sh: PostgreSQL is not installed and installing it needs root" >&2
            return 1
        fi
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || return 1
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null || return 1
        bin="$(_regime_pg_bin)"
        [ -n "$bin" ] || { echo "postgres.sh: no server binaries after installing postgresql" >&2; return 1; }
    fi
    mkdir -p "$REGIME_PG_DIR" || return 1
    if [ "$(id -u)" = "0" ]; then
        chown postgres "$REGIME_PG_DIR" || return 1
    fi
    if [ ! -f "$REGIME_PG_DIR/data/PG_VERSION" ]; then
        _regime_pg_as_owner "$bin/initdb" -D "$REGIME_PG_DIR/data" -U regime --auth=trust \
            --encoding=UTF8 >"$REGIME_PG_DIR/initdb.log" 2>&1 \
            || { echo "postgres.sh: initdb failed, see $REGIME_PG_DIR/initdb.log" >&2; return 1; }
    fi
    if ! _regime_pg_as_owner "$bin/pg_ctl" -D "$REGIME_PG_DIR/data" status >/dev/null 2>&1; then
        _regime_pg_as_owner "$bin/pg_ctl" -D "$REGIME_PG_DIR/data" -l "$REGIME_PG_DIR/server.log" -w -t 60 \
            -o "-p $REGIME_PG_PORT -k $REGIME_PG_DIR -c listen_addresses=127.0.0.1" start >/dev/null \
            || { echo "postgres.sh: server did not start, see $REGIME_PG_DIR/server.log" >&2; return 1; }
    fi
    if ! "$bin/psql" -h 127.0.0.1 -p "$REGIME_PG_PORT" -U regime -d postgres -tAc \
            "SELECT 1 FROM pg_database WHERE datname = 'regime_test'" | grep -q 1; then
        "$bin/createdb" -h 127.0.0.1 -p "$REGIME_PG_PORT" -U regime regime_test \
            || { echo "postgres.sh: cannot create database regime_test" >&2; return 1; }
    fi
    url="postgresql://regime@127.0.0.1:$REGIME_PG_PORT/regime_test"
    export REGIME_TEST_POSTGRES_URL="$url"
    echo "postgres.sh: REGIME_TEST_POSTGRES_URL=$url"
}

_regime_postgres_start
