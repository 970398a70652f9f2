#!/usr/bin/env bash
# Start a throwaway PostgreSQL server on 127.0.0.1 for the search's many-workers tests and
# print the database URL. Installs Debian's postgresql package if it is missing. The server
# refuses to run as root, so it runs as the unprivileged user "postgres" (or the caller).
# Usage: export TINYCONV_TEST_POSTGRES="$(.ci/postgres.sh start)"; ...; .ci/postgres.sh stop
set -euo pipefail
DATA="${TINYCONV_PG_DIR:-/tmp/tinyconv-pg}"
PORT="${TINYCONV_PG_PORT:-54329}"

bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-start}" in
start)
    if [ -z "$(bindir)" ]; then
        if [ "$(id -u)" != 0 ]; then echo "postgresql is not installed and we are not root" >&2; exit 1; fi
        (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql) >&2
    fi
    BIN="$(bindir)"
    rm -rf "$DATA"; mkdir -p "$DATA"
    [ "$(id -u)" = 0 ] && chown postgres "$DATA"
    as_owner "$BIN/initdb" -D "$DATA" -A trust -U tinyconv >&2
    as_owner "$BIN/pg_ctl" -D "$DATA" -o "-h 127.0.0.1 -p $PORT -k $DATA" -l "$DATA/server.log" -w start >&2
    as_owner "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U tinyconv tinyconv_test >&2
    echo "postgresql://tinyconv@127.0.0.1:$PORT/tinyconv_test"
    ;;
stop)
    BIN="$(bindir)"
    [ -n "$BIN" ] && [ -d "$DATA" ] && as_owner "$BIN/pg_ctl" -D "$DATA" -m immediate stop >&2 || true
    rm -rf "$DATA"
    ;;
esac
