#!/usr/bin/env bash
# Brings up what is missing (PostgreSQL, registry), builds, and runs the orchestrator on 127.0.0.1.
# Ctrl-C stops the orchestrator and every server this script started (servers already running stay).
#   ./run.sh            the orchestrator; with no GitLab configured (Orchestrator__GitLab__BaseUrl), against the
#                       embedded default: the sandbox GitLab, started here and seeded with the incident
#   ./run.sh sandbox    the sandbox GitLab alone; prints "sandbox: <base-url> <admin-token>"
#   ./run.sh demo       the embedded default, then drives the seeded incident through the orchestrator and
#                       prints each attempt's timeline; stops everything when done
#   ./run.sh second-silo  one more silo of a cluster on PostgreSQL membership: start the first with
#                       ORCH_MEMBERSHIP=postgres ./run.sh (and a configured GitLab), then this with the same settings;
#                       its API listens on ORCH_API_PORT+1
set -euo pipefail
cd "$(dirname "$0")"
source infra/env.sh
trap 'exit 130' INT TERM

# The seeded upstream builds its image with ci-templates, so the embedded default configures its policy (the image, its
# tag in image-tags.yml, the files its build reads) before the silo starts: no run merges its MRs unchecked, with or
# without the demo. Configuration, not PUT …/policy, because the embedded state is dropped at every start.
embedded_policy() { # incident.json
  local upstream id path
  upstream=$(grep -o '"upstream":{[^}]*}' "$1")
  id=$(sed -E 's/.*"id":([0-9]+).*/\1/' <<<"$upstream")
  path=$(sed -E 's/.*"path":"([^"]*)".*/\1/' <<<"$upstream")
  export "Orchestrator__Policies__${id}__Images__0__Name=debian/x86_64_build" \
    "Orchestrator__Policies__${id}__Images__0__TagFile=.gitlab-ci/image-tags.yml" \
    "Orchestrator__Policies__${id}__Images__0__TagKey=DEBIAN_BUILD_TAG" \
    "Orchestrator__Policies__${id}__Images__0__Inputs__0=.gitlab-ci/container/**" \
    "Orchestrator__Policies__${id}__UpstreamRepo=$path" \
    "Orchestrator__Policies__${id}__CiTimeoutMinutes=10" \
    "Orchestrator__Policies__${id}__UnverifiedJobs__0=debian/x86_64_build"
  # The sandbox runs ci-templates' build job in a shell executor, which names no image: accepted by name (it builds
  # the image, no test runs in it); every other job must show the runner's digest line.
}

if [ -n "${ORCH_MEMBERSHIP:-}" ]; then export Orchestrator__Cluster__Membership="$ORCH_MEMBERSHIP"; fi

if [ "${1:-}" = second-silo ]; then
  # Same database, same GitLab, same secrets as the first silo (from the environment); other ports.
  dotnet build src/Silo -c Release --nologo -v quiet -clp:"ErrorsOnly;NoSummary" >&2
  if [ -z "${Orchestrator__GitLab__BaseUrl:-}" ] && [ -f "$ORCH_STATE/incident.json" ] && grep -q '^sandbox: ' "$ORCH_STATE/sandbox.log" 2>/dev/null; then
    # Joining the embedded default that ./run.sh started: its schema, its sandbox, its bot.
    bot=$(grep -o '"bot":{[^}]*}' "$ORCH_STATE/incident.json")
    export Orchestrator__Postgres__Schema=embedded_sandbox
    export Orchestrator__GitLab__BaseUrl Orchestrator__GitLab__BotToken Orchestrator__GitLab__BotUsername Orchestrator__Registry__Url
    Orchestrator__GitLab__BaseUrl=$(awk '/^sandbox: /{print $2}' "$ORCH_STATE/sandbox.log")
    Orchestrator__GitLab__BotToken=$(sed -E 's/.*"token":"([^"]*)".*/\1/' <<<"$bot")
    Orchestrator__GitLab__BotUsername=$(sed -E 's/.*"username":"([^"]*)".*/\1/' <<<"$bot")
    Orchestrator__Registry__Url=$(grep -o '"registry":"[^"]*"' "$ORCH_STATE/incident.json" | sed -E 's/.*:"(.*)"/\1/')
    export Orchestrator__Workflow__PollInterval="${Orchestrator__Workflow__PollInterval:-00:00:01}"
    embedded_policy "$ORCH_STATE/incident.json"
  fi
  export Orchestrator__Cluster__Membership=postgres
  export Orchestrator__Postgres__ConnectionString="${Orchestrator__Postgres__ConnectionString:-$ORCH_PG_CONNECTION}"
  export Orchestrator__Http__Urls="http://127.0.0.1:$((ORCH_API_PORT + 1))"
  export Orchestrator__Cluster__SiloPort=11112 Orchestrator__Cluster__GatewayPort=30001
  echo "second silo: http://127.0.0.1:$((ORCH_API_PORT + 1))"
  exec dotnet src/Silo/bin/Release/net10.0/Orchestrator.Silo.dll
fi

if [ "${1:-}" = sandbox ]; then
  command -v git >/dev/null || orch_apt_install git
  # The sandbox's pre-receive hook calls back into it with curl.
  command -v curl >/dev/null || orch_apt_install curl
  dotnet build infra/Sandbox -c Release --nologo -v quiet -clp:"ErrorsOnly;NoSummary" >&2
  exec dotnet infra/Sandbox/bin/Release/net10.0/Orchestrator.Sandbox.dll \
    --urls "http://127.0.0.1:$ORCH_SANDBOX_PORT" --Sandbox:AdminToken "${ORCH_SANDBOX_TOKEN:-}"
fi
orch_bring_up postgres registry

dotnet build src/Silo -c Release --nologo -v quiet -clp:"ErrorsOnly;NoSummary"
if [ -z "${Orchestrator__GitLab__BaseUrl:-}" ]; then
  # The embedded default: the sandbox as its own process, seeded with the incident through its own API.
  command -v git >/dev/null || orch_apt_install git
  dotnet build infra/Sandbox -c Release --nologo -v quiet -clp:"ErrorsOnly;NoSummary"
  dotnet infra/Sandbox/bin/Release/net10.0/Orchestrator.Sandbox.dll --urls "http://127.0.0.1:$ORCH_SANDBOX_PORT" \
    --Sandbox:AdminToken "${ORCH_SANDBOX_TOKEN:-}" >"$ORCH_STATE/sandbox.log" 2>&1 &
  sandbox=$!
  trap 'kill "$sandbox" 2>/dev/null; orch_tear_down' EXIT
  for _ in $(seq 300); do grep -q '^sandbox: ' "$ORCH_STATE/sandbox.log" && break; sleep 0.1; done
  read -r _ sandbox_url sandbox_token < <(grep '^sandbox: ' "$ORCH_STATE/sandbox.log")
  [ -n "${sandbox_url:-}" ] || { echo "the sandbox did not start; see $ORCH_STATE/sandbox.log" >&2; exit 1; }
  curl -fsS -X POST -H "PRIVATE-TOKEN: $sandbox_token" "$sandbox_url/-/sandbox/seed/incident" >"$ORCH_STATE/incident.json"
  bot=$(grep -o '"bot":{[^}]*}' "$ORCH_STATE/incident.json")
  embedded_policy "$ORCH_STATE/incident.json"
  # The sandbox forgets everything when it stops, so the orchestrator's embedded state starts afresh with it.
  export Orchestrator__Postgres__Schema=embedded_sandbox
  PGPASSWORD="$ORCH_PG_PASSWORD" psql -q -h 127.0.0.1 -p "$ORCH_PG_PORT" -U "$ORCH_PG_USER" -d "$ORCH_PG_DB" \
    -c "set client_min_messages = warning" -c "drop schema if exists embedded_sandbox cascade" >/dev/null
  export Orchestrator__GitLab__BaseUrl="$sandbox_url"
  export Orchestrator__Registry__Url
  Orchestrator__Registry__Url=$(grep -o '"registry":"[^"]*"' "$ORCH_STATE/incident.json" | sed -E 's/.*:"(.*)"/\1/')
  # The sandbox is local: look at it every second rather than every ten, and keep the console for the demo.
  export Orchestrator__Workflow__PollInterval="${Orchestrator__Workflow__PollInterval:-00:00:01}"
  export Logging__LogLevel__Default="${Logging__LogLevel__Default:-Warning}"
  export Orchestrator__GitLab__BotToken
  Orchestrator__GitLab__BotToken=$(sed -E 's/.*"token":"([^"]*)".*/\1/' <<<"$bot")
  export Orchestrator__GitLab__BotUsername
  Orchestrator__GitLab__BotUsername=$(sed -E 's/.*"username":"([^"]*)".*/\1/' <<<"$bot")
  echo "sandbox: $sandbox_url $sandbox_token (incident seeded: $ORCH_STATE/incident.json)"
fi
url="http://127.0.0.1:$ORCH_API_PORT"
if [ -z "${Orchestrator__Api__Tokens__0__Sha256:-}" ]; then
  # No API token configured: make one for this run (stored as its hash only, as always) and say it once.
  ORCH_API_TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
  export Orchestrator__Api__Tokens__0__Name=local Orchestrator__Api__Tokens__0__Scopes__0=admin
  export Orchestrator__Api__Tokens__0__Sha256
  Orchestrator__Api__Tokens__0__Sha256=$(printf '%s' "$ORCH_API_TOKEN" | sha256sum | cut -d' ' -f1)
  echo "api token for this run: $ORCH_API_TOKEN"
fi
if [ -n "${sandbox_url:-}" ]; then
  # The sandbox's projects send their webhooks to this orchestrator, as a GitLab admin would set up: each project
  # with a secret of its own, made for this run, so one project's hook can never sign for another.
  for project in $(grep -oE '"(upstream|fork)":\{"id":[0-9]+' "$ORCH_STATE/incident.json" | grep -oE '[0-9]+$'); do
    secret=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
    export "Orchestrator__Webhooks__Projects__${project}__Secret=$secret"
    curl -fsS -X POST -H "PRIVATE-TOKEN: $sandbox_token" -H 'Content-Type: application/json' "$sandbox_url/api/v4/projects/$project/hooks" \
      -d "{\"url\":\"$url/webhooks/gitlab\",\"token\":\"$secret\",\"push_events\":true,\"merge_requests_events\":true,\"pipeline_events\":true,\"job_events\":true,\"note_events\":true}" >/dev/null
  done
fi
export Orchestrator__Postgres__ConnectionString="${Orchestrator__Postgres__ConnectionString:-$ORCH_PG_CONNECTION}"
export Orchestrator__Http__Urls="${Orchestrator__Http__Urls:-$url}"
# Ports and folders of this run's own, off the API port and the state folder, so a second checkout (or the same one on
# other ports) runs beside this one without sharing Orleans' ports or git mirrors.
export Orchestrator__Cluster__SiloPort="${Orchestrator__Cluster__SiloPort:-$((ORCH_API_PORT + 6031))}"
export Orchestrator__Cluster__GatewayPort="${Orchestrator__Cluster__GatewayPort:-$((ORCH_API_PORT + 24920))}"
export Orchestrator__Git__MirrorRoot="${Orchestrator__Git__MirrorRoot:-$ORCH_STATE/git}"
dotnet src/Silo/bin/Release/net10.0/Orchestrator.Silo.dll &
silo=$!
trap 'kill "$silo" ${sandbox:-} 2>/dev/null; wait "$silo" 2>/dev/null; orch_tear_down' EXIT
if orch_wait_http "$url/healthz" 60; then
  echo "orchestrator: $url (PostgreSQL 127.0.0.1:$ORCH_PG_PORT, registry ${Orchestrator__Registry__Url:-127.0.0.1:$ORCH_REGISTRY_PORT}); Ctrl-C stops it"
  if [ -n "${sandbox_url:-}" ]; then
    upstream=$(grep -oE '"upstream":\{"id":[0-9]+' "$ORCH_STATE/incident.json" | grep -oE '[0-9]+$')
    mr_a=$(grep -oE '"mr_a":\{"iid":[0-9]+' "$ORCH_STATE/incident.json" | grep -oE '[0-9]+$')
    echo "enqueue the seeded MR A: curl -s -XPOST -H 'Authorization: Bearer ${ORCH_API_TOKEN:-<token>}' $url/api/v1/projects/$upstream/merge-requests/$mr_a/merge"
  fi
  # The token rides in the fragment, which browsers never send to the server.
  echo "operations page: $url/ops${ORCH_API_TOKEN:+#token=$ORCH_API_TOKEN}"
fi
if [ "${1:-}" = demo ]; then
  exec 3>&1
  source infra/demo.sh
  demo "$url" "$sandbox_url" "$sandbox_token"
  exit 0
fi
wait "$silo"
