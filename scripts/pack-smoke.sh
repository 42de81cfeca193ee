#!/usr/bin/env bash
# Packs the relay node and the workspace packages it depends on and installs the tarballs into
# an empty folder, as a user installs the published packages (--offline: from the npm cache
# that `npm ci` filled, so it also runs inside the test namespace); then runs
# `npx auralink-relay` there on free ports and checks /healthz. Needs `npm run build` first.
#   --warm-cache: only do the install once with the network (into a throwaway folder, no install
#   scripts) so that the npm cache holds the registry metadata and the tarball of every
#   dependency as a fresh install resolves it today. The repo's own install follows the lock
#   file, and a fresh install of the tarballs takes the newest versions in range: metadata alone
#   is not enough once a dependency has a release newer than the lock (ws 8.23.1 over the lock's
#   8.23.0 failed the offline install with ENOTCACHED). scripts/test.sh runs this before it
#   enters the network namespace.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
work=$(mktemp -d)
# npx runs the relay as its child: start it in a session of its own and end the whole group
trap '[ -n "$pid" ] && kill -- -"$pid" 2>/dev/null; rm -rf "$work"' EXIT
pid=
for ws in packages/core packages/protocol packages/identity packages/mesh signalling relay-node; do
  npm pack -w "$ws" --pack-destination "$work" --silent >/dev/null
done
mkdir "$work/app"
cd "$work/app"
npm init -y >/dev/null
# npm 11 runs install scripts only for approved packages: LevelDB's binding needs its own
node -e 'const f="package.json",p=JSON.parse(require("fs").readFileSync(f));p.allowScripts={"classic-level":true};require("fs").writeFileSync(f,JSON.stringify(p))'
if [ "${1:-}" = "--warm-cache" ]; then
  npm install --prefer-offline --ignore-scripts --no-audit --no-fund --legacy-peer-deps "$work"/*.tgz >/dev/null
  echo "pack-smoke: npm cache warmed for the offline install"
  exit 0
fi
npm install --offline --no-audit --no-fund --legacy-peer-deps "$work"/*.tgz >/dev/null
setsid npx auralink-relay --port 0 --http-port 0 --data-dir "$work/data" > "$work/out" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  url=$(grep -o 'auralink-relay http [^ ]*' "$work/out" | awk '{print $3}' || true)
  [ -n "$url" ] && break
  sleep 0.2
done
if [ -z "${url:-}" ]; then echo "pack-smoke: relay did not start:"; cat "$work/out"; exit 1; fi
node -e 'fetch(process.argv[1]).then(async (r) => { const b = await r.json(); if (r.status !== 200 || b.status !== "ok") { console.error(b); process.exit(1) } })' "$url/healthz"
echo "pack-smoke: npx auralink-relay from packed tarballs serves $url/healthz"
