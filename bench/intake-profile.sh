#!/usr/bin/env bash
# Where the time per webhook delivery goes, for the orchestrator alone under bench/webhooks.sh's load (same payload,
# same wrk script): after a warm-up, (1) a plain run measures requests/s and the CPU per delivery of the silo and of
# PostgreSQL (every process of this checkout's cluster, from /proc) and the silo's context switches; (2) a run with
# dotnet-counters attached reads the phase histograms (orchestrator.webhooks.phase.duration, journal.commit/read
# .duration, journal.batch.size: p50/p99 averaged over its intervals); (3) with
# PROFILE_PERF=1, a run under perf samples the silo's stacks and prints the top methods; (4) with PROFILE_ALLOC=1, a run
# under dotnet-trace samples its allocations. The counters and the trace cost CPU, so (1) runs without them.
# Usage: bench/intake-profile.sh [seconds] [connections]. Needs dotnet-counters as a .NET tool (and perf).
set -euo pipefail
cd "$(dirname "$0")/.."
source infra/env.sh
orch_bring_up postgres
export PATH="$PATH:$HOME/.dotnet/tools"
duration=${1:-15}
connections=${2:-16}
schema="bench_profile_$(date +%s)"
port=$((ORCH_API_PORT + 7))
secret=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
fixture="$ORCH_ROOT/../shared/fixtures/gitlab/webhooks/merge_request.open.json"
template="$ORCH_STATE/webhook-template.json"
sed -E -e 's/"iid": 1,/"iid": __IID__,/' -e '/"project": \{/,/\}/ s/"id": 1,/"id": 14,/' "$fixture" >"$template"
[ -n "${BENCH_BUILT:-}" ] || dotnet build src/Silo -c Release --nologo -v quiet -clp:"ErrorsOnly;NoSummary" >/dev/null
export Orchestrator__Postgres__ConnectionString="$ORCH_PG_CONNECTION${PROFILE_PG_OPTIONS:+;Options=$PROFILE_PG_OPTIONS}${PROFILE_PG_EXTRA:-}" Orchestrator__Postgres__Schema="$schema"
export Orchestrator__Http__Urls="http://127.0.0.1:$port" Orchestrator__Webhooks__Projects__14__Secret="$secret"
export Orchestrator__GitLab__BotUsername=user1 Orchestrator__Cluster__SiloPort=$((ORCH_API_PORT + 6111)) Orchestrator__Cluster__GatewayPort=$((ORCH_API_PORT + 25011))
export Logging__LogLevel__Default=Warning
# The perf map names JIT-compiled code only when it is not double-mapped (W^X), for the profiling run alone.
[ -z "${PROFILE_PERF:-}" ] || export DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0
dotnet src/Silo/bin/Release/net10.0/Orchestrator.Silo.dll >"$ORCH_STATE/profile-silo.log" 2>&1 &
silo=$!
trap 'kill $silo 2>/dev/null; orch_tear_down' EXIT
orch_wait_http "http://127.0.0.1:$port/healthz" 60
sql() { PGPASSWORD="$ORCH_PG_PASSWORD" psql -qtA -h 127.0.0.1 -p "$ORCH_PG_PORT" -U "$ORCH_PG_USER" -d "$ORCH_PG_DB" -c "$1"; }
load() { # run seconds
  BENCH_RUN=$1 WEBHOOK_TEMPLATE="$template" WEBHOOK_SECRET="$secret" \
    wrk -t2 -c"$connections" -d"$2s" --latency -s bench/webhook.lua "http://127.0.0.1:$port" | grep '^wrk:'
}
postmaster=$(head -1 "$ORCH_PG_DIR/data/postmaster.pid")
ticks() { # CPU ticks of the silo, of the cluster (postmaster and its children)
  local pg=0 pid
  for pid in $postmaster $(pgrep -P "$postmaster"); do
    [ -r "/proc/$pid/stat" ] && pg=$((pg + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo "$(awk '{print $14 + $15}' "/proc/$silo/stat") $pg"
}
switches() { cat /proc/"$silo"/task/*/status 2>/dev/null | awk '/ctxt_switches/ {n += $2} END {print n}'; }

echo "machine: $(nproc) cores, commit $(git rev-parse --short HEAD 2>/dev/null || echo none); $connections connections, ${duration}s; load $(cut -d' ' -f1-3 /proc/loadavg)"
for round in 3 4 5 6 7; do echo "warm-up $round: $(load "$round" 5)"; done
hz=$(getconf CLK_TCK)
by_process() { # CPU ticks of each of the cluster's processes, by its title
  local pid
  for pid in $(pgrep -P "$postmaster"); do
    [ -r "/proc/$pid/stat" ] && echo "$pid $(awk '{print $14 + $15}' "/proc/$pid/stat") $(tr '\0' ' ' <"/proc/$pid/cmdline" | cut -c1-60)"
  done
}
by_process >"$ORCH_STATE/profile-pg0.txt"
read -r silo0 pg0 < <(ticks); cs0=$(switches)
line=$(load 2 "$duration")
read -r silo1 pg1 < <(ticks); cs1=$(switches)
by_process >"$ORCH_STATE/profile-pg1.txt"
echo "PostgreSQL's processes, CPU ticks in the measured run:"
awk 'NR == FNR { before[$1] = $2; next } { d = $2 - before[$1]; $1 = ""; $2 = ""; print d "\t" $0 }' \
  "$ORCH_STATE/profile-pg0.txt" "$ORCH_STATE/profile-pg1.txt" | sort -rn | head -8
requests=$(sed -nE 's/^wrk: ([0-9]+) requests.*/\1/p' <<<"$line")
echo "measured: $line; load $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v s=$((silo1 - silo0)) -v p=$((pg1 - pg0)) -v n="$requests" -v hz="$hz" -v c=$((cs1 - cs0)) 'BEGIN {
  printf "CPU per delivery: silo %.0f µs, PostgreSQL %.0f µs; silo context switches per delivery %.1f\n", s * 1e6 / hz / n, p * 1e6 / hz / n, c / n }'

counters="$ORCH_STATE/profile-counters.json"
rm -f "$counters"
dotnet-counters collect -p "$silo" --counters 'Orchestrator,System.Runtime[dotnet.gc.heap.total_allocated,dotnet.gc.pause.time,dotnet.gc.collections]' --format json -o "$counters" --refresh-interval 5 \
  --duration "00:00:00:$(printf %02d $((duration + 2)))" >/dev/null 2>&1 &
counting=$!
sleep 2
echo "with counters: $(load 8 "$duration")"
wait $counting || true
python3 - "$counters" <<'PY'
import json, sys, collections
text = open(sys.argv[1]).read().rstrip().rstrip(',')
if not text.endswith(']}'): text += ']}'
data = json.loads(text)
series = collections.defaultdict(list)
for e in data.get('Events', []):
    name, tags = e['name'], e.get('tags', '')
    if 'Percentile' not in tags and 'duration' not in name and 'size' not in name and 'gc' not in name: continue
    series[(name, tags)].append(e['value'])
for (name, tags), values in sorted(series.items()):
    values = [v for v in values if v == v]
    if values: print(f"{name:70s} {tags:40s} {sum(values) / len(values):9.3f}")
PY

if [ -n "${PROFILE_PERF:-}" ]; then
  # perf's software clock samples the silo's threads; the runtime's perf map names the JIT-compiled methods.
  samples="$ORCH_STATE/profile.perf"
  perf record -e cpu-clock -F 999 -g -p "$silo" -o "$samples" -- sleep "$duration" >/dev/null 2>&1 &
  sampling=$!
  echo "with perf: $(load 9 "$duration")"
  wait $sampling || true
  perf report -i "$samples" --no-children --sort dso,symbol -g none --percent-limit 0.4 --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -"${PROFILE_TOP:-45}"
fi
if [ -n "${PROFILE_ALLOC:-}" ]; then
  # The runtime's allocation samples (one per ~100 KB, with its type) for a tool that sums them by type.
  allocations="$ORCH_STATE/profile-alloc.nettrace"
  rm -f "$allocations"
  dotnet-trace collect -p "$silo" --profile gc-verbose -o "$allocations" --duration "00:00:00:$(printf %02d "$duration")" >/dev/null 2>&1 &
  tracing=$!
  sleep 2
  echo "with allocation samples ($allocations): $(load 10 "$duration")"
  wait $tracing || true
fi
sql "drop schema $schema cascade" >/dev/null 2>&1 || true
