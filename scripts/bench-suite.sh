#!/usr/bin/env bash
# Measures how well a suite runs in parallel: the wall time of `kspec run SUITE` against the
# local cluster, next to the duration of its longest scenario. With enough parallelism the
# ratio wall/longest approaches 1; the suites aim at 1.3 or less.
#
# Usage: scripts/bench-suite.sh [SUITE] [RUNS]   (default suites/workloads.yaml, 1 run)
# Environment: KSPEC (the kspec binary; default: target/debug/kspec under CARGO_TARGET_DIR or
# ./target), BENCH_CLUSTER (local cluster name; default kspec-bench-suite), JOBS (default 64),
# REPORT_DIR (keeps each run's JSON report there as run-N.json).
set -euo pipefail

suite="${1:-suites/workloads.yaml}"
runs="${2:-1}"
name="${BENCH_CLUSTER:-kspec-bench-suite}"
jobs="${JOBS:-64}"
kspec="${KSPEC:-${CARGO_TARGET_DIR:-target}/debug/kspec}"

if [[ ! -x "$kspec" ]]; then
    echo "error: no kspec binary at $kspec; run \`cargo build -p kspec\` or set KSPEC" >&2
    exit 2
fi

"$kspec" cluster up --name "$name" >/dev/null
report=$(mktemp)
trap 'rm -f "$report"' EXIT

printf '%-4s %10s %10s %8s %s\n' run wall_s longest_s ratio longest_scenario
for run in $(seq 1 "$runs"); do
    start=$(date +%s.%N)
    status=0
    "$kspec" run --cluster "$name" --jobs "$jobs" --json "$report" "$suite" >/dev/null 2>&1 || status=$?
    if [[ -n "${REPORT_DIR:-}" ]]; then
        mkdir -p "$REPORT_DIR"
        cp "$report" "$REPORT_DIR/run-$run.json"
    fi
    end=$(date +%s.%N)
    python3 - "$report" "$start" "$end" "$run" "$status" <<'PY'
import json, sys
report, start, end, run, status = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], int(sys.argv[5])
data = json.load(open(report))
longest = max(data["scenarios"], key=lambda s: s["seconds"])
wall = end - start
totals = data["totals"]
print(f'{run:<4} {wall:10.1f} {longest["seconds"]:10.1f} {wall / longest["seconds"]:8.2f} {longest["name"]}')
print(f'     {totals["scenarios"]} scenarios: {totals["passed"]} passed, {totals["failed"]} failed, '
      f'{totals["errored"]} errored, {totals["ignored"]} ignored (exit {status})')
for scenario in data["scenarios"]:
    if scenario["status"] not in ("passed", "ignored"):
        first = (scenario.get("failure") or "").splitlines()[0:1]
        print(f'     {scenario["status"]}: {scenario["name"]}: {first[0] if first else ""}')
PY
done
"$kspec" cluster down --name "$name" >/dev/null
