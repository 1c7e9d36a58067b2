#!/usr/bin/env bash
# The PostgreSQL plugin next to the same libpq statements without the engine
# (bench/postgres/README.md), against a throwaway server on this machine
# (tests/support/postgres_server.h via kalam-pg-fixture): native and plugin
# alternated `rounds` times, so slow drift of a shared machine hits both.
#
#   bench/postgres/run.sh [build-dir] [seconds] [rounds] [out-dir]
#
# Writes out-dir/raw.tsv (round, then every line of every run),
# out-dir/summary.tsv (bench/postgres/summarize.sh: per workload and thread
# count, the median over the rounds of each side and plugin/native of the
# medians) and out-dir/machine.txt.
# The server runs with synchronous_commit=off (set in run-settings below):
# a commit then waits for no disk flush, so a write costs what the client
# and the server's CPU cost, and the plugin's overhead is not hidden under
# an fsync. Both sides talk to the same server.
set -euo pipefail
build=${1:-build}
seconds=${2:-3}
rounds=${3:-3}
out=${4:-bench/results/$(date -u +%Y-%m-%d)-postgres}
mkdir -p "$out"
fixture="$build/tests/plugins/kalam-pg-fixture"
bench="$build/bench/kalam-pg-bench"
for f in "$fixture" "$bench"; do
  [[ -x $f ]] || { echo "run.sh: $f is missing (build it first)" >&2; exit 2; }
done

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "cpus: $(nproc) ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'))"
  echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
  echo "kernel: $(uname -r)"
  echo "disk under TMPDIR (the server's data): $(df -h "${TMPDIR:-/tmp}" | awk 'NR==2 {print $1, $2}')"
  pg=$(ls -d /usr/lib/postgresql/*/bin/postgres 2>/dev/null | tail -1)
  echo "postgresql: $([[ -n $pg ]] && "$pg" --version || echo unknown)"
  echo "libpq: $(pkg-config --modversion libpq 2>/dev/null || echo unknown)"
  echo "source: $(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "command: $0 $build $seconds $rounds $out"
  echo "run-settings: synchronous_commit=off; seconds=$seconds; rounds=$rounds"
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$out/machine.txt"

"$fixture" --set synchronous_commit=off sh -c '
  for round in $(seq 1 "$3"); do
    "$1" --mode native --conninfo "$KALAM_PG_CONNINFO" --seconds "$2" | sed "s/^/$round\t/"
    "$1" --mode plugin --conninfo "$KALAM_PG_CONNINFO" --seconds "$2" | sed "s/^/$round\t/"
  done' sh "$bench" "$seconds" "$rounds" | grep -v 'mode	workload' > "$out/raw.tsv"

echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/machine.txt"

"$(dirname "$0")/summarize.sh" "$out/raw.tsv" > "$out/summary.tsv"
column -t -s$'\t' "$out/summary.tsv"
