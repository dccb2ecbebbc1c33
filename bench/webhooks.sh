#!/usr/bin/env bash
# Webhook intake under a real load generator (wrk) on loopback, for the orchestrator and, in the same run with
# the same load, a bare ASP.NET Core endpoint that only checks the token and parses the payload (the ceiling).
# Then the deliveries are counted where they were applied (lost = answered 2xx but not applied; double = applied
# twice), and the orchestrator gets a replay of the deliveries that landed, which must all come back as duplicates.
# The payload is GitLab's documented merge request hook with the bot assigned, made consistent with its signer
# (project.id = target_project_id = 14). No GitLab is configured, so the workflow's first GitLab call (the
# requester's permission check) is outside the measured path: "applied" counts merge_requested events in PostgreSQL.
# Usage: bench/webhooks.sh [seconds] [connections]; BENCH_JSON=file also writes the figures as JSON. Each server is
# warmed at the measured load until its rate settles before it is measured (see warm_up).
set -euo pipefail
cd "$(dirname "$0")/.."
source infra/env.sh
orch_bring_up postgres
command -v wrk >/dev/null || orch_apt_install wrk
duration=${1:-15}
connections=${2:-16}
schema="bench_hooks_$(date +%s)"
port=$((ORCH_API_PORT + 7))
ceiling_port=$((ORCH_API_PORT + 8))
# Project 14's own secret, made for this run (the orchestrator and the bare endpoint check the same one).
secret=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
fixture="$ORCH_ROOT/../shared/fixtures/gitlab/webhooks/merge_request.open.json"
template="$ORCH_STATE/webhook-template.json"
# The documented payload, with the bot assigned and a placeholder for the iid; its project.id (1) made the
# target_project_id (14), as in every delivery GitLab sends.
sed -E -e 's/"iid": 1,/"iid": __IID__,/' -e '/"project": \{/,/\}/ s/"id": 1,/"id": 14,/' "$fixture" >"$template"
if [ -z "${BENCH_BUILT:-}" ]; then
  dotnet build src/Silo -c Release --nologo -v quiet -clp:"ErrorsOnly;NoSummary" >/dev/null
  dotnet build bench/Orchestrator.Bench -c Release --nologo -v quiet -clp:"ErrorsOnly;NoSummary" >/dev/null
fi
export Orchestrator__Postgres__ConnectionString="$ORCH_PG_CONNECTION" Orchestrator__Postgres__Schema="$schema"
export Orchestrator__Http__Urls="http://127.0.0.1:$port" Orchestrator__Webhooks__Projects__14__Secret="$secret"
# Silo ports follow the API port (11191/30091 by default), so checkouts on other ports run side by side.
export Orchestrator__GitLab__BotUsername=user1 Orchestrator__Cluster__SiloPort=$((ORCH_API_PORT + 6111)) Orchestrator__Cluster__GatewayPort=$((ORCH_API_PORT + 25011))
export Logging__LogLevel__Default=Warning
dotnet src/Silo/bin/Release/net10.0/Orchestrator.Silo.dll >"$ORCH_STATE/bench-silo.log" 2>&1 &
silo=$!
dotnet bench/Orchestrator.Bench/bin/Release/net10.0/Orchestrator.Bench.dll ceiling --port "$ceiling_port" --secret "$secret" >"$ORCH_STATE/bench-ceiling.log" 2>&1 &
ceiling=$!
trap 'kill $silo $ceiling 2>/dev/null; orch_tear_down' EXIT
orch_wait_http "http://127.0.0.1:$port/healthz" 60
orch_wait_http "http://127.0.0.1:$ceiling_port/healthz" 60
sql() { PGPASSWORD="$ORCH_PG_PASSWORD" psql -qtA -h 127.0.0.1 -p "$ORCH_PG_PORT" -U "$ORCH_PG_USER" -d "$ORCH_PG_DB" -c "$1"; }
load() { # url run seconds connections [file of iids to replay]
  BENCH_RUN=$2 WEBHOOK_TEMPLATE="$template" WEBHOOK_SECRET="$secret" WRK_REPLAY_FILE="${5:-}" \
    wrk -t2 -c"$4" -d"$3s" --latency -s bench/webhook.lua "$1" | grep '^wrk:'
}
# "wrk: N requests, N non-2xx/3xx, N errors, N req/s, p50 N ms, p99 N ms" → JSON fields
fields() { sed -nE 's/^wrk: ([0-9]+) requests, ([0-9]+) non-2xx\/3xx, ([0-9]+) errors, ([0-9]+) req\/s, p50 ([0-9.]+) ms, p99 ([0-9.]+) ms/"requests": \1, "non_2xx": \2, "errors": \3, "rps": \4, "p50_ms": \5, "p99_ms": \6/p' <<<"$1"; }

echo "machine: $(nproc) cores, commit $(git rev-parse --short HEAD 2>/dev/null || echo none); $connections connections, ${duration}s"
# Warm-up, then the measured runs, each server with the same load. Each server is warmed at the measured load until
# its rate settles (two rounds within 10 %, at least 3 rounds, at most 7): the runtime compiles hot code again, optimised,
# for tens of seconds after a start on a busy machine, and a run measured before that measures the compiler. Each
# round sends keys of its own (runs 3–9; the measured run is 2), so none is answered as a duplicate.
warm_up() { # url
  local round rate last=0 line
  for round in 3 4 5 6 7 8 9; do
    line=$(load "$1" "$round" "$((duration < 3 ? 1 : 3))" "$connections") || true
    rate=$(sed -nE 's/.* ([0-9]+) req\/s.*/\1/p' <<<"$line")
    rate=${rate:-0}
    echo "warm-up $1, round $((round - 2)): $rate req/s" >&2
    if [ "$round" -ge 5 ] && [ "$rate" -gt 0 ] && [ $(( (rate > last ? rate - last : last - rate) * 10 )) -lt "$rate" ]; then return; fi
    last=$rate
  done
}
warm_up "http://127.0.0.1:$port"
warm_up "http://127.0.0.1:$ceiling_port"
warm=$(sql "select count(distinct stream_id) from $schema.mt_events where type = 'merge_requested'")
ceiling_warm=$(curl -fsS "http://127.0.0.1:$ceiling_port/-/count" | sed -E 's/.*"distinct":([0-9]+).*/\1/')
orch=$(load "http://127.0.0.1:$port" 2 "$duration" "$connections")
bare=$(load "http://127.0.0.1:$ceiling_port" 2 "$duration" "$connections")
echo "orchestrator  $orch"
echo "bare endpoint $bare"
sleep 1

# Every measured request carries a new key and a new iid, so each applied delivery is one new merge request.
# wrk does not count the requests still in flight when it stops; the server may finish them anyway.
counts() { # wrk-line applied doubled → "accepted applied lost doubled"
  local sent failed
  read -r sent failed < <(sed -nE 's/^wrk: ([0-9]+) requests, ([0-9]+) non.*/\1 \2/p' <<<"$1")
  local accepted=$((sent - failed))
  echo "$accepted $2 $((accepted > $2 ? accepted - $2 : 0)) $3"
}
read -r o_accepted o_applied o_lost o_double < <(counts "$orch" \
  "$(( $(sql "select count(distinct stream_id) from $schema.mt_events where type = 'merge_requested'") - warm ))" \
  "$(sql "select count(*) from (select stream_id from $schema.mt_events where type = 'merge_requested' group by stream_id having count(*) > 1) d")")
ceiling_count=$(curl -fsS "http://127.0.0.1:$ceiling_port/-/count")
read -r c_accepted c_applied c_lost c_double < <(counts "$bare" \
  "$(( $(sed -E 's/.*"distinct":([0-9]+).*/\1/' <<<"$ceiling_count") - ceiling_warm ))" "$(sed -E 's/.*"doubled":([0-9]+).*/\1/' <<<"$ceiling_count")")
echo "orchestrator: answered 2xx $o_accepted, applied $o_applied, lost $o_lost, double-applied $o_double"
echo "bare endpoint: answered 2xx $c_accepted, applied $c_applied, lost $c_lost, double-applied $c_double"

before_replay=$(sql "select count(distinct stream_id) from $schema.mt_events where type = 'merge_requested'")
# The replay re-sends exactly the deliveries of the measured run that landed (their merge requests, read back from
# the events), never a key the run did not send; up to 2000 of them, round and round.
replay_file="$ORCH_STATE/webhook-replay-iids.txt"
sql "select substr(stream_id, length('mr-14-') + 1) from $schema.mt_events where type = 'merge_requested'
     and stream_id like 'mr-14-2________' order by seq_id limit 2000" >"$replay_file"
replay_keys=$(wc -l <"$replay_file")
replay=$(load "http://127.0.0.1:$port" 2 $((duration < 5 ? duration : 5)) "$connections" "$replay_file")
replay_reapplied=$(sed -nE 's/^wrk: replay answered 202 .* ([0-9]+) times/\1/p' <<<"$replay")
replay_new=$(( $(sql "select count(distinct stream_id) from $schema.mt_events where type = 'merge_requested'") - before_replay ))
replay_double=$(sql "select count(*) from (select stream_id from $schema.mt_events where type = 'merge_requested' group by stream_id having count(*) > 1) d")
echo "replay of $replay_keys keys the measured run applied: $replay"
echo "after replay: answered as applied $replay_reapplied, new merge requests $replay_new, double-applied $replay_double"

if [ -n "${BENCH_JSON:-}" ]; then
  cat >"$BENCH_JSON" <<JSON
{
  "seconds": $duration, "connections": $connections,
  "orchestrator": { $(fields "$orch"), "applied": $o_applied, "lost": $o_lost, "double_applied": $o_double },
  "ceiling": { $(fields "$bare"), "applied": $c_applied, "lost": $c_lost, "double_applied": $c_double },
  "orchestrator_over_ceiling": $(awk -v a="$(fields "$orch" | sed -E 's/.*"rps": ([0-9]+).*/\1/')" -v b="$(fields "$bare" | sed -E 's/.*"rps": ([0-9]+).*/\1/')" 'BEGIN { printf "%.3f", a / b }'),
  "replay_of_seen_keys": { $(fields "$replay"), "keys": $replay_keys, "answered_applied": ${replay_reapplied:-0}, "new_merge_requests": $replay_new, "double_applied": $replay_double }
}
JSON
fi
if [ -n "${BENCH_KEEP:-}" ]; then echo "kept schema $schema"; else sql "drop schema $schema cascade" 2>/dev/null; fi
