#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ with clang (-DKALAM_FUZZ=ON, ASan +
# UBSan) in build-fuzz and fuzzes each for the given seconds (default 60),
# then prints a summary. New inputs go to build-fuzz/fuzz/work/<target>/,
# crashes to build-fuzz/fuzz/artifacts/; the checked-in corpus is only read.
#
#   scripts/fuzz.sh            # 60 s per target
#   scripts/fuzz.sh 600 kv_ops # 10 min, one target
#
# Exit status 1 when any target found a crash or a broken property. Turn
# each one into a regression input: copy the artifact into fuzz/corpus/<target>/,
# fix the bug, and check `ctest -R fuzz_<target>_corpus` passes
# (docs/reliability.md). KALAM_BUILD_DIR overrides the build directory,
# KALAM_JOBS the -j2 default, KALAM_FUZZ_NO_BUILD=1 skips the build.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(config options key_codec row_validation kv_ops)
fi
build_dir=${KALAM_BUILD_DIR:-build-fuzz}
cc=$(command -v clang-14 || command -v clang || true)
cxx=$(command -v clang++-14 || command -v clang++ || true)
if [ -z "$cc" ] || [ -z "$cxx" ]; then
  echo "fuzz: clang not found (scripts/install-deps.sh installs clang-14)" >&2
  exit 1
fi

# KALAM_FUZZ_NO_BUILD=1 fuzzes the binaries already built.
if [ -z "${KALAM_FUZZ_NO_BUILD:-}" ]; then
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" -DKALAM_WERROR=ON \
    -DKALAM_SANITIZE=address,undefined -DKALAM_FUZZ=ON \
    -DKALAM_BUILD_EXAMPLES=OFF >/dev/null
  cmake --build "$build_dir" -j"${KALAM_JOBS:-2}" --target kalam_fuzzers
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
artifacts="$build_dir/fuzz/artifacts"
mkdir -p "$artifacts"
summary=()
failed=0
for target in "${targets[@]}"; do
  binary="$build_dir/fuzz/fuzz_$target"
  work="$build_dir/fuzz/work/$target"
  log="$build_dir/fuzz/$target.log"
  [ -x "$binary" ] || { echo "fuzz: no target $target" >&2; exit 2; }
  mkdir -p "$work"
  echo "fuzz: $target for ${seconds}s (log: $log)"
  status=0
  "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts/$target-" \
    "$work" "fuzz/corpus/$target" >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  corpus=$(find "$work" -type f | wc -l)
  if [ "$status" -eq 0 ]; then
    verdict=ok
  else
    verdict="FAILED (exit $status): $(grep -m1 -oE "$artifacts/$target-[^ ]*" "$log" || echo "see $log")"
    failed=1
  fi
  summary+=("$(printf '%-15s %10s runs  cov %6s  corpus %5s  %s' "$target" \
    "${runs:-?}" "${cov:-?}" "$corpus" "$verdict")")
done
echo
echo "fuzz: summary ($seconds s per target, $(date -u +%FT%TZ))"
printf '  %s\n' "${summary[@]}"
exit $failed
