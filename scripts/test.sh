#!/usr/bin/env bash
# The one command that passes the tests on a fresh machine: installs what is missing
# (Debian packages, npm dependencies with Node 24 from the npm registry), then runs
# lint, typecheck, the protobuf staleness check and every test (see docs/testing.md).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v ip >/dev/null || missing+=(iproute2)
command -v unshare >/dev/null || missing+=(util-linux)
if ((${#missing[@]})); then
  echo "test.sh: installing Debian packages: ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "test.sh: npm ci"
  npm ci --no-audit --no-fund
fi

export PATH="$PWD/node_modules/.bin:$PATH"
echo "test.sh: node $(node --version)"
npm run build
npm run protos:check
npm run lint
npm run typecheck --workspaces --if-present
scripts/netns.sh vitest run
