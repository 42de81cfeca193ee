import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeWeightUpdate, encodeWeightUpdate } from '@auralink/protocol'
import { dequantise, FLUSH_BELOW, makeWeightUpdate, quantiseInt8PerChannel, readWeightUpdate, weightChecksum } from '../src/weight-update.js'
import type { WeightUpdateTarget } from '../src/weight-update.js'

// The fast 2x enhancer's tail (12 output channels: 3 colours x 4 phases; 8 in; 3x3) and its bias.
const SHAPES = new Map<string, number[]>([['tail.weight', [12, 8, 3, 3]], ['tail.bias', [12]]])
const TARGET: WeightUpdateTarget = { modelVersion: 4, scaleX100: 200, shapes: SHAPES }

function randomTensor (shape: number[], seed: number): Float32Array {
  let x = seed
  const out = new Float32Array(shape.reduce((a, d) => a * d, 1))
  for (let i = 0; i < out.length; i++) { x = (x * 1103515245 + 12345) % 2 ** 31; out[i] = (x / 2 ** 31 - 0.5) * 0.2 * (1 + (i % 7)) }
  return out
}

const fitted = (): Array<{ name: string, shape: number[], values: Float32Array }> =>
  [...SHAPES].map(([name, shape], k) => ({ name, shape, values: randomTensor(shape, k + 1) }))

describe('WeightUpdate: the sender makes one, the receiver reads it back', () => {
  it('the receiver runs exactly the float32 weights the sender kept (applied), each within half a step of what was fitted; about 1 KB for the fast 2x tail', () => {
    const tensors = fitted()
    const { bytes, applied } = makeWeightUpdate({ modelVersion: 4, scaleX100: 200, sequence: 1, tensors })
    expect(bytes.byteLength).toBeLessThan(1100)
    const got = readWeightUpdate(bytes, TARGET)
    expect(got.sequence).toBe(1)
    for (const t of tensors) {
      expect(got.tensors.get(t.name)).toEqual(applied.get(t.name))
      const { scales } = quantiseInt8PerChannel(t.values, t.shape)
      const per = t.values.length / t.shape[0]!
      got.tensors.get(t.name)!.forEach((v, i) => { expect(Math.abs(v - t.values[i]!)).toBeLessThanOrEqual(scales[Math.floor(i / per)]! / 2 + 1e-9) })
    }
  })

  it('refuses an update for another model, another scale, a tensor it does not let change, or another shape, naming the field', () => {
    const { bytes } = makeWeightUpdate({ modelVersion: 4, scaleX100: 200, sequence: 2, tensors: fitted() })
    const refuse = (target: WeightUpdateTarget, field: string): void => {
      expect(() => readWeightUpdate(bytes, target)).toThrow(expect.objectContaining({ name: 'MalformedMessageError', message: expect.stringContaining(`WeightUpdate.${field}`) }))
    }
    refuse({ ...TARGET, modelVersion: 5 }, 'model_version')
    refuse({ ...TARGET, scaleX100: 150 }, 'scale_x100')
    refuse({ ...TARGET, shapes: new Map([['tail.weight', [12, 8, 3, 3]]]) }, 'tensors[1].name')
    refuse({ ...TARGET, shapes: new Map([['tail.weight', [12, 8, 3, 3]], ['tail.bias', [3]]]) }, 'tensors[1].shape')
  })

  it('a value changed on the way (a well-formed update whose weights differ) fails the checksum', () => {
    const { bytes } = makeWeightUpdate({ modelVersion: 4, scaleX100: 200, sequence: 3, tensors: fitted() })
    const u = decodeWeightUpdate(bytes)
    const tensors = u.tensors.map((t) => ({ ...t, quantisation: 1, values: new Uint8Array(t.values.buffer.slice(0)), scales: [...t.scales] }))
    tensors[0]!.values[100] = (tensors[0]!.values[100]! + 1) & 0xff
    const tampered = encodeWeightUpdate({ modelVersion: 4, scaleX100: 200, sequence: 3, tensors, checksum: u.checksum })
    expect(() => readWeightUpdate(tampered, TARGET)).toThrow(expect.objectContaining({ name: 'MalformedMessageError', message: expect.stringContaining('WeightUpdate.checksum') }))
  })

  it('quantise then dequantise is within half a step per channel for any finite tensor; a channel of zeros stays zeros, every scale > 0 (property; found: a channel of subnormals made a scale of 0)', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 20 }),
      fc.array(fc.float({ noNaN: true, noDefaultInfinity: true, min: -1e4, max: 1e4 }), { minLength: 120, maxLength: 120 }),
      (channels, per, pool) => {
        const values = Float32Array.from({ length: channels * per }, (_, i) => pool[i % pool.length]!)
        if (channels > 1) values.fill(0, 0, per)
        const q = quantiseInt8PerChannel(values, [channels, per])
        const back = dequantise({ shape: [channels, per], values: new Int8Array(q.values.buffer), scales: q.scales })
        for (let i = 0; i < values.length; i++) {
          const step = q.scales[Math.floor(i / per)]!
          expect(Math.abs(back[i]! - values[i]!)).toBeLessThanOrEqual(Math.max(step / 2 + Math.abs(values[i]!) * 1e-6, FLUSH_BELOW))
          expect(step).toBeGreaterThan(0)
        }
        if (channels > 1) expect([...back.subarray(0, per)].every((v) => v === 0)).toBe(true)
      }
    ), { numRuns: 300 })
  })

  it('weightChecksum is the first 8 bytes of SHA-256 over the tensors\' little-endian float32 bytes, in order (checked against node:crypto)', () => {
    expect(Buffer.from(weightChecksum([Float32Array.of(1)])).toString('hex')).toBe('e00e5eb9444182f3')
    const a = Float32Array.of(0.5, -2, 3.25)
    const b = Float32Array.of(1e-3)
    const le = Buffer.alloc(16)
    ;[...a, ...b].forEach((v, i) => { le.writeFloatLE(v, i * 4) })
    expect(Buffer.from(weightChecksum([a, b])).toString('hex')).toBe(createHash('sha256').update(le).digest('hex').slice(0, 16))
  })
})
