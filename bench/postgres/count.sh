#!/usr/bin/env bash
# Client instructions per key (per entry for scan), plugin next to native,
# counted with callgrind: the count does not depend on how loaded the
# machine is, which the wall clock of a shared 2-core VM does. One client
# thread; only the timed loops are counted (--toggle-collect on the
# driver's run<> loop), not the load or the connection set-up. The server's
# work is not in it (it is the same for both sides).
#
#   bench/postgres/count.sh [build-dir] [seconds] [out-dir]
#
# Writes out-dir/instructions.tsv: workload, native and plugin instructions
# per unit, plugin/native.
set -euo pipefail
build=${1:-build}
seconds=${2:-10}
out=${3:-bench/results/$(date -u +%Y-%m-%d)-postgres}
command -v valgrind >/dev/null || { echo "count.sh: valgrind is missing" >&2; exit 2; }
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$build/tests/plugins/kalam-pg-fixture" --set synchronous_commit=off sh -c '
  for w in put batch100 get scan; do
    for m in native plugin; do
      # Up to 3 attempts: under valgrind on a loaded machine a run can miss
      # its connect_timeout.
      for attempt in 1 2 3; do
        valgrind --tool=callgrind --collect-atstart=no "--toggle-collect=*run<*" \
          --callgrind-out-file="$3/$m.$w.cg" "$1/bench/kalam-pg-bench" --mode "$m" \
          --conninfo "$KALAM_PG_CONNINFO" --seconds "$2" --threads 1 --keys 1000 \
          --workloads "$w" 2>/dev/null | grep -v "^mode" > "$3/$m.$w.tsv" || true
        [ -s "$3/$m.$w.tsv" ] && break
      done
    done
  done' sh "$build" "$seconds" "$work"
{
  printf 'workload\tnative_instructions_per_unit\tplugin_instructions_per_unit\tplugin_over_native\n'
  for w in put batch100 get scan; do
    per_unit() {
      local ir units
      ir=$(callgrind_annotate "$work/$1.$w.cg" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}')
      units=$(cut -f8 "$work/$1.$w.tsv")
      awk -v ir="$ir" -v u="$units" 'BEGIN { printf "%.0f", ir / u }'
    }
    n=$(per_unit native); p=$(per_unit plugin)
    awk -v w="$w" -v n="$n" -v p="$p" 'BEGIN { printf "%s\t%s\t%s\t%.3f\n", w, n, p, p / n }'
  done
} > "$out/instructions.tsv"
column -t -s$'\t' "$out/instructions.tsv"
