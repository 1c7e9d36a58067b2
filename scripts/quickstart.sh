#!/usr/bin/env bash
# README command 1: install what is missing, build, and run the quickstart on
# the default config (examples/kalam.yaml). Pass another config to try
# another backend: scripts/quickstart.sh examples/lmdb.yaml
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
build/examples/kalam-quickstart --config "${1:-examples/kalam.yaml}"
