import { createImageCodec, shippedImageCodecVersion } from '@auralink/aic'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { AuraLink, ImageFailedError } from '../src/index.js'
import { removeDir, startRelayProcess } from '../../../test-utils/relay-process.js'
import type { AuraLinkInit, Call, GroupCall, ReceivedImage } from '../src/index.js'
import type { RelayProcess } from '../../../test-utils/relay-process.js'

// call.sendImage() between two Node clients (tool 2 on onnxruntime-node; Node has no canvas, so no
// WebP or JPEG) through a real relay-node process and a real WebRTC connection. The browser side
// (WebP, JPEG, tool 2 on WASM, the fallbacks) is e2e/images.e2e.test.ts.
describe('call.sendImage() between two Node clients through a real relay node', () => {
  let relay: RelayProcess
  const clients: AuraLink[] = []
  let n = 0

  beforeAll(async () => { relay = await startRelayProcess({ args: ['--max-reservations-per-address', '64'] }) })
  afterAll(async () => {
    await relay.stop()
    await removeDir(relay.dataDir)
  })
  afterEach(async () => { await Promise.all(clients.splice(0).map(async (c) => c.stop())) })

  async function client (label: string, init: Partial<AuraLinkInit> = {}): Promise<{ client: AuraLink, name: string }> {
    const c = await AuraLink.create({ relays: [relay.addr], iceServers: [], keyStore: null, images: { learned: true }, ...init })
    clients.push(c)
    const name = `@${label}-${++n}.aura`
    await c.register(name)
    return { client: c, name }
  }

  /** A connected data call from alice to bob: both ends. */
  async function connect (bobInit: Partial<AuraLinkInit> = {}): Promise<{ call: Call, incoming: Call }> {
    const alice = await client('alice')
    const bob = await client('bob', bobInit)
    const ringing = new Promise<Call>((resolve) => bob.client.addEventListener('incoming', (e) => { resolve(e.detail.call) }, { once: true }))
    const call = await alice.client.call(bob.name, { data: true })
    const incoming = await ringing
    await incoming.accept()
    await call.whenConnected({ signal: AbortSignal.timeout(20_000) })
    return { call, incoming }
  }

  /** A 200x136 test card: gradients, a bright square, stripes (not multiples of 64: the codec pads and crops). */
  function card (width = 200, height = 136): { width: number, height: number, data: Uint8ClampedArray } {
    const data = new Uint8ClampedArray(width * height * 4)
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = (y * width + x) * 4
        const inSquare = x > 60 && x < 120 && y > 30 && y < 90
        data[i] = inSquare ? 240 : Math.round((255 * x) / width)
        data[i + 1] = inSquare ? 230 : Math.round((255 * y) / height)
        data[i + 2] = (x >> 3) % 2 === 0 ? 40 : 200
        data[i + 3] = 255
      }
    }
    return { width, height, data }
  }

  it('a picture goes in tool 2 and arrives decoded, the same pixels as the sender\'s own decode; quality spreads the bytes', async () => {
    const { call, incoming } = await connect()
    const got: ReceivedImage[] = []
    incoming.addEventListener('image', (e) => got.push(e.detail))
    let files = 0
    incoming.addEventListener('file', () => { files++ })
    const picture = card()
    const low = await call.sendImage(picture, { quality: 0 })
    const high = await call.sendImage(picture, { quality: 1 })
    const version = shippedImageCodecVersion()
    for (const sent of [low, high]) {
      expect(sent).toMatchObject({ codec: 'aic', mimeType: `aic-image/${version}`, width: 200, height: 136 })
      expect(sent.bytes).toBe(sent.data.byteLength)
    }
    expect(high.bytes).toBeGreaterThan(low.bytes)
    await expect.poll(() => got.length, { timeout: 20_000 }).toBe(2)
    expect(files).toBe(0)
    for (const [i, sent] of [low, high].entries()) {
      const r = got[i]!
      expect(r).toMatchObject({ codec: 'aic', mimeType: sent.mimeType, bytes: sent.bytes, width: 200, height: 136 })
      expect(Buffer.from(r.data).equals(Buffer.from(sent.data))).toBe(true)
      // the same runtime on both sides: the very same pixels
      expect(Buffer.from(r.image.data).equals(Buffer.from((await sent.decode()).data))).toBe(true)
    }
    // and what a codec of our own makes of the bytes: the stream is tool 2's, at the levels asked for
    const codec = await createImageCodec({ runtime: 'node' })
    try {
      const mine = await codec.decode(low.data)
      expect(Buffer.from(mine.data).equals(Buffer.from(got[0]!.image.data))).toBe(true)
      expect(await codec.encode(picture, { quality: 0 })).toEqual(low.data)
      expect(await codec.encode(picture, { quality: codec.info.levels - 1 })).toEqual(high.data)
    } finally {
      await codec.close()
    }
  })

  it('a group call: one picture to every participant, coded once (the same bytes to each), each sees it with who sent it; a participant without the codec is named in failed, the others still get it', async () => {
    const alice = await client('alice')
    const bob = await client('bob')
    const carol = await client('carol')
    const dave = await client('dave', { images: {} }) // no tool 2: Node then decodes nothing
    const joins = async (c: AuraLink): Promise<GroupCall> => {
      const group = await new Promise<GroupCall>((resolve) => {
        c.addEventListener('incoming', (e) => { if (e.detail.group !== undefined) resolve(e.detail.group) })
      })
      await group.accept({ data: true })
      return group
    }
    const joining = [joins(bob.client), joins(carol.client), joins(dave.client)]
    const a = await alice.client.call([bob.name, carol.name, dave.name], { data: true })
    const [b, c] = await Promise.all(joining)
    await expect.poll(() => a.participants.filter((p) => p.state === 'connected').length, { timeout: 30_000 }).toBe(3)
    const got = [b!, c!].map(async (g) => new Promise<ReceivedImage & { from?: string }>((resolve) => {
      g.addEventListener('image', (e) => { resolve({ ...e.detail, ...(e.detail.participant.auraId !== undefined ? { from: e.detail.participant.auraId } : {}) }) }, { once: true })
    }))
    const result = await a.sendImage(card(96, 64))
    expect(result.unreached).toEqual([])
    expect(result.sent.map((s) => s.peer.toString()).sort()).toEqual([bob.client.peerId.toString(), carol.client.peerId.toString()].sort())
    expect(result.failed.map((f) => [f.peer.toString(), (f.error as ImageFailedError).reason])).toEqual([[dave.client.peerId.toString(), 'unsupported']])
    // coded once: both got the very same bytes
    expect(result.sent[0]!.image.data).toBe(result.sent[1]!.image.data)
    for (const r of await Promise.all(got)) {
      expect(r).toMatchObject({ codec: 'aic', from: alice.name, width: 96, height: 64, bytes: result.sent[0]!.image.bytes })
    }
  })

  it('to a peer that decodes none of what this side writes (Node, learned codec off, the default): ImageFailedError \'unsupported\', naming what the peer has', async () => {
    const { call } = await connect({ images: {} })
    const err = await call.sendImage(card(32, 32)).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ImageFailedError)
    expect((err as ImageFailedError).reason).toBe('unsupported')
    expect((err as Error).message).toMatch(/decodes no still-image codec, and this side writes none of them/)
  })

  it('bad input is refused before anything is sent, naming it', async () => {
    const { call } = await connect()
    await expect(call.sendImage({ width: 4, height: 4, data: new Uint8ClampedArray(10) })).rejects.toThrow(/must be 4x4 RGBA pixels \(4 x 4 x 4 bytes\), got 10 bytes/)
    await expect(call.sendImage('a.png' as never)).rejects.toThrow(TypeError)
    await expect(call.sendImage(card(32, 32), { quality: 2 })).rejects.toThrow(RangeError)
    // Node has no canvas to scale a picture down
    await expect(call.sendImage(card(64, 32), { maxSide: 32 })).rejects.toThrow(/over maxSide 32, and this runtime has no canvas/)
  })
})
