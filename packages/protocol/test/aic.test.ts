import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  decodeEnhanceMeta, decodeImageHeader, encodeEnhanceMeta, encodeImageHeader, EnhanceMode,
  MAX_ENHANCE_META_BYTES, MAX_IMAGE_HEADER_BYTES
} from '../src/index.js'

describe('protos/aic.proto', () => {
  it('encodeEnhanceMeta() of any realistic setting fits one RFC 8285 one-byte-header element (16 bytes)', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 65535 }), fc.constantFrom(100, 150, 200, 300, 400), fc.constantFrom(...Object.values(EnhanceMode) as number[]), (v, scale, mode) => {
      const bytes = encodeEnhanceMeta({ modelVersion: v, scaleX100: scale, mode })
      expect(bytes.length).toBeLessThanOrEqual(MAX_ENHANCE_META_BYTES)
      const back = decodeEnhanceMeta(bytes)
      expect([back.modelVersion, back.scaleX100, back.mode]).toEqual([v, scale, mode])
    }))
  })

  it('decodeImageHeader(encodeImageHeader(h)) gives back every field of an 8K picture header', () => {
    const h = { modelVersion: 3, quality: 7, width: 7680, height: 4320, hyperBytes: 123_456 }
    const bytes = encodeImageHeader(h)
    expect(bytes.length).toBeLessThan(MAX_IMAGE_HEADER_BYTES)
    expect(decodeImageHeader(bytes)).toMatchObject(h)
  })

  it('decoders refuse oversized and malformed input with typed errors', () => {
    expect(() => decodeEnhanceMeta(new Uint8Array(MAX_ENHANCE_META_BYTES + 1))).toThrow(expect.objectContaining({ name: 'MessageTooLargeError' }))
    expect(() => decodeImageHeader(new Uint8Array(MAX_IMAGE_HEADER_BYTES + 1))).toThrow(expect.objectContaining({ name: 'MessageTooLargeError' }))
    expect(() => decodeImageHeader(new Uint8Array([0x08]))).toThrow(expect.objectContaining({ name: 'MalformedMessageError' }))
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
      for (const decode of [decodeEnhanceMeta, decodeImageHeader]) {
        try {
          decode(bytes)
        } catch (err) {
          expect(['MalformedMessageError', 'MessageTooLargeError']).toContain((err as Error).name)
        }
      }
    }), { numRuns: 1000 })
  })
})
