#!/usr/bin/env bash
# The full Kalam benchmark in one command (issue 7): installs what is
# missing, builds the engine, the plugins and kalam-bench in a Release build
# directory, and runs every workload on every built backend, natively,
# through the plugin and through the table layer (UserTableStore), with and
# without sync writes.
#
#   bench/run.sh                      # everything, defaults (1M keys, 3 runs)
#   bench/run.sh --quick              # reduced: 200k keys, 3 runs, every
#                                     # workload, backend and mode (~25 min)
#   bench/run.sh --repetitions 5      # extra flags go to kalam-bench
#   bench/run.sh --num 100000 --backends lmdb,sqlite --workloads ycsb
#
# --quick may be combined with other flags; later flags win, so
# `bench/run.sh --quick --repetitions 5` keeps the rest of the reduced set.
#
# Results: bench/results/<date>-<host>/ (results.md, results.csv,
# ratios.csv, runs.csv, machine.txt, ratio.png, tables-ratio.png,
# throughput.png). Measure on a quiet machine: the driver records the load
# average, but cannot make a busy machine quiet.
#
# Environment: KALAM_BENCH_BUILD_DIR (default build-bench), KALAM_JOBS
# (parallel compile jobs, default 2).
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir="${KALAM_BENCH_BUILD_DIR:-build-bench}"

# The reduced configuration (bench/README.md, "Reproduce"): 200,000 keys,
# 3 runs per figure, every workload, backend and mode; the sync variant
# with 1,000 keys (each sync write waits for the disk; at the default 10,000
# keys the sync variant alone took 8 minutes for 5 runs per figure on the
# quiet development VM, bench/README.md).
quick_flags=(--num 200k --repetitions 3 --sync-num 1000
  --label "quick run (bench/run.sh --quick): the reduced configuration")
args=()
for arg in "$@"; do
  if [ "$arg" = "--quick" ]; then
    args=("${quick_flags[@]}" "${args[@]}")
  else
    args+=("$arg")
  fi
done

scripts/install-deps.sh
# Warnings are not errors here: CI's -Werror build checks warnings; a
# benchmark build should not fail on a new compiler's opinion.
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DKALAM_BUILD_BENCH=ON \
  -DKALAM_WERROR=OFF
cmake --build "$build_dir" -j"${KALAM_JOBS:-2}" --target kalam-bench

read -r load1 _ < /proc/loadavg
echo "run.sh: load average (1 min) is $load1 on $(nproc) cores; numbers" \
  "taken on a busy machine are provisional"

# Later flags override earlier ones, so "$@" can change any default here.
exec "$build_dir/bench/kalam-bench" --sync both "${args[@]}"
