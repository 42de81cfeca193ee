import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  decodeEnhanceMeta, decodeImageHeader, decodeWeightUpdate, encodeEnhanceMeta, encodeImageHeader, encodeWeightUpdate, EnhanceMode,
  MAX_ENHANCE_META_BYTES, MAX_IMAGE_HEADER_BYTES, MAX_WEIGHT_UPDATE_BYTES, Quantisation, WEIGHT_UPDATE_CHECKSUM_BYTES
} from '../src/index.js'
import type { WeightUpdateFields } from '../src/index.js'

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

describe('WeightUpdate (tool 1\'s adaptive mode)', () => {
  // the fast 2x enhancer's tail: 12 output channels (3 colours x 4 phases), 8 in, 3x3, and its bias
  const tail = (fill: number): WeightUpdateFields['tensors'] => [
    { name: 'tail.weight', shape: [12, 8, 3, 3], quantisation: Quantisation.QUANTISATION_INT8_PER_CHANNEL, values: new Uint8Array(12 * 8 * 9).fill(fill), scales: Array.from({ length: 12 }, (_, i) => 0.001 * (i + 1)) },
    { name: 'tail.bias', shape: [12], quantisation: Quantisation.QUANTISATION_INT8_PER_CHANNEL, values: new Uint8Array(12).fill(fill), scales: new Array(12).fill(0.0005) }
  ]
  const valid = (): WeightUpdateFields => ({ modelVersion: 4, scaleX100: 200, sequence: 7, tensors: tail(0xfe), checksum: new Uint8Array(8).fill(9) })

  it('decodeWeightUpdate(encodeWeightUpdate(u)) gives back every field; values are int8 (0xfe is -2) and copies, not views of the input', () => {
    const bytes = encodeWeightUpdate(valid())
    expect(bytes.byteLength).toBeLessThan(MAX_WEIGHT_UPDATE_BYTES)
    const u = decodeWeightUpdate(bytes)
    expect([u.modelVersion, u.scaleX100, u.sequence, [...u.checksum]]).toEqual([4, 200, 7, new Array(8).fill(9)])
    expect(u.tensors.map((t) => [t.name, t.shape, t.quantisation, t.values.length, t.scales.length])).toEqual([
      ['tail.weight', [12, 8, 3, 3], 'int8-per-channel', 864, 12], ['tail.bias', [12], 'int8-per-channel', 12, 12]
    ])
    expect(u.tensors[0]!.values[0]).toBe(-2)
    expect(u.tensors[0]!.scales[11]).toBeCloseTo(0.012, 6)
    bytes.fill(0)
    expect(u.tensors[0]!.values[5]).toBe(-2)
  })

  it('each broken field is refused with MalformedMessageError naming it', () => {
    const cases: Array<[string, (u: WeightUpdateFields) => void]> = [
      ['scale_x100', (u) => { u.scaleX100 = 300 }],
      ['sequence', (u) => { u.sequence = 0 }],
      ['tensors', (u) => { u.tensors = [] }],
      ['tensors', (u) => { u.tensors = Array.from({ length: 9 }, (_, i) => ({ ...tail(1)![1]!, name: `t${i}` })) }],
      ['checksum', (u) => { u.checksum = new Uint8Array(7) }],
      ['tensors[0].name', (u) => { u.tensors![0]!.name = '' }],
      ['tensors[0].name', (u) => { u.tensors![0]!.name = 'tail weight' }],
      ['tensors[1].name', (u) => { u.tensors![1]!.name = 'tail.weight' }],
      ['tensors[0].shape', (u) => { u.tensors![0]!.shape = [] }],
      ['tensors[0].shape', (u) => { u.tensors![0]!.shape = [1, 1, 1, 1, 1] }],
      ['tensors[0].shape', (u) => { u.tensors![0]!.shape = [12, 0, 3, 3] }],
      ['tensors[0].shape', (u) => { u.tensors![0]!.shape = [4096, 4096] }],
      ['tensors[0].quantisation', (u) => { u.tensors![0]!.quantisation = Quantisation.QUANTISATION_UNSPECIFIED }],
      ['tensors[0].values', (u) => { u.tensors![0]!.values = new Uint8Array(863) }],
      ['tensors[0].scales', (u) => { u.tensors![0]!.scales = [0.1] }],
      ['tensors[0].scales', (u) => { u.tensors![0]!.scales![3] = 0 }],
      ['tensors[0].scales', (u) => { u.tensors![0]!.scales![3] = Number.NaN }],
      ['tensors[0].scales', (u) => { u.tensors![0]!.scales![3] = Number.POSITIVE_INFINITY }]
    ]
    for (const [field, breakIt] of cases) {
      const u = valid()
      breakIt(u)
      expect(() => decodeWeightUpdate(encodeWeightUpdate(u)), field).toThrow(expect.objectContaining({ name: 'MalformedMessageError', message: expect.stringContaining(`WeightUpdate.${field}`) }))
    }
    expect(() => decodeWeightUpdate(new Uint8Array(MAX_WEIGHT_UPDATE_BYTES + 1))).toThrow(expect.objectContaining({ name: 'MessageTooLargeError' }))
  })

  it('random and mutated bytes give a checked update or a typed error, never anything else (property)', () => {
    const good = encodeWeightUpdate(valid())
    fc.assert(fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 2048 }),
        // a valid update with bytes flipped, cut short or extended
        fc.tuple(fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 1, max: 255 })), { maxLength: 8 }), fc.nat(good.length), fc.uint8Array({ maxLength: 16 }))
          .map(([flips, cut, tail]) => {
            const b = good.slice()
            for (const [at, x] of flips) b[at]! ^= x
            return new Uint8Array([...b.subarray(0, cut), ...tail])
          })
      ),
      (bytes) => {
        try {
          const u = decodeWeightUpdate(bytes)
          for (const t of u.tensors) {
            expect(t.values.length).toBe(t.shape.reduce((a, d) => a * d, 1))
            expect(t.scales.length).toBe(t.shape[0])
          }
          expect(u.checksum.byteLength).toBe(WEIGHT_UPDATE_CHECKSUM_BYTES)
        } catch (err) {
          expect(['MalformedMessageError', 'MessageTooLargeError']).toContain((err as Error).name)
        }
      }
    ), { numRuns: 3000 })
  })
})
