#!/usr/bin/env bash
# Regenerates the capability matrix in README.md by running the conformance
# runner on every plugin in build/plugins and on the C template: what each plugin declares, and the
# runner's verdict on it. Run after scripts/build.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${KALAM_BUILD_DIR:-build}
runner="$build/tests/conformance/kalam-conformance"
[ -x "$runner" ] || { echo "capability-matrix: build first ($runner missing)" >&2; exit 1; }

capabilities=(persistent durable_sync atomic_batch snapshots reverse_iteration
  delete_range thread_safe multi_process compact_range properties checkpoint
  read_only_open)
plugins=()
declare -A declares verdict
for file in "$build"/plugins/kalam_*.so \
  "$build"/examples/plugin-template/kalam_template.so; do
  [ -f "$file" ] || continue
  name=$(basename "$file" .so)
  name=${name#kalam_}
  plugins+=("$name")
  if output=$("$runner" "$file" 2>&1); then ok=1; else ok=0; fi
  declares[$name]=$(printf '%s\n' "$output" | sed -n 's/.*declares: //p' | head -1)
  summary=$(printf '%s\n' "$output" | grep -oE 'conformance: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' | tail -1)
  summary=${summary#conformance: }
  if [ "$ok" = 1 ]; then verdict[$name]="$summary"; else verdict[$name]="**FAILED** ($summary)"; fi
done

table=$(
  printf '| capability |'
  for p in "${plugins[@]}"; do printf ' %s |' "$p"; done
  printf '\n| --- |'
  for _ in "${plugins[@]}"; do printf ' --- |'; done
  printf '\n'
  for c in "${capabilities[@]}"; do
    printf '| %s |' "$c"
    for p in "${plugins[@]}"; do
      if [[ ", ${declares[$p]}, " == *", $c, "* ]]; then printf ' yes |'; else printf ' — |'; fi
    done
    printf '\n'
  done
  printf '| conformance |'
  for p in "${plugins[@]}"; do printf ' %s |' "${verdict[$p]}"; done
  printf '\n'
)

begin='<!-- capability-matrix:begin -->'
end='<!-- capability-matrix:end -->'
awk -v begin="$begin" -v end="$end" -v table="$table" '
  $0 == begin { print; print table; skip = 1; next }
  $0 == end { skip = 0 }
  !skip { print }
' README.md > README.md.tmp
mv README.md.tmp README.md
echo "capability-matrix: README.md updated for: ${plugins[*]}"
