import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser } from './harness/browser.js'
import { startRelay } from './harness/relay.js'
import { closeSdkPages, runSdk, waitSdkState } from './harness/sdk-page.js'
import { servePages } from './harness/server.js'
import { throwFirstRejection } from './harness/settled.js'
import type { E2eBrowser } from './harness/browser.js'
import type { E2eRelay } from './harness/relay.js'
import type { PageServer } from './harness/server.js'
import type { ImageRecord, PageError } from './pages/sdk.js'
import type { ImagesInit } from '@auralink/sdk'
import type { Page } from 'playwright-core'

// call.sendImage() between two Chromium pages through a real relay node: WebP between two pages
// by default, tool 2 (the learned image codec, onnxruntime-web WASM) when both offer it, WebP
// when only the sender does, a picture scaled to maxSide, one over the receiver's limit refused
// from its header. The Node side (tool 2 on onnxruntime-node, forged pictures) is
// packages/sdk/test/images*.test.ts.
describe('call.sendImage() between two Chromium pages', () => {
  let relay: E2eRelay | undefined
  let server: PageServer | undefined
  let browser: E2eBrowser | undefined
  let pages: Page[] = []
  let n = 0

  async function user (label: string, images?: ImagesInit): Promise<{ page: Page, name: string }> {
    const page = await browser!.newPage(label)
    pages.push(page)
    await page.goto(server!.url('sdk'), { timeout: 15_000 })
    await page.waitForFunction(() => 'sdkPage' in window, undefined, { timeout: 10_000 })
    const name = `@${label}-${++n}.aura`
    await runSdk(page, async (sdk, a) => {
      const [r, nm, im] = a as [string, string, ImagesInit | undefined]
      return sdk.start(r, nm, undefined, undefined, im)
    }, [relay!.addr, name, images])
    return { page, name }
  }

  /** A connected data call from a page with `from` to one with `to`. */
  async function connect (from?: ImagesInit, to?: ImagesInit): Promise<{ alice: Page, bob: Page }> {
    const alice = await user('alice', from)
    const bob = await user('bob', to)
    expect(await runSdk(alice.page, async (sdk, name) => sdk.call(name as string, { audio: false, video: false }), bob.name)).toBeNull()
    await waitSdkState(alice.page, 'connected', 30_000)
    await waitSdkState(bob.page, 'connected', 10_000)
    return { alice: alice.page, bob: bob.page }
  }

  async function send (page: Page, width: number, height: number, options: { quality?: number, maxSide?: number, as?: 'imagedata' | 'png' } = {}): Promise<ImageRecord> {
    const r = await runSdk(page, async (sdk, a) => {
      const [w, h, o] = a as [number, number, { quality?: number, maxSide?: number, as?: 'imagedata' | 'png' }]
      return sdk.sendImage(w, h, o)
    }, [width, height, options])
    if ('message' in r && !('codec' in r)) throw new Error(`sendImage: ${(r as PageError).name}: ${(r as PageError).message}`)
    return r as ImageRecord
  }

  async function received (page: Page, count: number): Promise<ImageRecord[]> {
    await expect.poll(async () => (await runSdk(page, (sdk) => sdk.images())).length, { timeout: 30_000, interval: 200 }).toBe(count)
    return runSdk(page, (sdk) => sdk.images())
  }

  /** The largest difference of one RGB level between two base64 RGBA pictures. */
  function maxDiff (a: string, b: string): number {
    const x = Buffer.from(a, 'base64')
    const y = Buffer.from(b, 'base64')
    expect(x.length).toBe(y.length)
    let m = 0
    for (let i = 0; i < x.length; i++) if (i % 4 !== 3) m = Math.max(m, Math.abs(x[i]! - y[i]!))
    return m
  }

  /** PSNR in dB between two base64 RGBA pictures (RGB). */
  function psnr (a: string, b: string): number {
    const x = Buffer.from(a, 'base64')
    const y = Buffer.from(b, 'base64')
    let se = 0
    let count = 0
    for (let i = 0; i < x.length; i++) if (i % 4 !== 3) { se += (x[i]! - y[i]!) ** 2; count++ }
    return 10 * Math.log10((255 * 255) / (se / count))
  }

  beforeAll(async () => {
    const started = await Promise.allSettled([
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

  it('by default two pages send WebP: the picture arrives decoded, the same as the sender\'s own decode; a PNG Blob works as ImageData does', async () => {
    const { alice, bob } = await connect()
    const sent = await send(alice, 320, 200, { quality: 0.8 })
    expect(sent).toMatchObject({ codec: 'webp', mimeType: 'image/webp', width: 320, height: 200 })
    const fromBlob = await send(alice, 320, 200, { quality: 0.8, as: 'png' })
    expect(fromBlob.codec).toBe('webp')
    const got = await received(bob, 2)
    expect(got[0]).toMatchObject({ codec: 'webp', bytes: sent.bytes, width: 320, height: 200 })
    expect(maxDiff(got[0]!.pixels, sent.pixels)).toBeLessThanOrEqual(1)
    expect(maxDiff(got[1]!.pixels, fromBlob.pixels)).toBeLessThanOrEqual(1)
    // a real picture of the card, not a blank one
    const card = await runSdk(alice, (sdk) => sdk.testCard(320, 200))
    expect(psnr(got[0]!.pixels, card)).toBeGreaterThan(25)
    expect(await runSdk(bob, (sdk) => sdk.files())).toEqual([])
  })

  it('both sides offering tool 2: the picture goes in the learned codec (WASM) and arrives within one level of the sender\'s decode; quality spreads its bytes', async () => {
    const { alice, bob } = await connect({ learned: true }, { learned: true })
    const low = await send(alice, 200, 136, { quality: 0 })
    const high = await send(alice, 200, 136, { quality: 1 })
    expect(low).toMatchObject({ codec: 'aic', width: 200, height: 136 })
    expect(low.mimeType).toMatch(/^aic-image\/[0-9]+$/)
    expect(high.bytes).toBeGreaterThan(low.bytes)
    const got = await received(bob, 2)
    for (const [i, s] of [low, high].entries()) {
      expect(got[i]).toMatchObject({ codec: 'aic', mimeType: s.mimeType, bytes: s.bytes, width: 200, height: 136 })
      expect(maxDiff(got[i]!.pixels, s.pixels)).toBeLessThanOrEqual(1)
    }
    const card = await runSdk(alice, (sdk) => sdk.testCard(200, 136))
    expect(psnr(got[1]!.pixels, card)).toBeGreaterThan(psnr(got[0]!.pixels, card))
  })

  it('a sender with tool 2 to a peer without it sends WebP; a picture over maxSide is scaled down first', async () => {
    const { alice, bob } = await connect({ learned: true }, {})
    const sent = await send(alice, 800, 400, { maxSide: 400 })
    expect(sent).toMatchObject({ codec: 'webp', width: 400, height: 200 })
    const [got] = await received(bob, 1)
    expect(got).toMatchObject({ codec: 'webp', width: 400, height: 200 })
    expect(maxDiff(got!.pixels, sent.pixels)).toBeLessThanOrEqual(1)
  })

  it('a picture wider than the receiver\'s images.maxSide is refused from its header, with its bytes reported (image:failed, too-large)', async () => {
    const { alice, bob } = await connect({}, { maxSide: 256 })
    const sent = await send(alice, 300, 40, { maxSide: 300 })
    expect(sent.codec).toBe('webp')
    await expect.poll(async () => runSdk(bob, (sdk) => sdk.imageFailures()), { timeout: 30_000, interval: 200 })
      .toEqual([expect.objectContaining({ mimeType: 'image/webp', codec: 'webp', bytes: sent.bytes, reason: 'too-large' })])
    expect(await runSdk(bob, (sdk) => sdk.images())).toEqual([])
  })
})
