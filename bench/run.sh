#!/usr/bin/env bash
# Benchmarks on the project's own servers. Usage: bench/run.sh [--quick]
# Prints figures; writes nothing but its own schema, which it drops.
set -euo pipefail
cd "$(dirname "$0")/.."
source infra/env.sh
orch_bring_up postgres
export Orchestrator__Postgres__ConnectionString="$ORCH_PG_CONNECTION"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, commit $(git rev-parse --short HEAD 2>/dev/null || echo none)"
dotnet run --project bench/Orchestrator.Bench -c Release -- "$@"
