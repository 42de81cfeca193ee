#!/usr/bin/env bash
# Install as a user would (test/install/README.md): every package published to a local registry,
# `npm install @auralink/relay-node` and `npm install @auralink/sdk vite` in empty folders, then
# one call between two Chromium pages of the installed app through the installed relay. The
# install needs the registry's uplink, so it runs here; the call runs inside the test network
# namespace (scripts/netns.sh). Needs `npm run build` first; scripts/test.sh runs it.
#   --keep: leave the work folder (its path is printed) for a look at what was installed
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/node_modules/.bin:$PATH"
work=$(mktemp -d "${TMPDIR:-/tmp}/auralink-install-XXXXXX")
if [ "${1:-}" = "--keep" ]; then
  echo "install: work folder $work (kept)"
else
  trap 'rm -rf "$work"' EXIT
fi
start=$SECONDS
node test/install/install.mjs "$work"
scripts/netns.sh node test/install/call.mjs "$work"
echo "install: passed in $((SECONDS - start)) s: $(node -e 'const f=require(process.argv[1]);console.log(Object.entries(f).filter(([k])=>k!=="seconds").map(([k,v])=>`${k} ${v.packages} packages, ${v.nodeModulesMB} MB`).join("; "))' "$work/install.json")"
