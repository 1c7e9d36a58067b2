#!/usr/bin/env bash
# Configures and builds Kalam in ./build (both README commands use this).
# Extra arguments go to CMake's configure step, e.g. -DKALAM_SANITIZE=address.
# KALAM_BUILD_TARGET builds one target instead of all (the quickstart builds
# kalam_runtime: the engine, the local plugins, the CLI and the quickstart).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${KALAM_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DKALAM_WERROR=ON "$@"
cmake --build "$build_dir" -j"${KALAM_JOBS:-2}" \
  ${KALAM_BUILD_TARGET:+--target "$KALAM_BUILD_TARGET"}
