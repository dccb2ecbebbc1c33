#!/usr/bin/env bash
# Runs every test of the solution against real servers it brings up itself.
# Extra arguments go on to `dotnet test` (e.g. ./test.sh --filter Category=Fault).
set -euo pipefail
cd "$(dirname "$0")"
source infra/env.sh
orch_bring_up postgres registry
# The sandbox runs real git; its tests drive it with Debian's python-gitlab, an independent GitLab client.
command -v git >/dev/null || orch_apt_install git
[ -f /usr/lib/python3/dist-packages/gitlab/__init__.py ] || orch_apt_install python3-gitlab
# The operations page is tested in Debian's headless Chromium over the DevTools protocol.
[ -x /usr/bin/chromium ] || orch_apt_install chromium fonts-dejavu-core

export Orchestrator__Postgres__ConnectionString="$ORCH_PG_CONNECTION"
log="$ORCH_STATE/test-output.log"
set +e
dotnet test Orchestrator.sln -c Release --nologo -v minimal "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
# One closing line for the whole solution, summed over the test assemblies' own summaries.
awk '/(Passed|Failed)! +- +Failed: /{
       for (i = 1; i <= NF; i++) { if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) }
     }
     END { gsub(",", "", f); printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit "$rc"
