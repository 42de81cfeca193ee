import { defineConfig } from 'vitest/config'
import { chromiumBrowser } from '../../vitest.browser.base.ts'

// The mesh tests that need a browser (the IndexedDB score store), run in Debian's headless
// Chromium through Playwright; nothing downloads a browser. From the repo root:
//   npx vitest run --config packages/mesh/vitest.browser.config.ts
// Files are test/**/*.browser.spec.ts: the root config's unit project (Node) takes *.test.ts only.
export default defineConfig({
  root: import.meta.dirname,
  // Pre-bundled before the first test loads: found later, Vite would reload the page mid-run.
  optimizeDeps: {
    include: ['idb', '@libp2p/crypto/keys', '@libp2p/peer-id']
  },
  test: {
    name: 'mesh-browser',
    include: ['test/**/*.browser.spec.ts'],
    testTimeout: 20_000,
    browser: chromiumBrowser()
  }
})
