#!/usr/bin/env bash
# Install PostgreSQL (apt-get) if needed, start a throwaway cluster on a loopback port and
# create a database for the audit-trail tests. Prints the line to eval:
#   eval "$(scripts/postgres.sh)"   ->   export CDS_TEST_POSTGRES_URL=postgresql://...
# Everything but that line goes to stderr. Re-running reuses a running cluster.
# Settings: CDS_PG_DIR (default /tmp/cds-postgres), CDS_PG_PORT (default 55432).
set -euo pipefail

DIR="${CDS_PG_DIR:-/tmp/cds-postgres}"
PORT="${CDS_PG_PORT:-55432}"
DB=cds_test
say() { echo "postgres.sh: $*" >&2; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

if [ -z "$(pg_bin)" ]; then
    say "installing postgresql with apt-get"
    as_root apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql >&2
fi
BIN="$(pg_bin)"
[ -x "$BIN/initdb" ] || { say "no initdb under /usr/lib/postgresql/*/bin"; exit 1; }

# The server refuses to run as root: run it as the postgres system user when we are root.
if [ "$(id -u)" = 0 ]; then
    OWNER=postgres
    # From /, which the postgres user can enter (the checkout may be private to root).
    run() { (cd / && runuser -u postgres -- "$@"); }
else
    OWNER="$(id -un)"
    run() { "$@"; }
fi

mkdir -p "$DIR"
chown "$OWNER" "$DIR"
chmod 700 "$DIR"
if [ ! -f "$DIR/data/PG_VERSION" ]; then
    say "initdb in $DIR/data"
    run "$BIN/initdb" -D "$DIR/data" -U postgres -A trust --no-sync -E UTF8 >&2
fi
if ! run "$BIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1; then
    say "starting on 127.0.0.1:$PORT"
    run "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w \
        -o "-p $PORT -c listen_addresses=127.0.0.1 -k $DIR -c fsync=off" start >&2
fi
if ! run "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$DB'" | grep -q 1; then
    run "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres "$DB"
fi
say "ready: database $DB on 127.0.0.1:$PORT (stop: $BIN/pg_ctl -D $DIR/data stop)"
echo "export CDS_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:$PORT/$DB"
