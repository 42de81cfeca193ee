#!/usr/bin/env bash
# The one command that passes the tests on a fresh machine: installs what is missing, then
# builds, checks generated protobuf code, lints, type-checks and runs every test (unit and
# integration) inside the network namespace of scripts/netns.sh. See docs/testing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
# ffmpeg: the AIC quality metrics are checked against its ssim and psnr filters
EXTRA_DEBIAN="ffmpeg:ffmpeg" source scripts/setup.sh
npm run build
npm run protos:check
npm run lint
npm run typecheck
scripts/netns.sh vitest run
