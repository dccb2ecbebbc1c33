# Sourced by ./run.sh demo: drives the seeded incident through the orchestrator's REST API and prints timelines.
# The upstream's policy is already configured by ./run.sh (embedded_policy), as for any run of the embedded default.
api() { curl -fsS -H "Authorization: Bearer $ORCH_API_TOKEN" "$@"; }
json_field() { sed -E "s/.*\"$1\":\"?([^\",}]*)\"?.*/\1/"; }

timeline() { # url project iid
  api "$1/api/v1/projects/$2/merge-requests/$3/events" | sed -E 's/\},\{"version"/}\n{"version"/g' |
    sed -E 's/.*"version":([0-9]+),"type":"([^"]+)","at":"([^"]+)".*/  \1\t\3\t\2/' >&3
}

wait_for_outcome() { # url project iid attempt
  local state
  for _ in $(seq 600); do
    state=$(api "$1/api/v1/projects/$2/merge-requests/$3")
    if grep -q "\"attempt\":$4," <<<"$state" && grep -qE '"state":"(completed|failed|cancelled)"' <<<"$state" &&
       api "$1/api/v1/projects/$2/merge-requests/$3/events" | grep -q "outcome_noted\".*\"attempt\":$4"; then
      echo "$state"
      return 0
    fi
    sleep 0.5
  done
  echo "timed out waiting for attempt $4" >&2
  return 1
}

demo() { # orchestrator-url sandbox-url sandbox-admin-token
  local api=$1 incident upstream iid state
  incident=$(cat "$ORCH_STATE/incident.json")
  upstream=$(grep -o '"upstream":{[^}]*}' <<<"$incident" | json_field id)
  iid=$(grep -o '"mr_a":{[^}]*}' <<<"$incident" | json_field iid)
  echo >&3
  echo "demo: MR A (!$iid) bumps the image tag; its fork image was built before MR B moved libfoo to 2 without a bump." >&3
  api -X POST "$api/api/v1/projects/$upstream/merge-requests/$iid/merge" -H 'Content-Type: application/json' -d '{"requestedBy":"demo"}' >/dev/null
  state=$(wait_for_outcome "$api" "$upstream" "$iid" 1)
  echo "attempt 1: $(json_field state <<<"$state") — $(json_field outcome <<<"$state")" >&3
  timeline "$api" "$upstream" "$iid"
  echo >&3
  echo "demo: alice fixes A for libfoo 2, and A is enqueued again." >&3
  curl -fsS -X POST -H "PRIVATE-TOKEN: $3" "$2/-/sandbox/seed/incident/fix" >/dev/null
  api -X POST "$api/api/v1/projects/$upstream/merge-requests/$iid/merge" -H 'Content-Type: application/json' -d '{"requestedBy":"demo"}' >/dev/null
  state=$(wait_for_outcome "$api" "$upstream" "$iid" 2)
  echo "attempt 2: $(json_field state <<<"$state") as $(json_field mergeCommitSha <<<"$state")" >&3
  timeline "$api" "$upstream" "$iid"
  echo >&3
  echo "replay: $(api "$api/api/v1/projects/$upstream/merge-requests/$iid/replay" | grep -o '"consistent":[a-z]*')" >&3
}
