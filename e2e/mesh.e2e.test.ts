import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser } from './harness/browser.js'
import { startRelay } from './harness/relay.js'
import { servePages } from './harness/server.js'
import { selectedCandidatePairs, trackPeerConnections } from './harness/webrtc.js'
import { throwFirstRejection } from './harness/settled.js'
import type { E2eBrowser } from './harness/browser.js'
import type { E2eRelay } from './harness/relay.js'
import type { PageServer } from './harness/server.js'
import type { MeshPageWindow } from './pages/mesh.js'
import type { Page } from 'playwright-core'

// @auralink/mesh in real Chromium, in the test network namespace: a real relay-node process on
// 127.0.0.1, two pages in one browser, each in a browser context of its own (separate storage,
// as two users on one machine would have; one browser process is lighter on 2 cores than two).
// Each page's mesh node holds a reservation on the relay over WebSockets and registers an AuraID;
// alice dials bob by name over /p2p-circuit/webrtc and the connection is direct WebRTC.
describe('@auralink/mesh in Chromium through a real relay node', () => {
  let relay: E2eRelay | undefined
  let server: PageServer | undefined
  let browser: E2eBrowser | undefined
  let alice: Page
  let bob: Page
  const pages: Page[] = []

  async function meshPage (label: string): Promise<Page> {
    const page = await browser!.newPage(label)
    pages.push(page)
    await trackPeerConnections(page)
    await page.goto(server!.url('mesh'), { timeout: 15_000 })
    await page.waitForFunction(() => 'meshPage' in window, undefined, { timeout: 10_000 })
    return page
  }

  beforeAll(async () => {
    // all three at once; whichever started is stopped in afterAll even if another failed
    const started = await Promise.allSettled([
      startRelay().then((r) => { relay = r }),
      servePages(['mesh']).then((s) => { server = s }),
      launchBrowser().then((b) => { browser = b })
    ])
    throwFirstRejection(started)
    alice = await meshPage('alice')
    bob = await meshPage('bob')
    const addr = relay!.addr
    await Promise.all([alice, bob].map(async (page) =>
      page.evaluate(async (relayAddr) => (window as unknown as MeshPageWindow).meshPage.start(relayAddr), addr)))
  })

  afterAll(async () => {
    // stop the mesh nodes first (5 s each at most), so the relay sees clean closes; then the rest
    for (const page of pages) {
      let timer: ReturnType<typeof setTimeout> | undefined
      await Promise.race([
        page.evaluate(async () => (window as unknown as MeshPageWindow).meshPage.stop()).catch(() => {}),
        new Promise((resolve) => { timer = setTimeout(resolve, 5_000) })
      ])
      clearTimeout(timer)
    }
    const closed = await Promise.allSettled([browser?.close(), server?.close(), relay?.stop()])
    throwFirstRejection(closed)
  })

  it('dial("@bob-e2e.aura") from one page to another gives a direct WebRTC connection that echoes 64 KiB intact', async () => {
    await alice.evaluate(async () => (window as unknown as MeshPageWindow).meshPage.register('@alice-e2e.aura'))
    await bob.evaluate(async () => {
      const { meshPage } = window as unknown as MeshPageWindow
      await meshPage.register('@bob-e2e.aura')
      await meshPage.handleEcho()
    })
    const bobPeerId = await bob.evaluate(async () => (window as unknown as MeshPageWindow).meshPage.peerId())

    const data = randomBytes(64 * 1024)
    const result = await alice.evaluate(async ([name, b64]) => (window as unknown as MeshPageWindow).meshPage.echo(name, b64),
      ['@bob-e2e.aura', data.toString('base64')] as const)

    expect(result.path).toBe('direct')
    expect(result.direct).toBe(true)
    expect(result.remoteAddr).toContain('/webrtc')
    expect(result.limited).toBe(false) // a relayed circuit carries the relay's limits
    expect(result.remotePeer).toBe(bobPeerId)
    const echoed = Buffer.from(result.echoed, 'base64')
    expect(echoed.length).toBe(data.length)
    expect(echoed.equals(data)).toBe(true)
    // and ICE agrees: each end sends from a host candidate on the namespace's veth addresses, and
    // the far end is a host or peer-reflexive candidate (never TURN). Chromium hides the address of
    // a peer-reflexive remote candidate (learned from a STUN check before its signalling arrived),
    // so each page vouches for its own end
    for (const page of [alice, bob]) {
      const pairs = await selectedCandidatePairs(page)
      expect(pairs.length).toBeGreaterThan(0)
      for (const { local, remote } of pairs) {
        expect(local.candidateType).toBe('host')
        expect(local.address).toMatch(/^10\.213\.0\.\d+$/)
        expect(['host', 'prflx']).toContain(remote.candidateType)
        if (remote.candidateType === 'host') expect(remote.address).toMatch(/^10\.213\.0\.\d+$/)
      }
    }
    expect(browser!.errors().filter((e) => e.includes('page error'))).toEqual([])
  })

  it('resolve("@nobody-e2e.aura") rejects with AuraIdNotFoundError within 5 s', async () => {
    const failure = await alice.evaluate(async () =>
      (window as unknown as MeshPageWindow).meshPage.resolveError('@nobody-e2e.aura', 5_000))
    expect(failure).toMatchObject({ name: 'AuraIdNotFoundError' })
    expect(failure!.ms).toBeLessThan(5_000)
  })
})
