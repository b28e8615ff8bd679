#!/usr/bin/env bash
# Measures the local cluster backend.
#
# - Warm start: `kspec cluster up` of a new cluster until all nodes are Ready, with every
#   binary already cached. It runs RUNS times, each after `kspec cluster down`.
# - Reuse: `kspec cluster up` while the matching cluster runs.
# - Cold build, with --cold: `kspec cluster build` with an empty binary cache, Go build cache
#   and Go module cache. These are temporary directories, removed afterwards, so every module
#   comes from the Go module proxy and every package is compiled.
#
# Usage: scripts/bench-cluster.sh [--cold] [RUNS]
# Environment: KSPEC (the kspec binary; default: target/debug/kspec under CARGO_TARGET_DIR or
# ./target), BENCH_CLUSTER (cluster name; default kspec-bench).
set -euo pipefail

cold=false
if [[ "${1:-}" == "--cold" ]]; then
    cold=true
    shift
fi
runs="${1:-5}"
name="${BENCH_CLUSTER:-kspec-bench}"
kspec="${KSPEC:-${CARGO_TARGET_DIR:-target}/debug/kspec}"

if [[ ! -x "$kspec" ]]; then
    echo "error: no kspec binary at $kspec; run \`cargo build -p kspec\` or set KSPEC" >&2
    exit 2
fi

now() { date +%s.%N; }
elapsed() { awk -v start="$1" -v end="$2" 'BEGIN { printf "%.3f", end - start }'; }

# Prints min, median and max of the numbers on stdin.
summary() {
    sort -n | awk '{ v[NR] = $1 } END {
        median = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "min %.2fs  median %.2fs  max %.2fs  (%d runs)\n", v[1], median, v[NR], NR
    }'
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
echo "kspec: $kspec; cluster: $name"

# Make sure the binaries are cached, so the start figures exclude builds.
"$kspec" cluster build >/dev/null 2>&1

starts=()
for ((run = 1; run <= runs; run++)); do
    "$kspec" cluster down --name "$name" >/dev/null 2>&1
    start=$(now)
    "$kspec" cluster up --name "$name" >/dev/null 2>&1
    starts+=("$(elapsed "$start" "$(now)")")
done
echo -n "warm start (up until all nodes Ready): "
printf '%s\n' "${starts[@]}" | summary

reuses=()
for ((run = 1; run <= runs; run++)); do
    start=$(now)
    "$kspec" cluster up --name "$name" >/dev/null 2>&1
    reuses+=("$(elapsed "$start" "$(now)")")
done
echo -n "reuse (up of a running matching cluster): "
printf '%s\n' "${reuses[@]}" | summary
"$kspec" cluster down --name "$name" >/dev/null 2>&1

if $cold; then
    scratch=$(mktemp -d)
    trap 'chmod -R u+w "$scratch" 2>/dev/null; rm -rf "$scratch"' EXIT
    start=$(now)
    KSPEC_CACHE_DIR="$scratch/cache" GOCACHE="$scratch/gocache" GOMODCACHE="$scratch/gomod" \
        "$kspec" cluster build
    echo "cold build (empty binary, Go build and Go module caches): $(elapsed "$start" "$(now)")s"
fi
