#!/usr/bin/env bash
# README command 2 (and CI's): install what is missing, build, check
# formatting, and run the default test tier. Heavier tiers have their own
# labels (see README "Tests").
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# Every plugin and the tests, refused loudly when a library is missing (a
# tree first configured by the quickstart has them off).
scripts/build.sh -DKALAM_BUILD_TESTS=ON -DKALAM_WITH_ROCKSDB=ON \
  -DKALAM_WITH_LMDB=ON -DKALAM_WITH_SQLITE=ON -DKALAM_WITH_POSTGRES=ON \
  -DKALAM_WITH_ETCD=ON
scripts/check-format.sh
ctest --test-dir "${KALAM_BUILD_DIR:-build}" --output-on-failure \
  -j"${KALAM_JOBS:-2}" -LE "${KALAM_EXCLUDE_LABELS:-long}"
