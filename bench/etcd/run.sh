#!/usr/bin/env bash
# The etcd plugin next to the same gRPC calls without the engine, against a
# throwaway 3-member cluster on this machine (tests/support/etcd_cluster.h),
# native and plugin alternated `rounds` times. Writes TSV lines to stdout.
#
#   bench/etcd/run.sh [build-dir] [seconds] [rounds]
set -euo pipefail
build=${1:-build}
seconds=${2:-5}
rounds=${3:-2}
exec "$build/tests/plugins/kalam-etcd-fixture" sh -c '
  for round in $(seq 1 "$3"); do
    "$1/bench/kalam-etcd-bench-native" --endpoints @ENDPOINTS@ --seconds "$2"
    "$1/bench/kalam-etcd-bench-plugin" --endpoints @ENDPOINTS@ --seconds "$2"
  done' sh "$build" "$seconds" "$rounds"
