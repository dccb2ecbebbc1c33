#!/usr/bin/env bash
# Two settings of the webhook intake, A and B, measured side by side on a machine that is not quiet: both silos run at
# once (same PostgreSQL, a schema each, the same wrk script as bench/webhooks.sh), and short wrk runs alternate between
# them, so each round of A has a round of B under about the same load. Prints each round and the medians.
# Usage: bench/intake-ab.sh "<env of A>" "<env of B>" [rounds] [seconds] [connections]
#   e.g. bench/intake-ab.sh "Orchestrator__Postgres__JournalWriters=2" "Orchestrator__Postgres__JournalWriters=3" 8 5 16
set -euo pipefail
cd "$(dirname "$0")/.."
source infra/env.sh
orch_bring_up postgres
command -v wrk >/dev/null || orch_apt_install wrk
a_env=$1 b_env=$2 rounds=${3:-8} duration=${4:-5} connections=${5:-16}
secret=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
fixture="$ORCH_ROOT/../shared/fixtures/gitlab/webhooks/merge_request.open.json"
template="$ORCH_STATE/webhook-ab-template.json"
sed -E -e 's/"iid": 1,/"iid": __IID__,/' -e '/"project": \{/,/\}/ s/"id": 1,/"id": 14,/' "$fixture" >"$template"
[ -n "${BENCH_BUILT:-}" ] || dotnet build src/Silo -c Release --nologo -v quiet -clp:"ErrorsOnly;NoSummary" >/dev/null
sql() { PGPASSWORD="$ORCH_PG_PASSWORD" psql -qtA -h 127.0.0.1 -p "$ORCH_PG_PORT" -U "$ORCH_PG_USER" -d "$ORCH_PG_DB" -c "$1"; }
pids=()
schemas=()
trap 'kill "${pids[@]}" 2>/dev/null; for s in "${schemas[@]}"; do sql "drop schema $s cascade" >/dev/null 2>&1 || true; done; orch_tear_down' EXIT
start() { # name offset env (listens on ORCH_API_PORT + offset)
  local schema="bench_ab_$1_$(date +%s)" port=$((ORCH_API_PORT + $2))
  schemas+=("$schema")
  env Orchestrator__Postgres__ConnectionString="$ORCH_PG_CONNECTION" Orchestrator__Postgres__Schema="$schema" \
    Orchestrator__Http__Urls="http://127.0.0.1:$port" Orchestrator__Webhooks__Projects__14__Secret="$secret" \
    Orchestrator__GitLab__BotUsername=user1 Orchestrator__Cluster__SiloPort=$((ORCH_API_PORT + 6100 + $2)) \
    Orchestrator__Cluster__GatewayPort=$((ORCH_API_PORT + 25000 + $2)) Logging__LogLevel__Default=Warning $3 \
    dotnet src/Silo/bin/Release/net10.0/Orchestrator.Silo.dll >"$ORCH_STATE/ab-$1.log" 2>&1 &
  pids+=($!)
}
a_port=$((ORCH_API_PORT + 21)) b_port=$((ORCH_API_PORT + 22))
start a 21 "$a_env"
start b 22 "$b_env"
orch_wait_http "http://127.0.0.1:$a_port/healthz" 60
orch_wait_http "http://127.0.0.1:$b_port/healthz" 60
load() { # port run → "rps p99"
  BENCH_RUN=$2 WEBHOOK_TEMPLATE="$template" WEBHOOK_SECRET="$secret" \
    wrk -t2 -c"$connections" -d"${duration}s" --latency -s bench/webhook.lua "http://127.0.0.1:$1" | grep '^wrk:' |
    sed -nE 's/.* ([0-9]+) req\/s, p50 [0-9.]+ ms, p99 ([0-9.]+) ms/\1 \2/p'
}
echo "A: $a_env"
echo "B: $b_env"
echo "machine: $(nproc) cores, commit $(git rev-parse --short HEAD); $connections connections, ${duration}s a round; load $(cut -d' ' -f1-3 /proc/loadavg)"
# Warm-up: the runtime compiles the hot code again, optimised, during the first tens of seconds.
for run in 3 4 5; do load "$a_port" "$run" >/dev/null; load "$b_port" "$run" >/dev/null; done
results="$ORCH_STATE/ab-results.txt"
: >"$results"
for round in $(seq "$rounds"); do
  run=$((10 + round))
  # Which goes first alternates, so neither always meets the same moment of a neighbour's load.
  if [ $((round % 2)) -eq 1 ]; then a=$(load "$a_port" "$run"); b=$(load "$b_port" "$run"); else b=$(load "$b_port" "$run"); a=$(load "$a_port" "$run"); fi
  echo "round $round: A $a req/s·p99 ms, B $b req/s·p99 ms; load $(cut -d' ' -f1 /proc/loadavg)"
  echo "$a $b" >>"$results"
done
awk '{ a[NR] = $1; b[NR] = $3; r[NR] = $3 / $1; pa[NR] = $2; pb[NR] = $4 }
  function median(x, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (x[j] < x[i]) { t = x[i]; x[i] = x[j]; x[j] = t }
    return n % 2 ? x[(n + 1) / 2] : (x[n / 2] + x[n / 2 + 1]) / 2 }
  END { printf "median: A %.0f req/s (p99 %.1f ms), B %.0f req/s (p99 %.1f ms); B/A per round, median %.2f\n",
    median(a, NR), median(pa, NR), median(b, NR), median(pb, NR), median(r, NR) }' "$results"
for s in a b; do [ -s "$ORCH_STATE/ab-$s.log" ] && { echo "silo $s log:"; tail -3 "$ORCH_STATE/ab-$s.log"; }; done
echo "applied (merge_requested streams): A $(sql "select count(distinct stream_id) from ${schemas[0]}.mt_events where type = 'merge_requested'"), B $(sql "select count(distinct stream_id) from ${schemas[1]}.mt_events where type = 'merge_requested'")"
