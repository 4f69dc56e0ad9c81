# An MLflow tracking server for the team tests. Source it after .ci/postgres.sh:
# `source .ci/mlflow_server.sh || true`.
#
# Starts `mlflow server` (the project's venv) on 127.0.0.1 with its backend store in the
# database regime_mlflow of the test PostgreSQL (REGIME_TEST_POSTGRES_URL) and artifacts
# served by the server (--serve-artifacts, kept in a folder of the server), unless one is
# already answering on the port; exports REGIME_TEST_MLFLOW_SERVER_URL. Tests that need it
# skip with a message when the variable is unset or the server does not answer.
#
# Settings (environment): REGIME_MLFLOW_DIR (default /tmp/regime-ci-mlflow),
# REGIME_MLFLOW_PORT (default 55500). Stop the server with `regime_mlflow_server_stop`.
#
# Sourced by a `set -euo pipefail` script: every step checks its own result and the
# script returns non-zero instead of exiting the caller.

REGIME_MLFLOW_DIR="${REGIME_MLFLOW_DIR:-/tmp/regime-ci-mlflow}"
REGIME_MLFLOW_PORT="${REGIME_MLFLOW_PORT:-55500}"

_regime_mlflow_up() {
    "$PWD/.venv/bin/python" -c "import sys, urllib.request
sys.exit(urllib.request.urlopen(sys.argv[1], timeout=5).status != 200)" \
        "http://127.0.0.1:$REGIME_MLFLOW_PORT/health" >/dev/null 2>&1
}

regime_mlflow_server_stop() {
    local pid
    pid="$(cat "$REGIME_MLFLOW_DIR/server.pid" 2>/dev/null)" && [ -n "$pid" ] || return 0
    # the server's own process group (started with setsid): the server and its workers, nothing else
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL -- "-$pid" 2>/dev/null || true  # whatever did not stop on SIGTERM
    rm -f "$REGIME_MLFLOW_DIR/server.pid"
}

_regime_mlflow_start() {
    local mlflow_bin="${REGIME_MLFLOW_BIN:-$PWD/.venv/bin/mlflow}" backend i
    if [ -z "${REGIME_TEST_POSTGRES_URL:-}" ]; then
        echo "mlflow_server.sh: REGIME_TEST_POSTGRES_URL is unset (source .ci/postgres.sh first)" >&2
        return 1
    fi
    [ -x "$mlflow_bin" ] || { echo "mlflow_server.sh: no $mlflow_bin (run make setup first)" >&2; return 1; }
    backend="${REGIME_TEST_POSTGRES_URL%/*}/regime_mlflow"
    if ! _regime_mlflow_up; then
        if ! psql "${REGIME_TEST_POSTGRES_URL%/*}/postgres" -tAc \
                "SELECT 1 FROM pg_database WHERE datname = 'regime_mlflow'" 2>/dev/null | grep -q 1; then
            psql "${REGIME_TEST_POSTGRES_URL%/*}/postgres" -qc "CREATE DATABASE regime_mlflow" >/dev/null \
                || { echo "mlflow_server.sh: cannot create database regime_mlflow" >&2; return 1; }
        fi
        mkdir -p "$REGIME_MLFLOW_DIR/artifacts" || return 1
        # its own session and process group, whose leader writes its pid (setsid may fork)
        setsid sh -c 'echo $$ >"$0/server.pid"; exec "$@"' "$REGIME_MLFLOW_DIR" \
            "$mlflow_bin" server --backend-store-uri "$backend" --serve-artifacts \
            --artifacts-destination "$REGIME_MLFLOW_DIR/artifacts" --host 127.0.0.1 \
            --port "$REGIME_MLFLOW_PORT" --workers 2 >"$REGIME_MLFLOW_DIR/server.log" 2>&1 &
        for i in $(seq 1 50); do [ -s "$REGIME_MLFLOW_DIR/server.pid" ] && break; sleep 0.1; done
        for i in $(seq 1 120); do
            _regime_mlflow_up && break
            kill -0 "$(cat "$REGIME_MLFLOW_DIR/server.pid")" 2>/dev/null \
                || { echo "mlflow_server.sh: server exited, see $REGIME_MLFLOW_DIR/server.log" >&2; return 1; }
            sleep 1
        done
        _regime_mlflow_up || { echo "mlflow_server.sh: no answer after 120 s, see $REGIME_MLFLOW_DIR/server.log" >&2
                               regime_mlflow_server_stop; return 1; }
    fi
    export REGIME_TEST_MLFLOW_SERVER_URL="http://127.0.0.1:$REGIME_MLFLOW_PORT"
    echo "mlflow_server.sh: REGIME_TEST_MLFLOW_SERVER_URL=$REGIME_TEST_MLFLOW_SERVER_URL"
}

_regime_mlflow_start
