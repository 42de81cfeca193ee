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
  # Without recommends: what the tests use is in the packages' dependencies, and recommends
  # (LLVM and a C toolchain for torch, git, GPU drivers, dask, fonts...) would add about 45%
  # (measured for the test set from a minimal Debian 12: 560 packages, 0.68 GB to download,
  # 2.7 GB on disk, against 873 packages, 0.92 GB, 3.9 GB with recommends; README "Quick start").
  echo "setup: installing Debian packages (without recommends): ${missing[*]}"
  echo "setup: apt-get update"
  apt-get update -q | sed 's/^/setup:   /'
  total=$(apt-get install -s --no-install-recommends "${missing[@]}" | grep -c '^Inst ' || true)
  echo "setup: $total Debian packages to install with their dependencies; this can take several minutes"
  # apt's own output is one line per package and step; print its size summary and a line every
  # 25 packages instead. Errors (stderr) pass through untouched.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -o Dpkg::Use-Pty=0 "${missing[@]}" \
    | awk -v total="$total" '
        /^Need to get|^After this operation/ { print "setup:   " $0; fflush() }
        /^Get:/ { got++; if (got % 25 == 0 || got == total) { printf "setup:   downloaded %d of %d\n", got, total; fflush() } }
        /^Setting up / { done++; if (done % 25 == 0 || done == total) { printf "setup:   set up %d of %d\n", done, total; fflush() } }'
  status=("${PIPESTATUS[@]}")
  if [ "${status[0]}" != 0 ]; then echo "setup: apt-get install failed (exit ${status[0]})" >&2; exit 1; fi
  echo "setup: Debian packages installed"
fi
# onnxruntime-node's install script fetches CUDA libraries from outside the npm registry (which
# fails here); its CPU runtime ships in the package. package.json's allowScripts also leaves it out.
export ONNXRUNTIME_NODE_INSTALL=skip
export PATH="$PWD/node_modules/.bin:$PATH"
if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # The packages need Node 22 or later, and the repo's Node 24 arrives with `npm install` itself.
  # Under an older system Node, that install would print an EBADENGINE warning for every package
  # that asks for Node 22, so first fetch the locked Node 24 on its own (.auralink/node) and run
  # the install under it.
  if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 22 ? 0 : 1)' 2>/dev/null; then
    node_version=$(sed -n '/"node_modules\/node": {/,/}/s/.*"version": "\([^"]*\)".*/\1/p' package-lock.json | head -n1)
    echo "setup: this machine's Node is $(node --version 2>/dev/null || echo missing); fetching Node ${node_version:-24} for the install"
    npm install --prefix .auralink/node --no-save --no-package-lock --no-audit --no-fund --loglevel=error "node@${node_version:-24}"
    export PATH="$PWD/.auralink/node/node_modules/.bin:$PATH"
  fi
  # `npm install`, not `npm ci`: npm 11 leaves other platforms' optional packages (rollup's,
  # node-datachannel's) out of the lock file, and `npm ci` then refuses it as out of sync.
  # `npm install` follows the same lock and installs the same versions.
  echo "setup: npm install (under node $(node --version))"
  npm install --no-audit --no-fund
  export PATH="$PWD/node_modules/.bin:$PATH"
fi
echo "setup: node $(node --version)"
