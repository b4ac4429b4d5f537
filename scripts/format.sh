#!/usr/bin/env bash
# Formats the C++ sources as .clang-format says, with Debian's clang-format.
#   scripts/format.sh           rewrites the files that differ
#   scripts/format.sh --check   changes nothing; lists the places and fails if any
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.cc' '*.h')
if [ "${1:-}" = "--check" ]; then
  if ! clang-format --dry-run -Werror "${files[@]}"; then
    echo "format: run scripts/format.sh to format the files above" >&2
    exit 1
  fi
else
  clang-format -i "${files[@]}"
fi
