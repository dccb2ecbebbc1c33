# Sourced by ./run.sh demo: drives the seeded incident through the orchestrator's REST API and prints timelines.
# The upstream's policy is already configured by ./run.sh (embedded_policy), as for any run of the embedded default.
api() { curl -fsS -H "Authorization: Bearer $ORCH_API_TOKEN" "$@"; }
json_field() { sed -E "s/.*\"$1\":\"?([^\",}]*)\"?.*/\1/"; }

# One attempt told as steps: what was decided and why (verdicts and their reasons, what was deleted or built, where
# our pipeline ran, the digest each job ran on, the merge commit), from the orchestrator's own timeline.
timeline() { # url project iid attempt
  api "$1/api/v1/projects/$2/merge-requests/$3/timeline" | python3 -c '
import json, sys
attempt = int(sys.argv[1])
for step in json.load(sys.stdin)["steps"]:
    if step["attempt"] != attempt: continue
    took = " (%.1f s)" % step["seconds"] if step.get("seconds") is not None else ""
    print("  %s%s" % (step["step"], took))
    for entry in step["entries"]:
        print("    - %s" % entry["summary"])
        for fact in entry.get("facts") or []:
            print("        %s: %s" % (fact["name"], fact["value"]))
' "$4" >&3
}

# Why CI failed, in the job's own words: the error lines of the failed job of our pipeline.
failure_cause() { # sandbox-url admin-token project pipeline
  local job
  job=$(curl -fsS -H "PRIVATE-TOKEN: $2" "$1/api/v4/projects/$3/pipelines/$4/jobs" |
    python3 -c 'import json,sys; print(next((j["id"] for j in json.load(sys.stdin) if j["status"] == "failed"), ""))')
  [ -n "$job" ] || return 0
  curl -fsS -H "PRIVATE-TOKEN: $2" "$1/api/v4/projects/$3/jobs/$job/trace" | grep -aE '^(error|FAIL)' | sed 's/^/  the job said: /' >&3 || true
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
  echo "demo: MR A (!$iid), from alice's fork, bumps the image tag and adds a tool built against libfoo 1; MR B already moved" >&3
  echo "      main to libfoo 2 without a bump. The image alice built in her fork is never looked at: our pipeline builds A's" >&3
  echo "      image in mesa/mesa itself, where she cannot push, and tests on exactly that digest." >&3
  api -X POST "$api/api/v1/projects/$upstream/merge-requests/$iid/merge" -H 'Content-Type: application/json' -d '{"requestedBy":"demo"}' >/dev/null
  state=$(wait_for_outcome "$api" "$upstream" "$iid" 1)
  echo "attempt 1: $(json_field state <<<"$state") — $(json_field outcome <<<"$state")" >&3
  failure_cause "$2" "$3" "$upstream" "$(json_field pipelineId <<<"$state")"
  timeline "$api" "$upstream" "$iid" 1
  echo >&3
  echo "demo: alice fixes A for libfoo 2, and A is enqueued again." >&3
  curl -fsS -X POST -H "PRIVATE-TOKEN: $3" "$2/-/sandbox/seed/incident/fix" >/dev/null
  api -X POST "$api/api/v1/projects/$upstream/merge-requests/$iid/merge" -H 'Content-Type: application/json' -d '{"requestedBy":"demo"}' >/dev/null
  state=$(wait_for_outcome "$api" "$upstream" "$iid" 2)
  echo "attempt 2: $(json_field state <<<"$state") as $(json_field mergeCommitSha <<<"$state")" >&3
  timeline "$api" "$upstream" "$iid" 2
  echo >&3
  echo "replay: $(api "$api/api/v1/projects/$upstream/merge-requests/$iid/replay" | grep -o '"consistent":[a-z]*')" >&3
}
