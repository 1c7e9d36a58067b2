#!/usr/bin/env bash
# Builds Kalam with sanitizers in its own build directory and runs the tests
# that tier covers (docs/reliability.md, "Fuzzing and sanitizers"):
#
#   scripts/sanitize.sh address,undefined   # build-asan: unit + conformance
#   scripts/sanitize.sh thread              # build-tsan: the concurrency tests
#
# Any further arguments go to ctest (e.g. -R Model, --repeat until-fail:3).
# KALAM_BUILD_DIR overrides the build directory, KALAM_JOBS the -j2 default.
# A sanitizer report fails the test that triggered it: UBSan is built with
# -fno-sanitize-recover, ASan/TSan exit non-zero on their first report.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

sanitizers=${1:-}
case "$sanitizers" in
  address,undefined | undefined,address | address | undefined)
    build_dir=${KALAM_BUILD_DIR:-build-asan}
    # Unit and conformance tiers, without the long tier.
    ctest_select=(-L 'unit|conformance' -LE long)
    ;;
  thread)
    build_dir=${KALAM_BUILD_DIR:-build-tsan}
    # The tests that run many threads against one database; their names say
    # so (see docs/reliability.md for the list). Other tests are
    # single-threaded and gain nothing under TSan.
    ctest_select=(-R 'Concurren|Thread' -LE long)
    ;;
  *)
    echo "usage: scripts/sanitize.sh address,undefined|thread [ctest args...]" >&2
    exit 2
    ;;
esac
shift
jobs=${KALAM_JOBS:-2}

cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DKALAM_WERROR=ON -DKALAM_SANITIZE="$sanitizers"

if [ "$sanitizers" = thread ]; then
  # Only the executables that hold concurrency tests (and the plugins they
  # load): the rest of the tree is not run under TSan.
  wanted=(conformance_test database_test tables_catalog_test
    tables_key_codec_test tables_store_test memory_plugin_test
    rocksdb_plugin_test lmdb_plugin_test sqlite_plugin_test
    kalam_reduced_memory)
  available=$(cmake --build "$build_dir" --target help | sed -n 's/^\.\.\. //p')
  targets=()
  for target in "${wanted[@]}"; do
    if grep -qx "$target" <<<"$available"; then targets+=("$target"); fi
  done
  cmake --build "$build_dir" -j"$jobs" --target "${targets[@]}"
else
  cmake --build "$build_dir" -j"$jobs"
fi

# Leak checking is on (LSan is part of ASan); plugins are never dlclose'd, so
# their globals stay reachable and are not reported.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1:strict_init_order=1:check_initialization_order=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# LeakSanitizer does not scan thread-local storage: with GCC 12's runtime on
# Debian 12's glibc ("can't guess glibc version"), its walk of dynamic TLS
# blocks kills its own tracer ("Tracer caught signal 11") in processes that
# loaded a library with thread_local data (the LMDB plugin's per-thread
# read transactions). Not scanning TLS can only add false leak reports
# (memory reachable only from TLS), never hide a leak; scripts/lsan.supp
# names the one such report seen (glibc's per-thread dlerror buffer).
export LSAN_OPTIONS=${LSAN_OPTIONS:-use_tls=0:print_suppressions=0:suppressions=$root/scripts/lsan.supp}
# Suppressions cover third-party libraries only (each entry says why).
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$root/scripts/tsan.supp}

start=$(date +%s)
status=0
if [ "$sanitizers" = thread ]; then
  # A table flush holds all 64 row-lock stripes at once, past the 64 locks
  # per thread that TSan's deadlock detector can track (it stops with
  # "CHECK failed: sanitizer_deadlock_detector.h:67"). The flush tests run
  # with that detector off and race detection on; everything else keeps it.
  flush_tests='FlushTest\..*Concurren'
  ctest --test-dir "$build_dir" --output-on-failure -j"$jobs" \
    "${ctest_select[@]}" -E "$flush_tests" "$@" || status=$?
  TSAN_OPTIONS="$TSAN_OPTIONS:detect_deadlocks=0" \
    ctest --test-dir "$build_dir" --output-on-failure -j"$jobs" \
    -R "$flush_tests" -LE long "$@" || status=$?
else
  ctest --test-dir "$build_dir" --output-on-failure -j"$jobs" \
    "${ctest_select[@]}" "$@" || status=$?
fi
echo "sanitize: $sanitizers tier finished in $(($(date +%s) - start)) s" \
  "(exit $status, build dir $build_dir)"
exit $status
