import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser } from './harness/browser.js'
import { startRelay } from './harness/relay.js'
import { closeSdkPages, runSdk, waitSdkState } from './harness/sdk-page.js'
import { servePages } from './harness/server.js'
import { throwFirstRejection } from './harness/settled.js'
import type { E2eBrowser } from './harness/browser.js'
import type { E2eRelay } from './harness/relay.js'
import type { PageServer } from './harness/server.js'
import type { Page } from 'playwright-core'

// @auralink/sdk in real Chromium, in the test network namespace, against a real relay-node
// process: two pages (a browser context each, fake camera and microphone) call each other by
// AuraID with audio and video, chat, send a 5 MB file, hang up, reject, call someone unknown,
// and vanish mid-call.
describe('@auralink/sdk calls between two Chromium pages through a real relay node', () => {
  let relay: E2eRelay | undefined
  let server: PageServer | undefined
  let browser: E2eBrowser | undefined
  let pages: Page[] = []
  let n = 0

  const run = runSdk

  /** A page with a started client registered as @<label>-<n>.aura. */
  async function user (label: string): Promise<{ page: Page, name: string }> {
    const page = await browser!.newPage(label)
    pages.push(page)
    await page.goto(server!.url('sdk'), { timeout: 15_000 })
    await page.waitForFunction(() => 'sdkPage' in window, undefined, { timeout: 10_000 })
    const name = `@${label}-${++n}.aura`
    await run(page, async (sdk, a) => sdk.start((a as string[])[0]!, (a as string[])[1]!), [relay!.addr, name])
    return { page, name }
  }

  const waitState = waitSdkState

  async function until (what: string, cond: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs
    while (!(await cond())) {
      if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`)
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  }

  beforeAll(async () => {
    const started = await Promise.allSettled([
      // every page comes from 127.0.0.1, and a stopped page's reservation is held until it expires:
      // more than the relay's default 8 per address over this file's tests
      startRelay({ args: ['--max-reservations-per-address', '64'] }).then((r) => { relay = r }),
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

  it('call("@bob.aura", { audio, video }): both connect, both see video frames advance and audio bytes grow; chat both ways; a 5 MB file arrives with progress and a matching SHA-256; hangup() ends both', async () => {
    const alice = await user('alice')
    const bob = await user('bob')
    expect(await run(alice.page, async (sdk, a) => sdk.call(a as string, { audio: true, video: true }), bob.name)).toBeNull()
    await waitState(alice.page, 'connected', 30_000)
    await waitState(bob.page, 'connected', 10_000)

    // video decoding and audio flowing on both sides
    for (const { page } of [alice, bob]) {
      await until('a remote audio and video track', async () => {
        const t = await run(page, (sdk) => sdk.remoteTracks())
        return t.audio === 1 && t.video === 1
      }, 10_000)
      const frames0 = await run(page, (sdk) => sdk.videoFrames())
      const stats0 = await run(page, async (sdk) => sdk.stats())
      await until('video frames advancing', async () => (await run(page, (sdk) => sdk.videoFrames())) > frames0 + 10, 10_000)
      await until('audio bytes growing', async () => {
        const s = await run(page, async (sdk) => sdk.stats())
        return (s.audio?.bytesReceived ?? 0) > (stats0.audio?.bytesReceived ?? 0) + 1000
      }, 10_000)
      const stats = await run(page, async (sdk) => sdk.stats())
      expect(stats.path).toBe('direct')
      expect(stats.codecs.video).toMatch(/^video\//)
      expect(stats.codecs.audio).toMatch(/^audio\//)
      expect(stats.video?.framesDecoded).toBeGreaterThan(0)
      expect(stats.rttMs).toBeGreaterThanOrEqual(0)
    }

    // chat both ways
    await run(alice.page, async (sdk) => sdk.send('hello bob'))
    await run(bob.page, async (sdk) => sdk.send('hello alice'))
    await until('bob got the message', async () => (await run(bob.page, (sdk) => sdk.messages())).includes('hello bob'), 5_000)
    await until('alice got the message', async () => (await run(alice.page, (sdk) => sdk.messages())).includes('hello alice'), 5_000)

    // a 5 MB file with progress and a checksum checked on arrival
    const size = 5 * 1024 * 1024
    const sent = await run(alice.page, async (sdk, a) => sdk.sendFile(a as number), size)
    expect(sent.error).toBeUndefined()
    expect(sent.lastProgress).toBe(size)
    expect(sent.progressEvents).toBeGreaterThan(10)
    await until('bob has the file', async () => (await run(bob.page, (sdk) => sdk.files())).some((f) => f.sha256 !== '' || f.error !== undefined), 10_000)
    const [file] = await run(bob.page, (sdk) => sdk.files())
    expect(file?.error).toBeUndefined()
    expect(file?.size).toBe(size)
    expect(file?.sha256).toBe(sent.sha256)
    expect(file?.lastProgress).toBe(size)
    expect(file?.progressEvents).toBeGreaterThan(10)

    // the callee adds a track (as a screen share does): renegotiation, and the caller gets it
    const shared = await run(bob.page, (sdk) => sdk.addCanvasTrack())
    await until('alice receives bob\'s added track', async () =>
      (await run(alice.page, (sdk) => sdk.remoteTrackLog())).some((t) => t.stream === shared && t.kind === 'video' && t.state === 'live'), 15_000)
    expect((await run(alice.page, (sdk) => sdk.states())).map((s) => s.state)).not.toContain('ended')

    // hangup ends both
    await run(alice.page, async (sdk) => sdk.hangup())
    expect((await waitState(alice.page, 'ended', 5_000)).reason).toBe('hangup')
    expect((await waitState(bob.page, 'ended', 5_000)).reason).toBe('remote-hangup')
  })

  it('call("@bob.aura", { audio, video }) sends its first offer with the invite: stats().setup shows the offer made before the invite went, the callee answering after its accept, both connected', async () => {
    const alice = await user('alice')
    const bob = await user('bob')
    expect(await run(alice.page, async (sdk, a) => sdk.call(a as string, { audio: true, video: true }), bob.name)).toBeNull()
    await waitState(alice.page, 'connected', 30_000)
    await waitState(bob.page, 'connected', 10_000)
    const caller = await run(alice.page, async (sdk) => sdk.setup())
    const callee = await run(bob.page, async (sdk) => sdk.setup())
    // the caller: local media and its offer before the invite; a new connection (bob was never called)
    expect(caller.reusedConnection).toBe(false)
    for (const step of ['media', 'resolved', 'dialled', 'stream', 'offer', 'invited', 'accepted', 'negotiated', 'connected'] as const) expect(caller[step], step).toBeTypeOf('number')
    expect(caller.offer!).toBeLessThanOrEqual(caller.invited!)
    expect(caller.accepted!).toBeLessThanOrEqual(caller.negotiated!)
    // the callee: no step of an outgoing call; its accept before the negotiation it finished with its answer
    expect(callee.offer).toBeUndefined()
    expect(callee.accepted!).toBeLessThanOrEqual(callee.negotiated!)
    expect(callee.connected).toBeTypeOf('number')
    await run(alice.page, async (sdk) => sdk.hangup())
    await waitState(bob.page, 'ended', 5_000)
    // a second call goes over the connection the first one opened
    expect(await run(alice.page, async (sdk, a) => sdk.call(a as string, { audio: true, video: true }), bob.name)).toBeNull()
    await waitState(alice.page, 'connected', 30_000)
    expect((await run(alice.page, async (sdk) => sdk.setup())).reusedConnection).toBe(true)
  })

  it('call() aborted while the connection dials, its media negotiation already started: no RTCPeerConnection is left open and the camera is off', async () => {
    const alice = await user('alice')
    const bob = await user('bob')
    // bob's page busy for 4 s: the WebRTC dial to it cannot finish before alice's call() gives up
    const busy = run(bob.page, () => { const end = Date.now() + 4000; while (Date.now() < end); }).catch(() => {})
    const err = await run(alice.page, async (sdk, a) => sdk.call(a as string, { audio: true, video: true, abortAfterMs: 1500 }), bob.name)
    await busy
    expect(err).not.toBeNull()
    const pcs = await run(alice.page, (sdk) => sdk.mediaPeerConnections())
    // the offer was made while the dial hung, and its peer connection closed when call() failed
    expect(pcs.created).toBeGreaterThanOrEqual(1)
    expect(pcs.open).toBe(0)
    expect(await run(alice.page, (sdk) => sdk.liveLocalTracks())).toBe(0)
  })

  it('call() to a peer whose client stopped fails with PeerOfflineError, leaving no RTCPeerConnection open and the camera off', async () => {
    const alice = await user('alice')
    const bob = await user('bob')
    await run(bob.page, async (sdk) => sdk.stop())
    const err = await run(alice.page, async (sdk, a) => sdk.call(a as string, { audio: true, video: true }), bob.name)
    expect(err?.name).toBe('PeerOfflineError')
    expect((await run(alice.page, (sdk) => sdk.mediaPeerConnections())).open).toBe(0)
    expect(await run(alice.page, (sdk) => sdk.liveLocalTracks())).toBe(0)
  })

  it('call() with the camera and microphone denied (Chromium told to refuse them) fails with MediaAccessDeniedError, which wins over the unknown name it met meanwhile', async () => {
    // a browser of its own: its fake permission UI denies every media request
    const denying = await launchBrowser({ args: ['--use-fake-ui-for-media-stream=deny'] })
    try {
      const page = await denying.newPage('denied')
      await page.goto(server!.url('sdk'), { timeout: 15_000 })
      await page.waitForFunction(() => 'sdkPage' in window, undefined, { timeout: 10_000 })
      await run(page, async (sdk, a) => sdk.start(a as string, '@denied-e2e.aura'), relay!.addr)
      const err = await run(page, async (sdk) => sdk.call('@whoever-e2e.aura', { audio: true, video: true }))
      expect(err?.name).toBe('MediaAccessDeniedError')
      expect(err?.message).toMatch(/microphone and camera was denied/)
      await run(page, async (sdk) => sdk.stop())
    } finally {
      await denying.close()
    }
  })

  it('call("@nobody.aura") fails with AuraIdNotFoundError within 5 s', async () => {
    const alice = await user('alice')
    const err = await run(alice.page, async (sdk) => sdk.call('@nobody-at-all.aura', { audio: true, video: true }))
    expect(err?.name).toBe('AuraIdNotFoundError')
    expect(err?.ms).toBeLessThan(5_000)
  })

  it('reject("in a meeting"): the caller sees "rejected" with the reason', async () => {
    const alice = await user('alice')
    const bob = await user('bob')
    await run(bob.page, (sdk) => { sdk.answer('reject', 'in a meeting') })
    expect(await run(alice.page, async (sdk, a) => sdk.call(a as string, { audio: true, video: true }), bob.name)).toBeNull()
    const ended = await waitState(alice.page, 'ended', 10_000)
    expect(ended.reason).toBe('rejected')
    expect(ended.message).toBe('in a meeting')
  })

  it('closing bob\'s page mid-call ends alice\'s call with a reason within 10 s', async () => {
    const alice = await user('alice')
    const bob = await user('bob')
    expect(await run(alice.page, async (sdk, a) => sdk.call(a as string, { audio: true, video: true }), bob.name)).toBeNull()
    await waitState(alice.page, 'connected', 30_000)
    await bob.page.close()
    const t0 = Date.now()
    const ended = await waitState(alice.page, 'ended', 10_000)
    expect(Date.now() - t0).toBeLessThan(10_000)
    expect(['peer-vanished', 'connection-lost', 'media-failed', 'remote-hangup']).toContain(ended.reason)
  })
})
