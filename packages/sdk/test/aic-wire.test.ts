import { decodeEnhanceMeta, encodeEnhanceMeta } from '@auralink/protocol'
import { describe, expect, it } from 'vitest'
import { appendTrailer, snapScale, splitTrailer } from '../src/aic-trailer.js'
import { checkAicMode, checkCapability, checkReport } from '../src/aic-wire.js'

const bytes = (...b: number[]): ArrayBuffer => new Uint8Array(b).buffer

describe('AIC trailers in encoded frames', () => {
  it('splitTrailer(appendTrailer(frame, meta)) gives back the frame and the meta', () => {
    const frame = bytes(0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0xff)
    const meta = encodeEnhanceMeta({ scaleX100: 150, modelVersion: 3, mode: 2 })
    const split = splitTrailer(appendTrailer(frame, meta))
    expect(split).toBeDefined()
    expect(new Uint8Array(split!.payload)).toEqual(new Uint8Array(frame))
    expect(split!.meta).toEqual({ scaleX100: 150, modelVersion: 3, mode: 2 })
  })

  it('splitTrailer() leaves a frame without a trailer alone (no magic, bad length, a meta that does not decode, a scale that is none of 1, 1.5, 2)', () => {
    expect(splitTrailer(bytes(1, 2, 3, 4, 5))).toBeUndefined()
    expect(splitTrailer(bytes(1, 2, 0, 0xac, 0x1c))).toBeUndefined() // length 0
    expect(splitTrailer(bytes(1, 2, 17, 0xac, 0x1c))).toBeUndefined() // length over 16
    expect(splitTrailer(bytes(9, 0xac, 0x1c))).toBeUndefined() // shorter than its own trailer
    expect(splitTrailer(bytes(1, 2, 0xff, 0xff, 2, 0xac, 0x1c))).toBeUndefined() // meta bytes that are no EnhanceMeta
    const odd = encodeEnhanceMeta({ scaleX100: 300 })
    expect(splitTrailer(appendTrailer(bytes(1, 2, 3), odd))).toBeUndefined()
  })

  it('snapScale() names the scale a frame was sent at from its width, 0 when it is none of 1, 1.5, 2', () => {
    expect(snapScale(640, 640)).toBe(100)
    expect(snapScale(640, 320)).toBe(200)
    expect(snapScale(640, 426)).toBe(150)
    expect(snapScale(640, 427)).toBe(150)
    expect(snapScale(1280, 853)).toBe(150)
    expect(snapScale(640, 480)).toBe(0)
    expect(snapScale(640, 0)).toBe(0)
    expect(decodeEnhanceMeta(encodeEnhanceMeta({ scaleX100: 200, modelVersion: 1, mode: 3 })).scaleX100).toBe(200)
  })
})

describe('AIC messages from the peer', () => {
  const good = { available: true, mode: 2, runtime: 'wasm', metaInFrame: true, models: [{ scaleX100: 200, version: 1, msPerFrame: 40, width: 640, height: 360 }] }

  it('checkCapability() takes a well-formed capability', () => {
    expect(checkCapability(good)).toEqual({ available: true, mode: 'adaptive', runtime: 'wasm', metaInFrame: true, models: [{ scale: 2, version: 1, msPerFrame: 40, width: 640, height: 360, adaptive: false }] })
    expect(checkCapability({ ...good, models: [{ ...good.models[0], adaptive: true }] }).models[0]?.adaptive).toBe(true)
  })

  it('checkCapability() refuses bad fields, naming them', () => {
    expect(() => checkCapability({ ...good, mode: 9 })).toThrow(/AicCapability.mode/)
    expect(() => checkCapability({ ...good, reason: 'x'.repeat(300) })).toThrow(/reason is 300 characters/)
    expect(() => checkCapability({ ...good, models: Array(9).fill(good.models[0]) })).toThrow(/models has 9 entries/)
    expect(() => checkCapability({ ...good, runtime: 'cuda' })).toThrow(/runtime must be/)
    expect(() => checkCapability({ ...good, models: [{ ...good.models[0], scaleX100: 300 }] })).toThrow(/models\[0\].scale_x100/)
    expect(() => checkCapability({ ...good, models: [{ ...good.models[0], msPerFrame: Number.NaN }] })).toThrow(/ms_per_frame/)
    expect(() => checkCapability({ ...good, models: [{ ...good.models[0], width: 0 }] })).toThrow(/size must be/)
  })

  it('checkCapability() says a peer that claims AIC but names no model is not available', () => {
    const c = checkCapability({ ...good, models: [] })
    expect(c.available).toBe(false)
    expect(c.reason).toMatch(/no enhancer model/)
  })

  it('checkReport() refuses enhancer times that are not times', () => {
    expect(checkReport({ enhanceMsP50: 20, enhanceMsP95: 30, framesEnhanced: 5, framesPassedThrough: 1 })).toEqual({ enhanceMsP50: 20, enhanceMsP95: 30, framesEnhanced: 5, framesPassedThrough: 1 })
    expect(() => checkReport({ enhanceMsP50: -1, enhanceMsP95: 30 })).toThrow(/AicReport/)
    expect(() => checkReport({ enhanceMsP50: 1, enhanceMsP95: Number.POSITIVE_INFINITY })).toThrow(/AicReport/)
  })

  it('checkAicMode() names the bad mode', () => {
    expect(checkAicMode('aggressive', 'media.aic')).toBe('aggressive')
    expect(() => checkAicMode('max', 'media.aic')).toThrow("media.aic must be one of 'off', 'conservative', 'adaptive', 'aggressive', got \"max\"")
  })
})
