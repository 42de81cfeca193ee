#!/usr/bin/env bash
# The one command that passes the tests on a fresh machine: installs what is missing, then
# builds, checks generated protobuf code, lints, type-checks and runs every test (unit and
# integration) inside the network namespace of scripts/netns.sh. See docs/testing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
# ffmpeg: the AIC quality metrics are checked against its ssim and psnr filters;
# age: the reference age tool, checked against the relay's encrypted recordings (relay-node/test/recordings-cli.test.ts);
# chromium: the browser and end-to-end tests (Playwright drives Debian's Chromium);
# firefox-esr: the cross-browser calls of e2e/firefox-call.e2e.test.ts (puppeteer-core drives it over WebDriver BiDi);
# coturn: a real TURN server (turnserver) for the mesh's TURN dial phase (packages/mesh/test/turn.integration.test.ts);
# nginx-light, libnginx-mod-rtmp: a real RTMP server the relay streams calls out to (test-utils/nginx-rtmp.ts);
# baresip-core: a real SIP phone the relay's SIP gateway calls (test-utils/baresip.ts);
# sip-tester: SIPp, a SIP server that asks the gateway for digest authentication (relay-node/test/fixtures/sipp-uas-digest.xml);
# opencv-doc, python3-skimage, python3-pil, python3-torch, python3-onnx: the AIC training smoke run
py=/usr/lib/python3/dist-packages
EXTRA_DEBIAN="ffmpeg:ffmpeg age:age chromium:chromium firefox-esr:firefox-esr /usr/bin/turnserver:coturn /usr/share/doc/opencv-doc/examples/data/vtest.avi:opencv-doc \
  $py/skimage/data/astronaut.png:python3-skimage $py/PIL/Image.py:python3-pil \
  $py/torch/__init__.py:python3-torch $py/onnx/__init__.py:python3-onnx \
  /usr/sbin/nginx:nginx-light /usr/lib/nginx/modules/ngx_rtmp_module.so:libnginx-mod-rtmp /usr/bin/baresip:baresip-core /usr/bin/sipp:sip-tester" source scripts/setup.sh
# only the workspaces whose sources changed since their last build here (`npm run build` builds all)
node scripts/build-changed.mjs
npm run protos:check
npm run lint
npm run typecheck
# the API reference from the TSDoc (typedoc.json, into docs/api/): an undocumented export fails it
npm run docs:api
# TypeScript consumers: tsc --strict against the packed packages' types (installs from the registry)
npm run test:types
# npm publish --dry-run of every package is clean: fields, licence, changelog, no npm warnings
node scripts/publish-check.mjs
# install as a user would: publish to a local registry, install the SDK and the relay in empty folders, one call (test/install/README.md)
bash test/install/run.sh
scripts/netns.sh vitest run
# browser unit tests (vitest browser mode in Debian's Chromium): the IndexedDB key store
vitest run --config packages/identity/vitest.browser.config.ts
# the SDK's media session: two RTCPeerConnections in one Chromium page (glare, renegotiation, early candidates, ICE cut and back)
scripts/netns.sh vitest run --config packages/sdk/vitest.browser.config.ts
# the IndexedDB relay score store
vitest run --config packages/mesh/vitest.browser.config.ts
# AIC tool 1 in Debian's Chromium: onnxruntime-web WASM and WebGPU (SwiftShader) against onnxruntime-node
vitest run --config packages/aic/vitest.browser.config.ts
