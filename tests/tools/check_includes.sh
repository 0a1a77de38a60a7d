#!/usr/bin/env bash
# The arrows of docs/architecture.md, checked: each module may include only the sinkhost headers
# written down here (plugins → connector SDK ← runtime ← management_api; only the daemon's main
# sees everything). Run by ctest as include_rules (label unit); exits 1 naming each line that
# breaks a rule.
#   tests/tools/check_includes.sh [SOURCE_DIR]
set -euo pipefail
root="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)}"

# folder | sinkhost headers its files may include (prefixes; "sinkhost/connector/" = the SDK)
rules=(
  "connector|sinkhost/connector/"
  "plugins|sinkhost/connector/"
  "runtime/include|sinkhost/connector/ sinkhost/runtime/"
  "runtime/src|sinkhost/connector/ sinkhost/runtime/ sinkhost/kurrentdb_protocol/"
  "runtime/daemon|sinkhost/connector/ sinkhost/runtime/ sinkhost/management_api/ sinkhost/version.hpp"
  "management_api|sinkhost/connector/ sinkhost/management_api/ sinkhost/kurrentdb_protocol/ sinkhost/runtime/connector_service.hpp sinkhost/runtime/secrets/secret_bytes.hpp sinkhost/runtime/embedded_log/event_log.hpp sinkhost/runtime/common_settings.hpp sinkhost/runtime/dir_lock.hpp"
)

failures=0
for rule in "${rules[@]}"; do
  folder="${rule%%|*}"
  allowed="${rule#*|}"
  while IFS=: read -r file line text; do
    header="$(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\(sinkhost\/[^"]*\)".*/\1/p' <<<"$text")"
    [ -n "$header" ] || continue
    ok=0
    for prefix in $allowed; do
      case "$header" in "$prefix"*) ok=1 ;; esac
    done
    if [ $ok -eq 0 ]; then
      echo "${file#"$root"/}:$line: $folder/ may not include $header (allowed: $allowed)"
      failures=$((failures + 1))
    fi
  done < <(grep -rn --include='*.cpp' --include='*.hpp' --include='*.h' '#[[:space:]]*include[[:space:]]*"sinkhost/' "$root/$folder" || true)
done

# The runtime's public headers name no SQLite, librdkafka or private runtime type: they include
# only system headers and other public sinkhost headers.
while IFS=: read -r file line text; do
  echo "${file#"$root"/}:$line: a public runtime header includes a private, SQLite or librdkafka header: $text"
  failures=$((failures + 1))
done < <(grep -rnE '#[[:space:]]*include[[:space:]]*("[^s"][^"]*"|"s[^i][^"]*"|<sqlite3\.h>|<librdkafka/)' "$root/runtime/include" || true)

if [ $failures -gt 0 ]; then
  echo "check_includes: $failures include(s) break the module rules (docs/architecture.md, \"Modules and their dependencies\")" >&2
  exit 1
fi
echo "check_includes: every include follows the module rules"
