#!/usr/bin/env bash
# The full Kalam benchmark in one command (issue 7): installs what is
# missing, builds the engine, the plugins and kalam-bench in a Release build
# directory, and runs every workload on every built backend, natively and
# through the plugin, with and without sync writes.
#
#   bench/run.sh                      # everything, defaults (1M keys, 3 runs)
#   bench/run.sh --repetitions 5      # extra flags go to kalam-bench
#   bench/run.sh --num 100000 --backends lmdb,sqlite --workloads ycsb
#
# Results: bench/results/<date>-<host>/ (results.md, results.csv, runs.csv,
# machine.txt, ratio.png, throughput.png). Measure on a quiet machine: the
# driver records the load average, but cannot make a busy machine quiet.
#
# Environment: KALAM_BENCH_BUILD_DIR (default build-bench), KALAM_JOBS
# (parallel compile jobs, default 2).
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir="${KALAM_BENCH_BUILD_DIR:-build-bench}"

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
exec "$build_dir/bench/kalam-bench" --sync both "$@"
