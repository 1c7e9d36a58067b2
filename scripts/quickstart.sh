#!/usr/bin/env bash
# README command 1: install what is missing, build what the quickstart runs
# (the engine, the plugins, the CLI and the quickstart; scripts/test.sh builds
# the tests and benchmarks into the same tree), and run the quickstart on
# the default config (examples/kalam.yaml). Pass another config to try
# another backend: scripts/quickstart.sh examples/lmdb.yaml
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --quickstart
KALAM_BUILD_TARGET=kalam_runtime scripts/build.sh
build/examples/kalam-quickstart --config "${1:-examples/kalam.yaml}"
