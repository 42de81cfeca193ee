import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser } from './harness/browser.js'
import { launchFirefox } from './harness/firefox.js'
import { startRelay } from './harness/relay.js'
import { closeSdkPages, runSdk, waitSdkState } from './harness/sdk-page.js'
import { servePages } from './harness/server.js'
import { throwFirstRejection } from './harness/settled.js'
import type { E2eBrowser } from './harness/browser.js'
import type { E2eFirefox } from './harness/firefox.js'
import type { E2eRelay } from './harness/relay.js'
import type { SdkPageHandle } from './harness/sdk-page.js'
import type { PageServer } from './harness/server.js'
import type { Page as ChromiumPage } from 'playwright-core'
import type { Page as FirefoxPage } from 'puppeteer-core'

// @auralink/sdk in Debian's Firefox ESR (driven by puppeteer-core over WebDriver BiDi) and in
// Debian's Chromium (Playwright), in the test network namespace, against a real relay-node
// process: the e2e/pages/sdk.html page of sdk-call.e2e.test.ts, in each browser. Calls go
// Chromium -> Firefox, Firefox -> Chromium and Firefox -> Firefox, each with audio and video
// (remote frames presented, audio bytes growing), a chat message each way and a file each way
// whose bytes arrive with a matching SHA-256; then a hangup ends both sides.
describe('@auralink/sdk calls between Firefox ESR and Chromium through a real relay node', () => {
  let relay: E2eRelay | undefined
  let server: PageServer | undefined
  let chromium: E2eBrowser | undefined
  let firefox: E2eFirefox | undefined
  let chromiumPages: ChromiumPage[] = []
  let firefoxPages: FirefoxPage[] = []
  let n = 0

  interface User { page: SdkPageHandle, name: string, browser: 'chromium' | 'firefox' }

  /** A page in `kind` with a started client registered as @<label>-<n>.aura. */
  async function user (kind: 'chromium' | 'firefox', label: string): Promise<User> {
    let page: SdkPageHandle
    if (kind === 'chromium') {
      const p = await chromium!.newPage(label)
      chromiumPages.push(p)
      await p.goto(server!.url('sdk'), { timeout: 15_000 })
      await p.waitForFunction(() => 'sdkPage' in window, undefined, { timeout: 10_000 })
      page = p
    } else {
      const p = await firefox!.newPage(label)
      firefoxPages.push(p)
      await p.goto(server!.url('sdk'), { timeout: 30_000 })
      await p.waitForFunction(() => 'sdkPage' in window, { timeout: 15_000 })
      page = p as unknown as SdkPageHandle
    }
    const name = `@${label}-${++n}.aura`
    await runSdk(page, async (sdk, a) => sdk.start((a as string[])[0]!, (a as string[])[1]!), [relay!.addr, name])
    return { page, name, browser: kind }
  }

  /** The remote <video> element's clock, width and a digest of the picture it holds now (drawn into a small canvas). */
  async function remoteVideo (page: SdkPageHandle): Promise<{ time: number, width: number, picture: string }> {
    return page.evaluate(() => {
      const v = document.getElementById('remote') as HTMLVideoElement
      const c = document.createElement('canvas')
      c.width = 32
      c.height = 24
      const g = c.getContext('2d')!
      if (v.videoWidth > 0) g.drawImage(v, 0, 0, c.width, c.height)
      const px = g.getImageData(0, 0, c.width, c.height).data
      let h = 0
      for (let i = 0; i < px.length; i++) h = (h * 31 + px[i]!) >>> 0
      return { time: v.currentTime, width: v.videoWidth, picture: h.toString(16) }
    }, undefined)
  }

  async function until (what: string, cond: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs
    while (!(await cond())) {
      if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`)
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
  }

  /** `from` calls `to` with audio and video; audio, video, chat and a file each way are checked; `from` hangs up. */
  async function callAndCheck (from: User, to: User): Promise<void> {
    expect(await runSdk(from.page, async (sdk, a) => sdk.call(a as string, { audio: true, video: true }), to.name)).toBeNull()
    await waitSdkState(from.page, 'connected', 45_000)
    await waitSdkState(to.page, 'connected', 15_000)

    for (const side of [from, to]) {
      const who = `${side.browser} ${side.name}`
      await until(`${who}: a live remote audio and video track`, async () => {
        const t = await runSdk(side.page, (sdk) => sdk.remoteTracks())
        return t.audio === 1 && t.video === 1
      }, 15_000)
      // frames arrive: decoded (stats), and the remote <video> element plays them: its clock
      // advances and its picture changes. (Headless Firefox composites nothing, so the
      // presented-frame count that sdk-call.e2e.test.ts reads stays 0 there; drawing the element
      // into a canvas reads the frame it holds in both browsers.)
      const stats0 = await runSdk(side.page, async (sdk) => sdk.stats())
      const first = await remoteVideo(side.page)
      const pictures = new Set([first.picture])
      await until(`${who}: remote video frames decoded and shown`, async () => {
        const s = await runSdk(side.page, async (sdk) => sdk.stats())
        const now = await remoteVideo(side.page)
        pictures.add(now.picture)
        return (s.video?.framesDecoded ?? 0) > (stats0.video?.framesDecoded ?? 0) + 10 && now.time > first.time + 0.3 && now.width > 0 && pictures.size > 1
      }, 20_000)
      await until(`${who}: remote audio bytes growing`, async () => {
        const s = await runSdk(side.page, async (sdk) => sdk.stats())
        return (s.audio?.bytesReceived ?? 0) > (stats0.audio?.bytesReceived ?? 0) + 1000
      }, 15_000)
      const stats = await runSdk(side.page, async (sdk) => sdk.stats())
      expect(stats.path, who).toBe('direct')
      expect(stats.codecs.video, who).toMatch(/^video\//)
      expect(stats.codecs.audio, who).toMatch(/^audio\//)
      expect(stats.video?.framesDecoded, who).toBeGreaterThan(0)
      // AIC needs MediaStreamTrackProcessor, which Firefox lacks: every call with Firefox in it is
      // plain WebRTC, and stats say why on both sides
      expect(stats.aic?.state, who).toBe('plain')
      expect(stats.aic?.fallback?.reason, who).toMatch(/MediaStreamTrackProcessor/)
      expect(stats.bytesReceived, who).toBeGreaterThan(0)
      // direct between the namespace's addresses: a host candidate here, and there a host one or
      // the same address learnt from its first check (peer-reflexive), when that came before its candidate
      expect(stats.candidates?.local, who).toBe('host')
      expect(['host', 'prflx'], who).toContain(stats.candidates?.remote)
    }

    // a chat message each way
    await runSdk(from.page, async (sdk, a) => sdk.send(a as string), `hello from ${from.browser}`)
    await runSdk(to.page, async (sdk, a) => sdk.send(a as string), `hello from ${to.browser}`)
    await until('the callee got the message', async () => (await runSdk(to.page, (sdk) => sdk.messages())).includes(`hello from ${from.browser}`), 10_000)
    await until('the caller got the message', async () => (await runSdk(from.page, (sdk) => sdk.messages())).includes(`hello from ${to.browser}`), 10_000)

    // a file each way: the receiver hashes what arrived itself
    const size = 1024 * 1024 + 17
    for (const [sender, receiver] of [[from, to], [to, from]] as const) {
      const sent = await runSdk(sender.page, async (sdk, a) => sdk.sendFile(a as number), size)
      expect(sent.error, `${sender.browser} sending`).toBeUndefined()
      expect(sent.lastProgress).toBe(size)
      await until(`${receiver.browser} has the file`, async () => (await runSdk(receiver.page, (sdk) => sdk.files())).some((f) => f.sha256 !== '' || f.error !== undefined), 15_000)
      const [file] = await runSdk(receiver.page, (sdk) => sdk.files())
      expect(file?.error, `${receiver.browser} receiving`).toBeUndefined()
      expect(file?.size).toBe(size)
      expect(file?.sha256).toBe(sent.sha256)
    }

    await runSdk(from.page, async (sdk) => sdk.hangup())
    expect((await waitSdkState(from.page, 'ended', 5_000)).reason).toBe('hangup')
    expect((await waitSdkState(to.page, 'ended', 10_000)).reason).toBe('remote-hangup')
  }

  beforeAll(async () => {
    const started = await Promise.allSettled([
      startRelay().then((r) => { relay = r }),
      servePages(['sdk']).then((s) => { server = s }),
      launchBrowser().then((b) => { chromium = b }),
      launchFirefox().then((f) => { firefox = f })
    ])
    throwFirstRejection(started)
  })

  afterEach(async () => {
    await closeSdkPages(chromiumPages)
    chromiumPages = []
    for (const p of firefoxPages) {
      let timer: ReturnType<typeof setTimeout> | undefined
      await Promise.race([
        runSdk(p as unknown as SdkPageHandle, async (sdk) => sdk.stop()).catch(() => {}),
        new Promise((resolve) => { timer = setTimeout(resolve, 5_000) })
      ])
      clearTimeout(timer)
      await firefox!.closePage(p)
    }
    firefoxPages = []
  })

  afterAll(async () => {
    const closed = await Promise.allSettled([firefox?.close(), chromium?.close(), server?.close(), relay?.stop()])
    throwFirstRejection(closed)
  })

  it('Chromium call("@firefox-user.aura", { audio, video }): both connect and see frames and audio bytes; chat and a file (SHA-256 checked) each way; hangup() ends both', async () => {
    const caller = await user('chromium', 'chromium')
    const callee = await user('firefox', 'firefox')
    await callAndCheck(caller, callee)
  })

  it('Firefox call("@chromium-user.aura", { audio, video }): the same, Firefox being the caller (the impolite side of negotiation)', async () => {
    const caller = await user('firefox', 'firefox')
    const callee = await user('chromium', 'chromium')
    await callAndCheck(caller, callee)
  })

  it('Firefox call("@other-firefox-user.aura", { audio, video }): Firefox to Firefox, the same checks', async () => {
    const caller = await user('firefox', 'fxalice')
    const callee = await user('firefox', 'fxbob')
    await callAndCheck(caller, callee)
  })
})
