#!/usr/bin/env bash
# Brings up what is missing (PostgreSQL, registry), builds, and runs the orchestrator on 127.0.0.1.
# Ctrl-C stops the orchestrator and every server this script started (servers already running stay).
#   ./run.sh            the orchestrator
#   ./run.sh sandbox    the sandbox GitLab alone; prints "sandbox: <base-url> <admin-token>"
set -euo pipefail
cd "$(dirname "$0")"
source infra/env.sh
trap 'exit 130' INT TERM

if [ "${1:-}" = sandbox ]; then
  command -v git >/dev/null || orch_apt_install git
  dotnet build infra/Sandbox -c Release --nologo -v quiet -clp:"ErrorsOnly;NoSummary" >&2
  exec dotnet infra/Sandbox/bin/Release/net10.0/Orchestrator.Sandbox.dll \
    --urls "http://127.0.0.1:$ORCH_SANDBOX_PORT" --Sandbox:AdminToken "${ORCH_SANDBOX_TOKEN:-}"
fi
orch_bring_up postgres registry

dotnet build src/Silo -c Release --nologo -v quiet -clp:ErrorsOnly
url="http://127.0.0.1:$ORCH_API_PORT"
export Orchestrator__Postgres__ConnectionString="${Orchestrator__Postgres__ConnectionString:-$ORCH_PG_CONNECTION}"
export Orchestrator__Http__Urls="${Orchestrator__Http__Urls:-$url}"
dotnet src/Silo/bin/Release/net10.0/Orchestrator.Silo.dll &
silo=$!
trap 'kill "$silo" 2>/dev/null; wait "$silo" 2>/dev/null; orch_tear_down' EXIT
if orch_wait_http "$url/healthz" 60; then
  echo "orchestrator: $url (PostgreSQL 127.0.0.1:$ORCH_PG_PORT, registry 127.0.0.1:$ORCH_REGISTRY_PORT); Ctrl-C stops it"
fi
wait "$silo"
