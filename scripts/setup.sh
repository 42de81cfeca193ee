# Sourced by test.sh and demo.sh: installs what is missing on a fresh machine of this kind
# (Debian packages, then npm dependencies with Node 24 from the npm registry) and puts the
# repo's Node 24 first on PATH. Callers may set EXTRA_DEBIAN="what:package ..." first, where
# `what` is a command or an absolute path the package provides.
missing=()
for pair in ip:iproute2 unshare:util-linux ${EXTRA_DEBIAN:-}; do
  what="${pair%%:*}"
  if [[ "$what" == /* ]]; then [ -e "$what" ] && continue; else command -v "$what" >/dev/null && continue; fi
  missing+=("${pair##*:}")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# `npm install`, not `npm ci`: npm 11 leaves other platforms' optional packages (rollup's,
# node-datachannel's) out of the lock file, and `npm ci` then refuses it as out of sync.
# `npm install` follows the same lock and installs the same versions.
# onnxruntime-node's install script fetches CUDA libraries from outside the npm registry (which
# fails here); its CPU runtime ships in the package. package.json's allowScripts also leaves it out.
export ONNXRUNTIME_NODE_INSTALL=skip
if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm install"
  npm install --no-audit --no-fund
fi
export PATH="$PWD/node_modules/.bin:$PATH"
echo "setup: node $(node --version)"
