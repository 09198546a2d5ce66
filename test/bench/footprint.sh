#!/usr/bin/env bash
# The footprint numbers of docs/reference/benchmarks.md: size and time of a user install (`npm ci --omit=dev`) and of a contributor install
# (`npm ci`), each in a clean copy of package.json + package-lock.json. npm's cache is used as it is (warm after the
# first run); the times include building better-sqlite3's native addon when no prebuilt binary can be fetched.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
measure() {
  local label="$1"; shift
  local dir; dir="$(mktemp -d)"
  cp "$root/package.json" "$root/package-lock.json" "$dir/"
  local start end
  start=$(date +%s.%N)
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error "$@" >/dev/null)
  end=$(date +%s.%N)
  local size; size=$(du -sm "$dir/node_modules" | cut -f1)
  local opencode=no; [ -e "$dir/node_modules/.bin/opencode" ] && opencode=yes
  printf '%s\t%s MB\t%.0f s\topencode binary: %s\n' "$label" "$size" "$(echo "$end - $start" | bc)" "$opencode"
  rm -rf "$dir"
}
echo "footprint on $(date -u +%Y-%m-%d), node $(node --version), npm $(npm --version), load $(cut -d' ' -f1 /proc/loadavg)"
measure "npm ci --omit=dev" --omit=dev
measure "npm ci" 
