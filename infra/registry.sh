#!/usr/bin/env bash
# The OCI registry (Debian docker-registry) on 127.0.0.1:$ORCH_REGISTRY_PORT, storage in .state/.
#   infra/registry.sh start   -> prints "started" or "running"; idempotent
#   infra/registry.sh stop    -> stops only the registry this checkout started (pid file)
set -euo pipefail
source "$(dirname "$0")/env.sh"
DIR="$ORCH_STATE/registry"
PIDFILE="$DIR/registry.pid"
URL="http://127.0.0.1:$ORCH_REGISTRY_PORT/v2/"

running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

case "${1:-start}" in
  start)
    command -v docker-registry >/dev/null || [ -x /usr/bin/docker-registry ] || orch_apt_install docker-registry
    if running; then echo running; exit 0; fi
    mkdir -p "$DIR/data"
    REGISTRY_HTTP_ADDR="127.0.0.1:$ORCH_REGISTRY_PORT" \
    REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY="$DIR/data" \
      setsid /usr/bin/docker-registry serve "$ORCH_ROOT/infra/registry/config.yml" \
      >"$DIR/registry.log" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
    if ! orch_wait_http "$URL" 30; then
      echo "registry did not answer on $URL; see $DIR/registry.log" >&2
      exit 1
    fi
    echo started
    ;;
  stop)
    if running; then kill "$(cat "$PIDFILE")"; fi
    rm -f "$PIDFILE"
    ;;
  status)
    if running; then echo "running on $URL"; else echo stopped; exit 3; fi
    ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
