#!/usr/bin/env bash
# One-command install of opencode-continuum into an existing OpenCode.
#   ./install.sh                      install globally (~/.config/opencode), then run the doctor
#   ./install.sh --project DIR        install into one project (DIR/.opencode)
#   ./install.sh --no-doctor          skip the doctor's round trip through OpenCode
#   ./install.sh --uninstall [--project DIR] [--purge-data]     (options in any order)
# This is the checkout path: OpenCode loads the pack from this checkout through a small plugin file. Users of the
# published package run `npx opencode-continuum install` instead (an opencode.json entry; OpenCode installs it).
# Needs this repository's dependencies (npm ci); nothing is fetched at install or at OpenCode start-up.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ ! -d "$here/node_modules/@opencode-ai/plugin" ]; then
  echo "install.sh: the pack's dependencies are not installed; run: (cd \"$here\" && npm ci)" >&2
  exit 1
fi
# The CLI runs from the TypeScript sources through tsx (a dev dependency), else from a build of this checkout.
if [ -d "$here/node_modules/tsx" ]; then
  cli="$here/plugins/cli/continuum.mjs"
elif [ -f "$here/dist/cli/continuum.js" ]; then
  cli="$here/dist/cli/continuum.js"
else
  echo "install.sh: neither tsx nor a build is here; run: (cd \"$here\" && npm ci) or (npm ci && npm run build)" >&2
  exit 1
fi
echo "install.sh: checkout install from $here (OpenCode loads plugins/continuum.ts through a plugin file)"
command -v node >/dev/null 2>&1 || { echo "install.sh: node (>= 20.6) is required" >&2; exit 1; }
# --uninstall selects the command wherever it appears; every other option goes to that command, which rejects
# what it does not know (so `--purge-data` without --uninstall is an error, not ignored).
sub=install
args=()
for arg in "$@"; do
  if [ "$arg" = "--uninstall" ]; then sub=uninstall; else args+=("$arg"); fi
done
exec node "$cli" "$sub" ${args[@]+"${args[@]}"}
