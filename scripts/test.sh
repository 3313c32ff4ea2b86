#!/usr/bin/env bash
# npm test: the static checks (scripts/check.sh) run beside jest rather than
# before it, since the integration tests spend most of their time waiting on
# servers; both always run, and either failing fails the whole. Arguments go to jest.
set -uo pipefail
cd "$(dirname "$0")/.."
checks=$(mktemp)
trap 'rm -f "$checks"' EXIT

bash scripts/check.sh >"$checks" 2>&1 &
check=$!
npx --no-install jest "$@"
tests=$?
wait "$check"
checked=$?
cat "$checks"
[ "$tests" -eq 0 ] && [ "$checked" -eq 0 ]
