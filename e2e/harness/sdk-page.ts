// Driving e2e/pages/sdk.html from a test: run a function on a page's `window.sdkPage`, wait for a
// call state, and close pages (each client stopped first, bounded) after a test.
import { runIn } from './page-run.js'
import type { PageHandle } from './page-run.js'
import type { PageError, SdkPageWindow, StateRecord } from '../pages/sdk.js'
import type { Page } from 'playwright-core'

export type Sdk = SdkPageWindow['sdkPage']

/**
 * What runSdk needs of a page: `evaluate(fn, arg)`, which both Playwright's Page (Chromium) and
 * Puppeteer's (Firefox, e2e/harness/firefox.ts) have.
 */
export type SdkPageHandle = PageHandle

/** Runs `fn(window.sdkPage, arg)` in `page` (fn travels as source: it may use only its arguments). */
export async function runSdk<T> (page: Page | SdkPageHandle, fn: (sdk: Sdk, arg: unknown) => T | Promise<T>, arg?: unknown): Promise<T> {
  return runIn(page as PageHandle, 'sdkPage', fn, arg)
}

/** The page's current call reaches `state` within `timeoutMs`; throws with the page's error otherwise. */
export async function waitSdkState (page: Page | SdkPageHandle, state: string, timeoutMs: number): Promise<StateRecord> {
  const r = await runSdk(page, async (sdk, a) => sdk.waitState((a as [string, number])[0], (a as [string, number])[1]), [state, timeoutMs])
  if ('name' in r) throw new Error(`${(r as PageError).name}: ${(r as PageError).message}`)
  return r
}

/** Stops each page's client (at most 5 s each) and closes its browser context. */
export async function closeSdkPages (pages: Page[]): Promise<void> {
  for (const page of pages) {
    let timer: ReturnType<typeof setTimeout> | undefined
    await Promise.race([
      runSdk(page, async (sdk) => sdk.stop()).catch(() => {}),
      new Promise((resolve) => { timer = setTimeout(resolve, 5_000) })
    ])
    clearTimeout(timer)
    await page.context().close().catch(() => {})
  }
}
