#!/usr/bin/env bash
# Train strategies on synthetic merge request streams: bench/simulate.sh [--hours H] [--seed N] [--no-replay]
#   [--overhead-from .state/bench/parts-*/overhead.json] [--pipeline-minutes D] [--build-minutes B] [--bump-share S]
# Runs the pure planner (src/Grains/Domain/Trains) for p = 0, 10, 25 % and budgets 4 and 8, prints one table and
# whether each claim of issue 18 holds (exit 1 when one fails); every run is replayed through TrainReplay.
# No servers; deterministic for a seed; ≈ 15 s on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build bench/Orchestrator.Bench -c Release --nologo -v quiet -clp:"ErrorsOnly;NoSummary" >/dev/null
exec dotnet bench/Orchestrator.Bench/bin/Release/net10.0/Orchestrator.Bench.dll simulate "$@"
