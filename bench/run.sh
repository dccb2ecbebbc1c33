#!/usr/bin/env bash
# The benchmark, from a fresh clone: bench/run.sh [--quick]
# Brings up PostgreSQL, installs wrk and the registry when missing, builds, then measures — each figure against
# its baseline in the same run — and prints a table; the figures go to .state/bench/report-<time>.json with the
# machine's cores, memory and the git commit. Default size ≈ 9 min on 2 idle cores; --quick ≈ 3 min.
#   1. overhead per MR vs a marge-bot-style baseline   2. scale (projects × MRs at once)
#   3. rebuild economy vs never/always force           4. event store append/replay
#   5. webhook intake vs a bare ASP.NET Core endpoint, at 16 and at 64 connections
#   6. resume: process start → first GitLab call of an active workflow
set -euo pipefail
cd "$(dirname "$0")/.."
source infra/env.sh
orch_bring_up postgres
command -v git >/dev/null || orch_apt_install git
command -v wrk >/dev/null || orch_apt_install wrk
command -v psql >/dev/null || orch_apt_install postgresql-client
# The sandbox GitLab starts its own registry (behind its token auth) from Debian's package.
[ -x /usr/bin/docker-registry ] || orch_apt_install docker-registry
quick=""
size=default
if [ "${1:-}" = --quick ]; then quick=--quick; size=quick; fi
stamp=$(date -u +%Y%m%dT%H%M%SZ)
parts="$ORCH_STATE/bench/parts-$stamp"
mkdir -p "$parts"
export BENCH_SIZE=$size BENCH_COMMIT
BENCH_COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo none)$(git diff --quiet HEAD 2>/dev/null || echo -dirty)"
export Orchestrator__Postgres__ConnectionString="$ORCH_PG_CONNECTION"
t0=$(date +%s)
# The benchmark project references the silo for the build only, so one build step makes both.
dotnet build bench/Orchestrator.Bench -c Release --nologo -v quiet -clp:"ErrorsOnly;NoSummary" >/dev/null
bench="dotnet bench/Orchestrator.Bench/bin/Release/net10.0/Orchestrator.Bench.dll"
echo "event store…" >&2
$bench eventstore --parts "$parts" $quick
echo "workflows on the sandbox (overhead, scale, economy, resume)…" >&2
$bench workflows --parts "$parts" --silo src/Silo/bin/Release/net10.0/Orchestrator.Silo.dll $quick
echo "webhook intake…" >&2
if [ -n "$quick" ]; then seconds=2; else seconds=15; fi
for connections in 16 64; do
  BENCH_BUILT=1 BENCH_JSON="$parts/webhooks-$connections.json" bash bench/webhooks.sh "$seconds" "$connections" >&2
done
echo
$bench report --parts "$parts" --out "$ORCH_STATE/bench/report-$stamp.json"
echo "whole run: $(( $(date +%s) - t0 )) s"
