import fc from 'fast-check'
import { shippedImageCodecVersion } from '@auralink/aic'
import { afterEach, describe, expect, it } from 'vitest'
import { ImageFailedError } from '../src/errors.js'
import {
  aicCodecId, checkImageCodecs, checkImagesInit, checkSendOptions, chooseImageCodec, jpegSize, kindOf, levelFor, webpSize
} from '../src/images.js'
import { forgeHeader, harness, newPeer, sha256, until } from './file-harness.js'
import type { Harness } from './file-harness.js'
import type { ImageFailure, ReceivedImage } from '../src/images.js'
import type SharpModule from 'sharp'

let sharp: typeof SharpModule | undefined
try {
  sharp = (await import('sharp')).default
} catch {
  sharp = undefined
}

/** A baseline JPEG's first bytes: SOI, an APP0 segment, a DQT-like segment, then SOF0 with the size. */
function jpegHead (width: number, height: number, sof = 0xc0): Uint8Array {
  return new Uint8Array([
    0xff, 0xd8,
    0xff, 0xe0, 0x00, 0x06, 0x4a, 0x46, 0x49, 0x46, // APP0, length 6
    0xff, 0xff, // a fill byte before the next marker
    0xff, 0xdb, 0x00, 0x04, 0x00, 0x00, // DQT, length 4
    0xff, sof, 0x00, 0x11, 0x08, height >> 8, height & 0xff, width >> 8, width & 0xff, 0x03
  ])
}

/** A lossless WebP's first 25 bytes: RIFF, WEBP, VP8L, the signature and the 14-bit sizes. */
function webpLosslessHead (width: number, height: number): Uint8Array {
  const b = new Uint8Array(30)
  b.set([...'RIFF'].map((c) => c.charCodeAt(0)), 0)
  b.set([...'WEBPVP8L'].map((c) => c.charCodeAt(0)), 8)
  b[20] = 0x2f
  const bits = (width - 1) | ((height - 1) << 14)
  b[21] = bits & 0xff
  b[22] = (bits >>> 8) & 0xff
  b[23] = (bits >>> 16) & 0xff
  b[24] = (bits >>> 24) & 0xff
  return b
}

describe('still images: wire names, the codec chosen, options', () => {
  it('kindOf() knows tool 2 at a model version, WebP and JPEG, and nothing else', () => {
    expect(kindOf(aicCodecId(2))).toBe('aic')
    expect(kindOf('image/webp')).toBe('webp')
    expect(kindOf('image/jpeg')).toBe('jpeg')
    for (const x of ['image/png', 'aic-image/', 'aic-image/0', 'aic-image/2x', 'aic-image/02', 'image/JPEG']) expect(kindOf(x), x).toBeUndefined()
  })

  it('the sender picks tool 2 only at the same model version, then WebP, then JPEG, only what it writes', () => {
    const both = { learnedVersion: 2, canvas: true }
    expect(chooseImageCodec(['aic-image/2', 'image/webp', 'image/jpeg'], both)).toBe('aic-image/2')
    expect(chooseImageCodec(['aic-image/3', 'image/webp', 'image/jpeg'], both)).toBe('image/webp')
    expect(chooseImageCodec(['image/jpeg', 'image/webp'], both)).toBe('image/webp')
    expect(chooseImageCodec(['image/jpeg'], both)).toBe('image/jpeg')
    expect(chooseImageCodec(['aic-image/2', 'image/jpeg'], { canvas: true })).toBe('image/jpeg')
    // Node: no canvas, so tool 2 or nothing
    expect(chooseImageCodec(['image/webp', 'image/jpeg'], { learnedVersion: 2, canvas: false })).toBeUndefined()
    expect(chooseImageCodec(['aic-image/2'], { learnedVersion: 2, canvas: false })).toBe('aic-image/2')
    expect(chooseImageCodec([], both)).toBeUndefined()
  })

  it('a peer\'s ImageCodecs is bounded: at most 8 names of at most 32 characters', () => {
    expect(checkImageCodecs(['image/jpeg', 'x-unknown/1'])).toEqual(['image/jpeg', 'x-unknown/1'])
    expect(checkImageCodecs(undefined)).toEqual([])
    expect(() => checkImageCodecs(Array.from({ length: 9 }, () => 'image/jpeg'))).toThrow(/9 entries, over 8/)
    expect(() => checkImageCodecs(['image/jpeg', 'x'.repeat(33)])).toThrow(/codecs\[1\] must be a name of at most 32/)
  })

  it('quality 0 to 1 spreads over tool 2\'s levels; bad options are refused, named', () => {
    expect([0, 0.25, 0.5, 0.75, 1].map((q) => levelFor(q, 5))).toEqual([0, 1, 2, 3, 4])
    expect(levelFor(0.6, 5)).toBe(2)
    expect(checkSendOptions({})).toEqual({ quality: 0.5, maxSide: 1920 })
    expect(() => checkSendOptions({ quality: 1.5 })).toThrow(/options.quality must be from 0 to 1, got 1.5/)
    expect(() => checkSendOptions({ quality: Number.NaN })).toThrow(/options.quality/)
    expect(() => checkSendOptions({ maxSide: 8 })).toThrow(/options.maxSide must be a whole number of pixels from 16/)
    expect(() => checkImagesInit({ maxSide: 1e6 })).toThrow(/init.images.maxSide/)
    expect(() => checkImagesInit({ learned: 'yes' as never })).toThrow(/init.images.learned must be a boolean/)
    expect(() => checkImagesInit(null as never)).toThrow(/init.images must be an object/)
  })
})

describe('still images: sizes read from headers before any decode', () => {
  it('JPEG: the frame header\'s size, past other segments and fill bytes; progressive frames too', () => {
    expect(jpegSize(jpegHead(640, 480))).toEqual({ width: 640, height: 480 })
    expect(jpegSize(jpegHead(65535, 3, 0xc2))).toEqual({ width: 65535, height: 3 })
    expect(() => jpegSize(new Uint8Array([0x89, 0x50, 0x4e, 0x47]))).toThrow(/no start-of-image/)
    expect(() => jpegSize(jpegHead(0, 10))).toThrow(/a frame header of 0x10/)
    expect(() => jpegSize(jpegHead(10, 10).subarray(0, 20))).toThrow(/no frame header/)
  })

  it('WebP: lossless (VP8L) and extended (VP8X) headers', () => {
    expect(webpSize(webpLosslessHead(300, 200))).toEqual({ width: 300, height: 200 })
    expect(webpSize(webpLosslessHead(16384, 1))).toEqual({ width: 16384, height: 1 })
    const x = webpLosslessHead(1, 1)
    x.set([...'VP8X'].map((c) => c.charCodeAt(0)), 12)
    x.set([0xff, 0xff, 0xff, 0x01, 0x00, 0x00], 24)
    expect(webpSize(x)).toEqual({ width: 2 ** 24, height: 2 })
    expect(() => webpSize(new Uint8Array(10))).toThrow(/no RIFF WEBP header/)
  })

  it.skipIf(sharp === undefined)('agrees with what libvips writes (sharp; skipped without it)', async () => {
    const raw = { raw: { width: 333, height: 97, channels: 3 as const } }
    const pixels = Buffer.alloc(333 * 97 * 3, 90)
    const jpeg = await sharp!(pixels, raw).jpeg({ quality: 70, progressive: true }).toBuffer()
    expect(jpegSize(new Uint8Array(jpeg))).toEqual({ width: 333, height: 97 })
    for (const options of [{ quality: 70 }, { lossless: true }]) {
      const webp = await sharp!(pixels, raw).webp(options).toBuffer()
      expect(webpSize(new Uint8Array(webp)), JSON.stringify(options)).toEqual({ width: 333, height: 97 })
    }
  })

  it('any bytes: a size or an ImageFailedError (\'corrupt\'), never another error, never a hang', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (tail, asJpeg) => {
      const bytes = asJpeg ? new Uint8Array([0xff, 0xd8, ...tail]) : new Uint8Array([...webpLosslessHead(5, 5).subarray(0, 12), ...tail])
      for (const read of [jpegSize, webpSize]) {
        try {
          const s = read(bytes)
          expect(s.width).toBeGreaterThan(0)
          expect(s.height).toBeGreaterThan(0)
        } catch (err) {
          expect(err).toBeInstanceOf(ImageFailedError)
          expect((err as ImageFailedError).reason).toBe('corrupt')
        }
      }
    }), { numRuns: 2000 })
  })
})

// A peer's forged image files, on real Calls and the client's IncomingFiles (file-harness.ts):
// whatever arrives is shown or reported with its bytes (`image:failed`), never dropped in silence.
describe('still images from a hostile peer (Node, no canvas)', () => {
  let h: Harness
  afterEach(async () => { await h.stop() })

  async function forged (mimeType: string, bytes: Uint8Array, learned: boolean): Promise<{ failures: ImageFailure[], images: ReceivedImage[], files: number }> {
    h = harness({}, { learned })
    const peer = await newPeer()
    const { call } = await h.call(peer)
    const failures: ImageFailure[] = []
    const images: ReceivedImage[] = []
    let files = 0
    call.addEventListener('image:failed', (e) => failures.push(e.detail))
    call.addEventListener('image', (e) => images.push(e.detail))
    call.addEventListener('file', () => { files++ })
    const { stream, served } = await h.open(peer)
    const lp = await forgeHeader(stream, call.id, { name: 'x', size: bytes.byteLength, sha256: sha256(bytes), mimeType, image: true })
    await lp.write(bytes)
    await served
    await until(() => failures.length + images.length > 0, 20_000, 'an image or image:failed event')
    return { failures, images, files }
  }

  it('a JPEG to a side without a JPEG decoder: image:failed (\'unsupported\') with the bytes, not a file', async () => {
    const bytes = jpegHead(64, 64)
    const { failures, files } = await forged('image/jpeg', bytes, false)
    expect(files).toBe(0)
    expect(failures[0]!.error).toBeInstanceOf(ImageFailedError)
    expect((failures[0]!.error as ImageFailedError).reason).toBe('unsupported')
    expect(failures[0]!.codec).toBe('jpeg')
    expect([...failures[0]!.data!]).toEqual([...bytes])
  })

  it('tool 2\'s name on garbage bytes: image:failed (\'corrupt\'), typed, with the bytes', async () => {
    const bytes = new Uint8Array(300).fill(7)
    const { failures, images } = await forged(aicCodecId(shippedImageCodecVersion()), bytes, true)
    expect(images).toHaveLength(0)
    expect((failures[0]!.error as ImageFailedError).reason).toBe('corrupt')
    expect(failures[0]!.bytes).toBe(300)
  })

  it('a picture whose header claims 60000x60000 in 120 bytes of tool 2: refused as too large before any transform runs', async () => {
    // tool 2's header: one byte of length, then the ImageHeader (protos/aic.proto); the codec's maxWidth is images.maxSide (4096)
    const { writeImageStream } = await import('../../aic/src/image-codec.js')
    const version = shippedImageCodecVersion()
    const bytes = writeImageStream({ modelVersion: version, quality: 0, width: 60_000, height: 60_000 }, new Uint8Array(50), new Uint8Array(50))
    const { failures } = await forged(aicCodecId(version), bytes, true)
    expect((failures[0]!.error as ImageFailedError).reason).toBe('too-large')
  })
})
