import { playwright } from '@vitest/browser-playwright'

// The `test.browser` settings every package's browser tests share (packages/*/vitest.browser.config.ts):
// Debian's headless Chromium through Playwright (nothing downloads a browser), one instance.

/** Chromium's flags: no sandbox (containers), no GPU, none of its background connections (no internet here). */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync'
]

/** `test.browser` for Debian's Chromium; `extraArgs` adds flags (e.g. '--enable-unsafe-webgpu'). */
export function chromiumBrowser (extraArgs: string[] = []): {
  enabled: true
  headless: true
  screenshotFailures: false
  provider: ReturnType<typeof playwright>
  instances: Array<{ browser: 'chromium' }>
} {
  return {
    enabled: true,
    headless: true,
    screenshotFailures: false,
    provider: playwright({ launchOptions: { executablePath: '/usr/bin/chromium', args: [...CHROMIUM_ARGS, ...extraArgs] } }),
    instances: [{ browser: 'chromium' }]
  }
}
