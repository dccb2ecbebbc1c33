# Sourced by the project's scripts: one place for ports, folders and connection strings.
# Every port can be overridden from the environment; defaults stay clear of Debian's own
# services (a packaged PostgreSQL on 5432, a packaged registry on 5000).
ORCH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ORCH_ROOT
export ORCH_API_PORT="${ORCH_API_PORT:-5080}"
export ORCH_SANDBOX_PORT="${ORCH_SANDBOX_PORT:-5090}"
export ORCH_REGISTRY_PORT="${ORCH_REGISTRY_PORT:-5055}"
export ORCH_PG_PORT="${ORCH_PG_PORT:-55432}"
export ORCH_STATE="${ORCH_STATE:-$ORCH_ROOT/.state}"
# The postgres user cannot enter a checkout under /root (mode 700), so the cluster lives
# under /var/tmp, keyed by the checkout's path and the port: two clones never share one, and the same
# clone on another port gets a cluster of its own rather than taking over the one already running.
ORCH_PG_DIR="${ORCH_PG_DIR:-/var/tmp/orchestrator-pg-$(printf '%s:%s' "$ORCH_ROOT" "$ORCH_PG_PORT" | sha1sum | cut -c1-12)}"
export ORCH_PG_DIR
export ORCH_PG_USER=orchestrator ORCH_PG_PASSWORD=orchestrator ORCH_PG_DB=orchestrator
export ORCH_PG_CONNECTION="Host=127.0.0.1;Port=$ORCH_PG_PORT;Username=$ORCH_PG_USER;Password=$ORCH_PG_PASSWORD;Database=$ORCH_PG_DB"
mkdir -p "$ORCH_STATE"
# It holds the sandbox's tokens and logs: the owner's alone.
chmod 700 "$ORCH_STATE"

# apt-get only when we are root; a normal user is told what to install.
orch_apt_install() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian package(s): $* — install them with: sudo apt-get install $*" >&2
    return 1
  fi
  if [ ! -f "$ORCH_STATE/.apt-updated" ]; then
    apt-get update -qq >&2 && touch "$ORCH_STATE/.apt-updated"
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

orch_wait_http() { # url seconds
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# Starts each named server (infra/<name>.sh) that is not running yet and remembers which ones this
# script started, so orch_tear_down stops those and leaves servers someone else started alone.
ORCH_STARTED=()
orch_bring_up() {
  local s t0
  command -v curl >/dev/null || orch_apt_install curl ca-certificates
  for s in "$@"; do
    t0=$(($(date +%s%N) / 1000000))
    if [ "$("$ORCH_ROOT/infra/$s.sh" start)" = started ]; then ORCH_STARTED+=("$s"); fi
    echo "$s: ready in $(($(date +%s%N) / 1000000 - t0)) ms" >&2
  done
  trap orch_tear_down EXIT
}
orch_tear_down() {
  local s
  for s in "${ORCH_STARTED[@]}"; do "$ORCH_ROOT/infra/$s.sh" stop || true; done
  ORCH_STARTED=()
}
