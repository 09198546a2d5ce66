#!/usr/bin/env bash
# A user install, end to end: this commit's files (git archive), `npm ci --omit=dev` (no test-only OpenCode binary,
# no gpt-tokenizer), then the CLI and a project install whose doctor does the real round trip through OpenCode
# ($OPENCODE_BIN, default: the contributor install's pinned binary). Prints the size and time of the install.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
opencode="${OPENCODE_BIN:-$root/node_modules/.bin/opencode}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/pack" "$work/project" "$work/home"
git -C "$root" archive HEAD | tar -x -C "$work/pack"
start=$(date +%s.%N)
(cd "$work/pack" && npm ci --omit=dev --no-audit --no-fund --loglevel=error >/dev/null)
end=$(date +%s.%N)
printf 'npm ci --omit=dev: %s MB in %.0f s; opencode-ai installed: %s; gpt-tokenizer installed: %s\n' \
  "$(du -sm "$work/pack/node_modules" | cut -f1)" "$(echo "$end - $start" | bc)" \
  "$([ -e "$work/pack/node_modules/opencode-ai" ] && echo yes || echo no)" "$([ -e "$work/pack/node_modules/gpt-tokenizer" ] && echo yes || echo no)"
git -C "$work/project" init -q
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" XDG_DATA_HOME="$work/home/.local/share" XDG_CACHE_HOME="$work/home/.cache"
export OPENCODE_BIN="$opencode" OPENCODE_DISABLE_AUTOUPDATE=1 OPENCODE_DISABLE_MODELS_FETCH=1
node "$work/pack/plugins/cli/continuum.mjs" --version
"$work/pack/install.sh" --project "$work/project"
"$work/pack/install.sh" --uninstall --project "$work/project" --purge-data
