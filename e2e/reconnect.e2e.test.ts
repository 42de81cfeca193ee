import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser } from './harness/browser.js'
import { linkDown, linkUp, renumber, restoreLinks } from './harness/netns-link.js'
import { startRelay } from './harness/relay.js'
import { closeSdkPages, runSdk, waitSdkState } from './harness/sdk-page.js'
import { servePages } from './harness/server.js'
import { throwFirstRejection } from './harness/settled.js'
import type { E2eBrowser } from './harness/browser.js'
import type { E2eRelay } from './harness/relay.js'
import type { PageServer } from './harness/server.js'
import type { Page } from 'playwright-core'

// Calls that survive a network drop (packages/sdk/README.md "Reconnecting"), in real Chromium,
// in the namespace of scripts/netns.sh: the pages' media and call streams run over the
// namespace's veth pair, the relay listens on loopback (which stays up). The tests take the veth
// down, renumber it, or keep it down past the limit, and watch what each page's call does.
describe('@auralink/sdk calls reconnect after the network drops (Chromium, real relay)', () => {
  let relay: E2eRelay | undefined
  let server: PageServer | undefined
  let browser: E2eBrowser | undefined
  let pages: Page[] = []
  let n = 0
  const run = runSdk

  async function user (label: string, reconnectTimeoutMs?: number): Promise<{ page: Page, name: string }> {
    const page = await browser!.newPage(label)
    pages.push(page)
    await page.goto(server!.url('sdk'), { timeout: 15_000 })
    await page.waitForFunction(() => 'sdkPage' in window, undefined, { timeout: 10_000 })
    const name = `@${label}-${++n}.aura`
    await run(page, async (sdk, a) => { const [r, nm, t] = a as [string, string, number | undefined]; return sdk.start(r, nm, undefined, t) }, [relay!.addr, name, reconnectTimeoutMs])
    return { page, name }
  }

  async function until (what: string, cond: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs
    while (!(await cond())) {
      if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms (${await situation()})`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  async function connectedCall (reconnectTimeoutMs?: number): Promise<{ alice: Page, bob: Page }> {
    const alice = await user('alice', reconnectTimeoutMs)
    const bob = await user('bob', reconnectTimeoutMs)
    expect(await run(alice.page, async (sdk, a) => sdk.call(a as string, { audio: true, video: true }), bob.name)).toBeNull()
    await waitSdkState(alice.page, 'connected', 30_000)
    await waitSdkState(bob.page, 'connected', 10_000)
    for (const page of [alice.page, bob.page]) await framesAdvance(page, 'before the drop')
    return { alice: alice.page, bob: bob.page }
  }

  async function framesAdvance (page: Page, when: string, timeoutMs = 10_000): Promise<void> {
    const f0 = await run(page, (sdk) => sdk.videoFrames())
    await until(`remote video frames advancing ${when}`, async () => (await run(page, (sdk) => sdk.videoFrames())) > f0 + 10, timeoutMs)
  }

  /** Each page's call states and received messages, for failure messages. */
  async function situation (): Promise<string> {
    const out: string[] = []
    for (const page of pages) {
      const seen = await run(page, (sdk) => sdk.states().map((s) => `${s.state}${s.reason !== undefined ? `(${s.reason}: ${s.message ?? ''})` : ''}`)).catch((err: Error) => [err.message])
      const got = await run(page, (sdk) => sdk.messages()).catch(() => [])
      out.push(`${page.url().split('/').pop() ?? ''} states ${seen.join(' > ')}; messages ${got.join(',')}`)
    }
    return out.join('; ')
  }

  const states = async (page: Page): Promise<string[]> => (await run(page, (sdk) => sdk.states())).map((s) => s.state)
  const lastState = async (page: Page): Promise<string | undefined> => (await states(page)).at(-1)
  const say = async (page: Page, text: string): Promise<void> => { await run(page, async (sdk, t) => sdk.send(t as string), text) }

  beforeAll(async () => {
    const started = await Promise.allSettled([
      startRelay().then((r) => { relay = r }),
      servePages(['sdk']).then((s) => { server = s }),
      launchBrowser().then((b) => { browser = b })
    ])
    throwFirstRejection(started)
  })

  afterEach(async () => {
    // whatever a test left broken, the next one starts from the namespace as netns.sh made it
    await restoreLinks()
    await closeSdkPages(pages)
    pages = []
  })

  afterAll(async () => {
    const closed = await Promise.allSettled([browser?.close(), server?.close(), relay?.stop()])
    throwFirstRejection(closed)
  })

  it('the veth down for 5 s mid-call: both calls go "reconnecting" then "connected", remote video frames advance again, and every chat message (before, during, after) arrives exactly once, in order', async () => {
    const { alice, bob } = await connectedCall()
    await say(alice, 'a1')
    await say(bob, 'b1')
    await until('the first messages', async () => (await run(bob, (sdk) => sdk.messages())).length === 1 && (await run(alice, (sdk) => sdk.messages())).length === 1, 5_000)

    await linkDown()
    const downAt = Date.now()
    await until('both calls reconnecting', async () => (await states(alice)).includes('reconnecting') && (await states(bob)).includes('reconnecting'), 5_000)
    // sent while the path is down: they go once the call is resumed (through the relay)
    await say(alice, 'a2')
    await say(bob, 'b2')
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 5_000 - (Date.now() - downAt))))
    await say(alice, 'a3')
    await linkUp()

    await until('both calls connected again', async () => (await lastState(alice)) === 'connected' && (await lastState(bob)) === 'connected', 20_000)
    for (const page of [alice, bob]) await framesAdvance(page, 'after the drop', 15_000)
    await say(alice, 'a4')
    await say(bob, 'b3')
    await until('every message', async () => (await run(bob, (sdk) => sdk.messages())).length >= 4 && (await run(alice, (sdk) => sdk.messages())).length >= 3, 10_000)
    expect(await run(bob, (sdk) => sdk.messages())).toEqual(['a1', 'a2', 'a3', 'a4'])
    expect(await run(alice, (sdk) => sdk.messages())).toEqual(['b1', 'b2', 'b3'])
    for (const page of [alice, bob]) {
      const seen = await states(page)
      expect(seen).not.toContain('ended')
      expect(seen.slice(seen.indexOf('reconnecting'))).toEqual(['reconnecting', 'connected'])
      expect((await run(page, async (sdk) => sdk.stats())).reconnects).toBe(1)
    }
  })

  it('both ends of the veth renumbered mid-call (every host candidate gone, new addresses): the call reconnects and video and chat go on', async () => {
    const { alice, bob } = await connectedCall()
    await renumber(11, 12)
    await until('both calls reconnecting', async () => (await states(alice)).includes('reconnecting') && (await states(bob)).includes('reconnecting'), 10_000)
    await until('both calls connected again', async () => (await lastState(alice)) === 'connected' && (await lastState(bob)) === 'connected', 20_000)
    for (const page of [alice, bob]) await framesAdvance(page, 'on the new addresses', 15_000)
    await say(alice, 'after')
    await until('the message', async () => (await run(bob, (sdk) => sdk.messages())).includes('after'), 10_000)
    expect(await run(bob, (sdk) => sdk.messages())).toEqual(['after'])
  })

  it('the veth down for longer than reconnect.timeoutMs (3 s here): both calls end with "connection-lost"', async () => {
    const { alice, bob } = await connectedCall(3_000)
    await linkDown()
    const [a, b] = await Promise.all([waitSdkState(alice, 'ended', 15_000), waitSdkState(bob, 'ended', 15_000)])
    expect(a.reason).toBe('connection-lost')
    expect(b.reason).toBe('connection-lost')
    expect(await states(alice)).toContain('reconnecting')
    expect(await states(bob)).toContain('reconnecting')
  })
})
