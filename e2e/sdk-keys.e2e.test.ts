import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser } from './harness/browser.js'
import { startRelay } from './harness/relay.js'
import { closeSdkPages, runSdk } from './harness/sdk-page.js'
import { servePages } from './harness/server.js'
import { throwFirstRejection } from './harness/settled.js'
import type { E2eBrowser } from './harness/browser.js'
import type { E2eRelay } from './harness/relay.js'
import type { PageServer } from './harness/server.js'
import type { Page } from 'playwright-core'

// The SDK's default key store in real Chromium against a real relay-node process: the README's
// `AuraLink.create({ relays })`, with no key store given, keeps the key in IndexedDB, so a reload
// registers the same AuraID again; two tabs of one browser share it, and the second client on one
// key is refused until it takes another keyLabel.
describe('@auralink/sdk keeps its key in Chromium (the default key store)', () => {
  let relay: E2eRelay | undefined
  let server: PageServer | undefined
  let browser: E2eBrowser | undefined
  let pages: Page[] = []

  beforeAll(async () => {
    const started = await Promise.allSettled([
      startRelay().then((r) => { relay = r }),
      servePages(['sdk']).then((s) => { server = s }),
      launchBrowser().then((b) => { browser = b })
    ])
    throwFirstRejection(started)
  })

  afterEach(async () => {
    await closeSdkPages(pages)
    pages = []
  })

  afterAll(async () => {
    const closed = await Promise.allSettled([browser?.close(), server?.close(), relay?.stop()])
    throwFirstRejection(closed)
  })

  async function open (page: Page): Promise<void> {
    await page.goto(server!.url('sdk'), { timeout: 15_000 })
    await page.waitForFunction(() => 'sdkPage' in window, undefined, { timeout: 10_000 })
  }

  async function startKept (page: Page, name: string, keyLabel?: string): Promise<{ peerId: string } | { name: string, message: string }> {
    return runSdk(page, async (sdk, a) => sdk.startKept(...(a as [string, string, string | undefined])), [relay!.addr, name, keyLabel])
  }

  it('AuraLink.create({ relays }) then register("@reload.aura"); after a reload the same calls give the same peer id and the name registers again', async () => {
    const page = await browser!.newPage('reload')
    pages.push(page)
    await open(page)
    const first = await startKept(page, '@reload.aura')
    expect(first).toMatchObject({ peerId: expect.stringMatching(/^12D3Koo/) })

    await page.reload()
    await page.waitForFunction(() => 'sdkPage' in window, undefined, { timeout: 10_000 })
    // a new key would get NAME_TAKEN from the directory: the same key comes back from IndexedDB
    expect(await startKept(page, '@reload.aura')).toEqual(first)
  })

  it('AuraLink.create({ relays: ["ws://127.0.0.1:<port>"] }) in Chromium learns the relay\'s peer id from its handshake and registers', async () => {
    const page = await browser!.newPage('ws-url')
    pages.push(page)
    await open(page)
    const port = /\/tcp\/(\d+)\//.exec(relay!.addr)![1]!
    const started = await runSdk(page, async (sdk, a) => sdk.startKept(...(a as [string, string, string])), [`ws://127.0.0.1:${port}`, '@ws-url.aura', '@ws-url.aura'])
    expect(started).toMatchObject({ peerId: expect.stringMatching(/^12D3Koo/) })
    expect(await runSdk(page, (sdk) => sdk.relayAddrs())).toEqual([relay!.addr])
  })

  it('a second tab of the same browser on the same key gets KeyInUseError saying to use another keyLabel; with its own keyLabel it is another peer', async () => {
    const page = await browser!.newPage('tab-1')
    pages.push(page)
    await open(page)
    const first = await startKept(page, '@tab-one.aura')
    expect(first).toMatchObject({ peerId: expect.stringMatching(/^12D3Koo/) })

    // another tab of the same browser context: the same origin, the same IndexedDB and Web Locks
    const tab = await page.context().newPage()
    await open(tab)
    const refused = await startKept(tab, '@tab-two.aura')
    expect(refused).toMatchObject({ name: 'KeyInUseError', message: expect.stringContaining('another keyLabel') })
    const second = await startKept(tab, '@tab-two.aura', '@tab-two.aura')
    expect(second).toMatchObject({ peerId: expect.stringMatching(/^12D3Koo/) })
    expect((second as { peerId: string }).peerId).not.toBe((first as { peerId: string }).peerId)
    await runSdk(tab, async (sdk) => sdk.stop())
    await tab.close()
  })
})
