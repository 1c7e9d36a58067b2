#!/usr/bin/env bash
# Fails when a tracked C or C++ file is not clang-formatted (.clang-format).
# Fix with: git ls-files '*.c' '*.cc' '*.h' | xargs clang-format -i
set -euo pipefail
cd "$(dirname "$0")/.."
if git rev-parse --git-dir >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files '*.c' '*.cc' '*.h')
else
  mapfile -t files < <(find backend_api engine plugins tests examples tools \
    bench -name '*.c' -o -name '*.cc' -o -name '*.h' 2>/dev/null)
fi
bad=()
for file in "${files[@]}"; do
  [ -f "$file" ] || continue
  clang-format --dry-run --Werror "$file" >/dev/null 2>&1 || bad+=("$file")
done
if [ ${#bad[@]} -gt 0 ]; then
  echo "check-format: not clang-formatted: ${bad[*]}" >&2
  echo "check-format: fix with: clang-format -i ${bad[*]}" >&2
  exit 1
fi
echo "check-format: ${#files[@]} files are clang-formatted"
