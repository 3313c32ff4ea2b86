#!/usr/bin/env bash
# npm run setup: installs what the project needs and prepares local services.
# Idempotent: every step checks first, so a second run is quick and changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

TEMPORAL_CLI_VERSION="v1.5.1"   # the one place the version is pinned (README says v1.5.1 too)
STAMPS=".setup-stamps"
mkdir -p "$STAMPS"

say() { printf 'setup: %s\n' "$*"; }
fail() { printf 'setup: ERROR: %s\n' "$*" >&2; exit 1; }
hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }
stamp_matches() { [ -f "$STAMPS/$1" ] && [ "$(cat "$STAMPS/$1")" = "$2" ]; }

# --- Node.js -------------------------------------------------------------------
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=12)?0:1)' \
  || fail "Node.js 20.12 or newer is needed (found $(node --version))"

# --- npm dependencies ----------------------------------------------------------
lock_hash=$(hash_of package.json package-lock.json)
if [ -d node_modules ] && stamp_matches npm "$lock_hash"; then
  say "npm dependencies are up to date"
else
  say "installing npm dependencies from package-lock.json"
  # Not `npm ci`: lock files written by some npm 11 setups omit other platforms'
  # optional packages, and `npm ci` then refuses the lock. `npm install` honours
  # the locked versions all the same.
  npm install --no-audit --no-fund
  # Stamp what is on disk after the install, in case npm rewrote the lock file.
  hash_of package.json package-lock.json > "$STAMPS/npm"
fi

# --- Temporal CLI (dev server) -------------------------------------------------
find_temporal() {
  if [ -n "${TEMPORAL_CLI_PATH:-}" ] && [ -x "$TEMPORAL_CLI_PATH" ]; then echo "$TEMPORAL_CLI_PATH"; return; fi
  if command -v temporal >/dev/null 2>&1; then command -v temporal; return; fi
  local gobin
  if command -v go >/dev/null 2>&1; then
    gobin=$(go env GOBIN); [ -n "$gobin" ] || gobin="$(go env GOPATH)/bin"
    if [ -x "$gobin/temporal" ]; then echo "$gobin/temporal"; return; fi
  fi
  if [ -x "$HOME/go/bin/temporal" ]; then echo "$HOME/go/bin/temporal"; return; fi
}
temporal_bin=$(find_temporal || true)
if [ -n "$temporal_bin" ]; then
  built=""
  command -v go >/dev/null 2>&1 && built=$(go version -m "$temporal_bin" 2>/dev/null | awk '$1=="mod" && $2=="github.com/temporalio/cli" {print $3}')
  if [ -n "$built" ] && [ "$built" != "$TEMPORAL_CLI_VERSION" ]; then
    say "warning: $temporal_bin is Temporal CLI $built; this project is tested with $TEMPORAL_CLI_VERSION"
  fi
  say "Temporal CLI found at $temporal_bin"
elif command -v go >/dev/null 2>&1; then
  say "installing the Temporal CLI $TEMPORAL_CLI_VERSION with go install (the first build takes several minutes)"
  GOFLAGS=-mod=mod go install "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION"
  temporal_bin=$(find_temporal || true)
  [ -n "$temporal_bin" ] || fail "go install finished but the temporal binary was not found"
  say "Temporal CLI installed at $temporal_bin"
else
  fail "the Temporal CLI is missing and Go is not installed. Install Go 1.25+ and run: GOFLAGS=-mod=mod go install github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION"
fi

# --- yt-dlp and ffmpeg ---------------------------------------------------------
# A current yt-dlp (Debian 12: from bookworm-backports), or the one YTDLP_PATH
# names; ffmpeg from Debian. See scripts/setup-ytdlp.ts.
npx --no-install tsx scripts/setup-ytdlp.ts

# --- Chromium, for the dashboard's browser test ----------------------------------
# Users of the dashboard bring their own browser; the test suite drives Debian's
# Chromium with playwright-core (an npm devDependency, no browser download).
CHROMIUM=${CHROMIUM_PATH:-/usr/bin/chromium}
if [ -x "$CHROMIUM" ]; then
  say "Chromium found at $CHROMIUM (for the dashboard test)"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  say "installing Chromium from Debian (for the dashboard test)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  [ -x "$CHROMIUM" ] || fail "apt-get installed chromium but $CHROMIUM is not there"
else
  fail "Chromium is missing (the dashboard test needs it). Run: sudo apt-get install -y chromium, or set CHROMIUM_PATH"
fi

# --- Prisma client -------------------------------------------------------------
# Generation needs no database and no native engine; pointing the engine variable
# at any existing file stops the CLI from trying to download one.
prisma_hash=$(hash_of prisma/schema.prisma prisma.config.ts package-lock.json)
if [ -f lib/generated/prisma/client.ts ] && stamp_matches prisma "$prisma_hash"; then
  say "Prisma client is up to date"
else
  say "generating the Prisma client"
  PRISMA_SCHEMA_ENGINE_BINARY="${PRISMA_SCHEMA_ENGINE_BINARY:-$PWD/package.json}" PRISMA_HIDE_UPDATE_MESSAGE=1 \
    npx --no-install prisma generate >/dev/null
  echo "$prisma_hash" > "$STAMPS/prisma"
fi

# --- PostgreSQL, Redis, database and migrations ----------------------------------
npx --no-install tsx scripts/setup-services.ts

say "done. Next: npm test, or npm run dev to start everything"
