#!/usr/bin/env bash
# A private PostgreSQL 15 cluster on 127.0.0.1:$ORCH_PG_PORT.
#   infra/postgres.sh start   -> prints "started" or "running" (already up); idempotent
#   infra/postgres.sh stop    -> stops only the cluster in $ORCH_PG_DIR
#   infra/postgres.sh status
set -euo pipefail
source "$(dirname "$0")/env.sh"
PGBIN=/usr/lib/postgresql/15/bin
DATA="$ORCH_PG_DIR/data"
SOCK="$ORCH_PG_DIR/run"

# PostgreSQL refuses to run as root: as root we act as the postgres user.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

ensure_installed() {
  [ -x "$PGBIN/initdb" ] || orch_apt_install postgresql-15 postgresql-client-15
}

running() { [ -f "$DATA/postmaster.pid" ] && as_owner "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

init_cluster() {
  mkdir -p "$ORCH_PG_DIR" "$SOCK"
  [ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$ORCH_PG_DIR"
  chmod 700 "$ORCH_PG_DIR"
  local pwfile="$ORCH_PG_DIR/.pw"
  echo "$ORCH_PG_PASSWORD" > "$pwfile"
  [ "$(id -u)" -eq 0 ] && chown postgres "$pwfile"
  as_owner "$PGBIN/initdb" -D "$DATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 >"$ORCH_PG_DIR/initdb.log"
  rm -f "$pwfile"
  cat >>"$DATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $ORCH_PG_PORT
unix_socket_directories = '$SOCK'
max_connections = 300
fsync = on
shared_buffers = 256MB
CONF
}

create_db() {
  local psql=("$PGBIN/psql" -h "$SOCK" -p "$ORCH_PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qtA)
  if [ "$(as_owner "${psql[@]}" -c "select 1 from pg_roles where rolname='$ORCH_PG_USER'")" != 1 ]; then
    as_owner "${psql[@]}" -c "create role $ORCH_PG_USER login createdb password '$ORCH_PG_PASSWORD'"
  fi
  if [ "$(as_owner "${psql[@]}" -c "select 1 from pg_database where datname='$ORCH_PG_DB'")" != 1 ]; then
    as_owner "${psql[@]}" -c "create database $ORCH_PG_DB owner $ORCH_PG_USER"
  fi
}

case "${1:-start}" in
  start)
    ensure_installed
    if running && [ "$(sed -n 4p "$DATA/postmaster.pid")" = "$ORCH_PG_PORT" ]; then echo running; exit 0; fi
    # Someone else's, on another port (an ORCH_PG_DIR given twice): never stopped or moved from under them.
    if running; then
      echo "postgres: the cluster in $ORCH_PG_DIR runs on port $(sed -n 4p "$DATA/postmaster.pid"), not $ORCH_PG_PORT; stop it or choose another ORCH_PG_DIR" >&2
      exit 1
    fi
    [ -f "$DATA/PG_VERSION" ] || init_cluster
    as_owner "$PGBIN/pg_ctl" -D "$DATA" -l "$ORCH_PG_DIR/postgres.log" -o "-p $ORCH_PG_PORT" -w -t 60 start >/dev/null
    create_db
    echo started
    ;;
  stop)
    if running; then as_owner "$PGBIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null; fi
    ;;
  status)
    if running; then echo "running on 127.0.0.1:$ORCH_PG_PORT ($DATA)"; else echo stopped; exit 3; fi
    ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
