#!/usr/bin/env bash
# The one command that passes the tests on a fresh machine: installs what is missing, then
# builds, checks generated protobuf code, lints, type-checks and runs every test (unit and
# integration) inside the network namespace of scripts/netns.sh. See docs/testing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
# ffmpeg: the AIC quality metrics are checked against its ssim and psnr filters;
# opencv-doc, python3-skimage, python3-pil: the AIC data preparation's smoke run
EXTRA_DEBIAN="ffmpeg:ffmpeg /usr/share/doc/opencv-doc/examples/data/vtest.avi:opencv-doc \
  /usr/lib/python3/dist-packages/skimage/data/astronaut.png:python3-skimage \
  /usr/lib/python3/dist-packages/PIL/Image.py:python3-pil" source scripts/setup.sh
npm run build
npm run protos:check
npm run lint
npm run typecheck
scripts/netns.sh vitest run
