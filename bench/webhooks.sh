#!/usr/bin/env bash
# Webhook intake benchmark with a real load generator (wrk) on loopback: throughput and latency, then the
# deliveries counted in PostgreSQL (lost = accepted but not applied, double = applied twice), then a replay
# of already-seen keys that must all be duplicates. Usage: bench/webhooks.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
source infra/env.sh
orch_bring_up postgres
command -v wrk >/dev/null || orch_apt_install wrk
duration=${1:-15}
connections=${2:-32}
schema="bench_hooks_$(date +%s)"
port=$((ORCH_API_PORT + 7))
secret=bench-secret
fixture="$ORCH_ROOT/../shared/fixtures/gitlab/webhooks/merge_request.open.json"
template="$ORCH_STATE/webhook-template.json"
# The documented payload, with the bot assigned and a placeholder for the iid.
sed -E 's/"iid": 1,/"iid": __IID__,/' "$fixture" >"$template"
dotnet build src/Silo -c Release --nologo -v quiet -clp:"ErrorsOnly;NoSummary" >/dev/null
export Orchestrator__Postgres__ConnectionString="$ORCH_PG_CONNECTION" Orchestrator__Postgres__Schema="$schema"
export Orchestrator__Http__Urls="http://127.0.0.1:$port" Orchestrator__Webhooks__DefaultSecret="$secret"
export Orchestrator__GitLab__BotUsername=user1 Orchestrator__Cluster__SiloPort=11191 Orchestrator__Cluster__GatewayPort=30091
export Logging__LogLevel__Default=Warning
dotnet src/Silo/bin/Release/net10.0/Orchestrator.Silo.dll >"$ORCH_STATE/bench-silo.log" 2>&1 &
silo=$!
trap 'kill $silo 2>/dev/null; orch_tear_down' EXIT
orch_wait_http "http://127.0.0.1:$port/healthz" 60
sql() { PGPASSWORD="$ORCH_PG_PASSWORD" psql -qtA -h 127.0.0.1 -p "$ORCH_PG_PORT" -U "$ORCH_PG_USER" -d "$ORCH_PG_DB" -c "$1"; }

echo "machine: $(nproc) cores, commit $(git rev-parse --short HEAD 2>/dev/null || echo none); $connections connections, ${duration}s"
# Warm-up, then the measured run.
BENCH_RUN=1 WEBHOOK_TEMPLATE="$template" WEBHOOK_SECRET="$secret" wrk -t2 -c4 -d3s -s bench/webhook.lua "http://127.0.0.1:$port" >/dev/null
warm=$(sql "select count(*) from $schema.webhook_deliveries")
out=$(BENCH_RUN=2 WEBHOOK_TEMPLATE="$template" WEBHOOK_SECRET="$secret" wrk -t2 -c"$connections" -d"${duration}s" --latency -s bench/webhook.lua "http://127.0.0.1:$port")
echo "$out" | grep '^wrk:'
sleep 2
deliveries=$(sql "select count(*) from $schema.webhook_deliveries")
streams=$(sql "select count(distinct stream_id) from $schema.mt_events where type = 'merge_requested'")
double=$(sql "select count(*) from (select stream_id from $schema.mt_events where type = 'merge_requested' group by stream_id having count(*) > 1) d")
requests=$(echo "$out" | sed -nE 's/^wrk: ([0-9]+) requests, ([0-9]+) non.*/\1 \2/p')
read -r sent failed <<<"$requests"
accepted=$((sent - failed))
# Every measured request carries a new key and a new iid, so each applied delivery is one new merge request.
# wrk does not count the requests still in flight when it stops; the server may finish them anyway.
applied=$((streams - warm))
echo "answered 2xx: $accepted; applied: $applied (in flight at the stop: $((applied > accepted ? applied - accepted : 0)))"
echo "lost (answered 2xx, not applied): $((accepted > applied ? accepted - applied : 0)); recorded deliveries without their merge request: $((deliveries - streams)); double-applied: $double"
before_replay=$(sql "select count(distinct stream_id) from $schema.mt_events where type = 'merge_requested'")
replay=$(BENCH_RUN=2 WEBHOOK_TEMPLATE="$template" WEBHOOK_SECRET="$secret" WRK_REPLAY=1 wrk -t2 -c"$connections" -d5s -s bench/webhook.lua "http://127.0.0.1:$port")
echo "replay of seen keys: $(echo "$replay" | grep '^wrk:' | cut -d: -f2-)"
echo "after replay: new merge requests $(( $(sql "select count(distinct stream_id) from $schema.mt_events where type = 'merge_requested'") - before_replay )) (wrk builds one request per thread at start that it never sends; its key arrives first here), double-applied $(sql "select count(*) from (select stream_id from $schema.mt_events where type = 'merge_requested' group by stream_id having count(*) > 1) d")"
if [ -n "${BENCH_KEEP:-}" ]; then echo "kept schema $schema"; else sql "drop schema $schema cascade" 2>/dev/null; fi
