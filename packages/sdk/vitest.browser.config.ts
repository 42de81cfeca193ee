import { defineConfig } from 'vitest/config'
import { chromiumBrowser } from '../../vitest.browser.base.ts'

// The SDK tests that need a browser's RTCPeerConnection (the media session: two of them in one
// page, wired to each other), in Debian's headless Chromium through Playwright. Run inside the
// test network namespace, so ICE gathers only the namespace's addresses. From the repo root:
//   scripts/netns.sh npx vitest run --config packages/sdk/vitest.browser.config.ts
// Files are test/**/*.browser.spec.ts: the root config's unit project (Node) takes *.test.ts only.
export default defineConfig({
  root: import.meta.dirname,
  test: {
    name: 'sdk-browser',
    include: ['test/**/*.browser.spec.ts'],
    testTimeout: 30_000,
    // host candidates as the namespace's IPs, not mDNS names nobody resolves here
    browser: chromiumBrowser(['--disable-features=WebRtcHideLocalIpsWithMdns'])
  }
})
