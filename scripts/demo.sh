#!/usr/bin/env bash
# The main job on a fresh machine: install what is missing, build, and run the demo
# (a relay node and two chat clients calling each other by AuraID) in a network namespace.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
npm run build
scripts/netns.sh node scripts/demo.mjs
