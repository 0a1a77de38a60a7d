#!/usr/bin/env bash
# Fails when a C++ file is not formatted as .clang-format says. Run by ctest as code_format
# (label unit); exits 1 naming each file that differs (`clang-format -i FILE` fixes it).
#   tests/tools/check_format.sh [SOURCE_DIR]      (CLANG_FORMAT=... picks another binary)
#
# clang-format's output changes between major versions even with the same options (Debian 12
# ships 14, Debian 13 ships 19), so the check runs only with the major version the tree was
# formatted with, below; with another one (or none) it reports itself skipped (exit 77, which
# ctest shows as "Not Run"/skipped). Reformatting the tree with a newer version means changing
# FORMATTED_WITH in the same commit.
set -euo pipefail
root="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)}"
readonly FORMATTED_WITH=14

# Files another change is editing at the time the tree was formatted: left as they are until
# that change is merged, then formatted and taken off this list (docs/architecture.md, "Code
# format"). Paths relative to the source directory; a trailing / excludes a folder.
readonly EXCLUDED=()

clang_format="${CLANG_FORMAT:-clang-format}"
if ! command -v "$clang_format" >/dev/null 2>&1; then
  echo "check_format: skipped: $clang_format is not installed (deploy/install-deps.sh installs it)"
  exit 77
fi
version="$("$clang_format" --version | sed -n 's/.*version \([0-9][0-9]*\)\..*/\1/p')"
if [ "$version" != "$FORMATTED_WITH" ]; then
  echo "check_format: skipped: clang-format ${version:-of unknown version} formats differently from" \
    "clang-format $FORMATTED_WITH, which the tree is formatted with"
  exit 77
fi

excluded() {
  local file="$1" entry
  for entry in "${EXCLUDED[@]}"; do
    case "$entry" in
      */) [[ "$file" == "$entry"* ]] && return 0 ;;
      *) [[ "$file" == "$entry" ]] && return 0 ;;
    esac
  done
  return 1
}

failures=0
checked=0
while IFS= read -r file; do
  rel="${file#"$root"/}"
  excluded "$rel" && continue
  checked=$((checked + 1))
  if ! "$clang_format" --style=file "$file" | cmp -s - "$file"; then
    echo "$rel: not formatted (clang-format -i $rel)"
    failures=$((failures + 1))
  fi
done < <(find "$root/connector" "$root/runtime" "$root/management_api" "$root/plugins" "$root/tests" \
  -type f \( -name '*.cpp' -o -name '*.hpp' -o -name '*.h' \) | sort)

if [ $failures -gt 0 ]; then
  echo "check_format: $failures of $checked file(s) are not formatted as .clang-format says" >&2
  exit 1
fi
echo "check_format: $checked files formatted as .clang-format says (clang-format $version)"
