#!/usr/bin/env bash
# npm test's static checks, side by side: types, lint and formatting. Each one's
# output is shown when it fails (or with -v), so a failure reads as it would alone.
set -uo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

npx --no-install tsc --noEmit -p tsconfig.json >"$out/typecheck" 2>&1 &
typecheck=$!
npx --no-install eslint . >"$out/lint" 2>&1 &
lint=$!
npx --no-install prettier --check . >"$out/format" 2>&1 &
format=$!

status=0
for check in typecheck lint format; do
  if wait "${!check}"; then
    echo "check: $check passed"
    [ "${1:-}" = "-v" ] && grep -v 'npm warn' "$out/$check"
  else
    status=1
    echo "check: $check FAILED"
    grep -v 'npm warn' "$out/$check"
  fi
done
exit $status
