#!/usr/bin/env bash
# A user install, end to end, the way the package reaches a user: `npm pack` of this checkout (the prepack build),
# `npm install` of that tarball into an empty folder (runtime dependencies only), then its `continuum` binary and a
# project install and uninstall through the installer's package mode. The doctor's round trip from the package needs
# a registry OpenCode can install the package from: test/e2e/package.test.ts does that with a local verdaccio.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/pack" "$work/project" "$work/home"
tarball="$(cd "$root" && npm pack --silent --pack-destination "$work" 2>/dev/null | tail -1)"
start=$(date +%s.%N)
(cd "$work/pack" && npm install --no-audit --no-fund --loglevel=error "$work/$tarball" >/dev/null)
end=$(date +%s.%N)
printf 'npm install %s: %s MB in %.0f s; typescript installed: %s; tsx installed: %s\n' "$tarball" \
  "$(du -sm "$work/pack/node_modules" | cut -f1)" "$(echo "$end - $start" | bc)" \
  "$([ -e "$work/pack/node_modules/typescript" ] && echo yes || echo no)" "$([ -e "$work/pack/node_modules/tsx" ] && echo yes || echo no)"
git -C "$work/project" init -q
echo '{ // a comment the installer keeps
}' > "$work/project/opencode.jsonc"
cp "$work/project/opencode.jsonc" "$work/before.jsonc"
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" XDG_DATA_HOME="$work/home/.local/share" XDG_CACHE_HOME="$work/home/.cache"
continuum="$work/pack/node_modules/.bin/continuum"
"$continuum" --version
"$continuum" install --project "$work/project" --no-doctor
cat "$work/project/opencode.jsonc"
"$continuum" uninstall --project "$work/project"
cmp "$work/before.jsonc" "$work/project/opencode.jsonc" && echo "uninstall restored opencode.jsonc byte for byte"
