#!/usr/bin/env bash
# The footprint numbers of docs/reference/benchmarks.md: size and time of a user install (`npm install` of the packed
# package, what OpenCode's own install of "opencode-continuum@<version>" fetches) and of a contributor install (`npm ci`
# in a clean copy of package.json + package-lock.json). npm's cache is used as it is (warm after the
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
package() {
  local dir; dir="$(mktemp -d)"
  local tarball; tarball="$(cd "$root" && npm pack --silent --pack-destination "$dir" 2>/dev/null | tail -1)"
  local start end
  start=$(date +%s.%N)
  (cd "$dir" && npm install --no-audit --no-fund --loglevel=error "./$tarball" >/dev/null)
  end=$(date +%s.%N)
  printf '%s\t%s MB\t%.0f s\ttarball: %s kB\n' "npm install <package>" "$(du -sm "$dir/node_modules" | cut -f1)" \
    "$(echo "$end - $start" | bc)" "$(( $(stat -c %s "$dir/$tarball") / 1024 ))"
  rm -rf "$dir"
}
package
measure "npm ci" 
