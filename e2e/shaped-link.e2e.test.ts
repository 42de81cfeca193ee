import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchShapedBrowser, queuePacketsFor } from './harness/shaped-link.js'
import { selectedCandidatePairs, trackPeerConnections } from './harness/webrtc.js'
import type { ShapedBrowser } from './harness/shaped-link.js'
import type { SdkPageWindow } from './pages/sdk.js'
import type { Page } from 'playwright-core'

// The shaped link of e2e/harness/shaped-link.ts, measured: Chromium in a child namespace whose
// `lo` carries the UDP between its pages through an HTB class of a set rate. A raw
// RTCDataChannel between two pages (e2e/pages/rawdc.ts) must not beat the rate, must come near
// it, and must run far faster once the shaping is lifted; page loads and the relay's
// WebSocket (TCP) must not be shaped at all.
describe('launchShapedBrowser(): two Chromium pages across a rate-limited link', () => {
  let shaped: ShapedBrowser | undefined
  const pages: Page[] = []

  async function page (label: string): Promise<Page> {
    const p = await shaped!.browser.newPage(label)
    pages.push(p)
    await trackPeerConnections(p)
    await p.goto(shaped!.server.url('sdk'), { timeout: 30_000 })
    await p.waitForFunction(() => 'sdkPage' in window, undefined, { timeout: 10_000 })
    return p
  }

  /** Opens a raw data channel from a to b, signalled through Node. */
  async function connect (a: Page, b: Page): Promise<void> {
    const offer = await a.evaluate(async () => (window as unknown as SdkPageWindow).sdkPage.raw.offer())
    const answer = await b.evaluate(async (o) => (window as unknown as SdkPageWindow).sdkPage.raw.answer(o), offer)
    await a.evaluate(async (s) => { await (window as unknown as SdkPageWindow).sdkPage.raw.accept(s) }, answer)
  }

  /** kbit/s of payload from a to b: `bytes` sent on the raw channel, timed until b acknowledged them all. */
  async function throughput (a: Page, bytes: number): Promise<{ kbit: number, ms: number }> {
    const ms = await a.evaluate(async (n) => (window as unknown as SdkPageWindow).sdkPage.raw.send(n), bytes)
    return { kbit: bytes * 8 / ms, ms }
  }

  beforeAll(async () => {
    shaped = await launchShapedBrowser({ n: 41, rateKbit: 300, pages: ['sdk'], relay: true })
  })

  afterAll(async () => {
    for (const p of pages) await p.evaluate(async () => { await (window as unknown as SdkPageWindow).sdkPage.stop() }).catch(() => {})
    await shaped?.close()
  })

  it('setRate(300): a data channel between two pages carries at most ~330 kbit/s and at least 100, through the shaped class at no more than 315 on the wire; setRate(undefined) lifts the limit', async () => {
    const link = shaped!.link
    expect(link.rateKbit).toBe(300)
    expect(link.queuePackets).toBe(queuePacketsFor(300))
    const a = await page('a')
    const b = await page('b')
    await connect(a, b)

    // both ends of the data channel are the browser's own address in the child namespace, so its
    // packets cross the child's `lo`, where the shaping is
    const pairs = await selectedCandidatePairs(a)
    expect(pairs.length).toBe(1)
    expect(pairs[0]!.local.address).toBe(link.browserAddr)
    expect(pairs[0]!.local.protocol).toBe('udp')

    // 10 s of data at 300 kbit/s. The payload rate is below the link's (SCTP, DTLS, UDP and IP
    // headers, the SACKs coming back over the same `lo`, retransmissions after tail drops); the
    // shaped queue's own byte counter gives the rate on the wire
    const bytes = 375_000
    const before = await link.stats()
    const shapedRun = await throughput(a, bytes)
    const after = await link.stats()
    const wireKbit = (after.bytes - before.bytes) * 8 / shapedRun.ms
    console.error(`[shaped-link] 300 kbit/s link: ${bytes} bytes in ${Math.round(shapedRun.ms)} ms = ${shapedRun.kbit.toFixed(1)} kbit/s of payload; the shaped queue passed ${after.bytes - before.bytes} bytes (${wireKbit.toFixed(1)} kbit/s on the wire) and dropped ${after.drops - before.drops} packets`)
    expect(shapedRun.kbit).toBeLessThanOrEqual(330)
    expect(shapedRun.kbit).toBeGreaterThanOrEqual(100) // a third of the rate: the link passes data (seen: 225)
    // everything the channel carried went through the class, at no more than the rate
    expect(after.bytes - before.bytes).toBeGreaterThanOrEqual(bytes)
    expect(wireKbit).toBeLessThanOrEqual(315)

    // the same channel unshaped: the limit above was the link's, not the pages'
    await shaped!.setRate(undefined)
    expect(link.rateKbit).toBeUndefined()
    // what was queued before the lift still drains through the class (on a loaded machine, SACKs
    // of the run's tail left after `after` was read): the baseline is taken once it is empty
    let lifted = await link.stats()
    for (let i = 0; i < 50 && lifted.backlogBytes > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      lifted = await link.stats()
    }
    expect(lifted.backlogBytes).toBe(0)
    const free = await throughput(a, 4_000_000)
    console.error(`[shaped-link] unshaped: 4000000 bytes in ${Math.round(free.ms)} ms = ${free.kbit.toFixed(0)} kbit/s`)
    expect(free.kbit).toBeGreaterThan(2000) // seen: over 100,000
    // nothing of the unshaped run went through the class
    expect((await link.stats()).bytes).toBe(lifted.bytes)

    // and shaped again, at another rate, on the live channel
    await shaped!.setRate(600)
    const before600 = await link.stats()
    const again = await throughput(a, 450_000)
    const wire600 = ((await link.stats()).bytes - before600.bytes) * 8 / again.ms
    console.error(`[shaped-link] 600 kbit/s link: 450000 bytes in ${Math.round(again.ms)} ms = ${again.kbit.toFixed(1)} kbit/s of payload, ${wire600.toFixed(1)} kbit/s on the wire`)
    expect(again.kbit).toBeLessThanOrEqual(660)
    expect(again.kbit).toBeGreaterThanOrEqual(200) // seen: 385
    expect(wire600).toBeLessThanOrEqual(630)
    await a.evaluate(() => { (window as unknown as SdkPageWindow).sdkPage.raw.close() })
    await b.evaluate(() => { (window as unknown as SdkPageWindow).sdkPage.raw.close() })
  })

  it('setRate(150): a page load (the SDK bundle, over 1 MB) runs at TCP speed and the relay\'s WebSocket registers a name: only UDP is shaped', async () => {
    await shaped!.setRate(150)
    const c = await page('c')
    const load = await c.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming
      const resources = performance.getEntriesByType('resource') as PerformanceResourceTiming[]
      const bytes = [nav, ...resources].reduce((sum, e) => sum + e.encodedBodySize, 0)
      const end = Math.max(nav.responseEnd, ...resources.map((r) => r.responseEnd))
      return { bytes, ms: end - nav.startTime }
    })
    const kbit = load.bytes * 8 / load.ms
    console.error(`[shaped-link] page load across a 150 kbit/s link: ${load.bytes} bytes in ${Math.round(load.ms)} ms = ${kbit.toFixed(0)} kbit/s`)
    expect(load.bytes).toBeGreaterThan(1_000_000)
    expect(kbit).toBeGreaterThan(600) // 4x the shaped rate: TCP is not shaped

    const relay = shaped!.relay!
    expect(relay.addr.startsWith(`/ip4/${shaped!.relayHost}/tcp/`)).toBe(true)
    const peerId = await c.evaluate(async (r) => (window as unknown as SdkPageWindow).sdkPage.start(r, '@shaped-c.aura'), relay.addr)
    expect(peerId).toMatch(/^12D3Koo/)
  })

  it('setRate() refuses a rate that is not a number of kbit/s from 8 up, naming it', async () => {
    await expect(shaped!.setRate(0)).rejects.toThrow(/kbit\/s from 8 to 10000000.*got 0/)
    await expect(shaped!.setRate(Number.NaN)).rejects.toThrow(/got NaN/)
    await expect(shaped!.setRate('300' as unknown as number)).rejects.toThrow(RangeError)
    expect(shaped!.link.rateKbit).toBe(150)
  })
})
