import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { intConv } from '../src/hyper-int.js'
import { hyperSynthesis, MODELS_DIR, parseCodecTables } from '../src/index.node.js'
import type { IntConvLayer } from '../src/index.node.js'

const FIXTURE = resolve(import.meta.dirname, '../training/fixtures/image-codec-hyper.json')

interface Fixture { tablesSha256: string, cases: Array<{ label: string, zShape: [number, number, number], z: number[], indices: number[] }> }

/** The layer's definition written out the slow way, with BigInt: what intConv must equal. */
function slowConv (a: number[], c: number, h: number, w: number, l: IntConvLayer): { out: number[], h: number, w: number } {
  let src = a
  if (l.upsample) {
    src = new Array<number>(c * 4 * h * w)
    for (let ch = 0; ch < c; ch++) for (let y = 0; y < 2 * h; y++) for (let x = 0; x < 2 * w; x++) src[(ch * 2 * h + y) * 2 * w + x] = a[(ch * h + (y >> 1)) * w + (x >> 1)]!
    h *= 2
    w *= 2
  }
  const out: number[] = []
  for (let o = 0; o < l.cout; o++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let acc = BigInt(l.bias[o]!)
        for (let i = 0; i < l.cin; i++) {
          for (let ky = 0; ky < 3; ky++) {
            for (let kx = 0; kx < 3; kx++) {
              const yy = y + ky - 1
              const xx = x + kx - 1
              if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue
              acc += BigInt(l.weights[((o * l.cin + i) * 3 + ky) * 3 + kx]!) * BigInt(src[(i * h + yy) * w + xx]!)
            }
          }
        }
        const s = BigInt(l.shift[o]!)
        // floor((acc + 2^(s-1)) / 2^s), with floor division for negatives
        const num = acc + (1n << (s - 1n))
        const den = 1n << s
        let q = num / den
        if (num % den !== 0n && num < 0n) q -= 1n
        out.push(Math.min(l.hi, Math.max(l.lo, Number(q))))
      }
    }
  }
  return { out, h, w }
}

describe('hyperSynthesis() (tool 2\'s integer hyper-synthesis)', () => {
  it('matches the Python integer reference bit for bit on the fixture that the export wrote', () => {
    const fixture = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Fixture
    const bytes = readFileSync(join(MODELS_DIR, 'image-codec-tables.bin'))
    // the fixture belongs to the shipped tables: ship_image_codec.py writes both
    expect(createHash('sha256').update(bytes).digest('hex'), 'the fixture is of other tables: rerun ship_image_codec.py').toBe(fixture.tablesSha256)
    const tables = parseCodecTables(bytes, 'image-codec-tables.bin')
    expect(fixture.cases.length).toBeGreaterThanOrEqual(2)
    for (const c of fixture.cases) {
      const [channels, height, width] = c.zShape
      const got = hyperSynthesis({ data: Int32Array.from(c.z), channels, height, width }, tables.layers)
      expect(got.length, c.label).toBe(c.indices.length)
      let wrong = 0
      for (let i = 0; i < got.length; i++) if (got[i] !== c.indices[i]) wrong++
      expect(wrong, `${c.label}: ${wrong} of ${got.length} indices differ`).toBe(0)
      // not a degenerate fixture: the indices spread over the table
      expect(new Set(c.indices).size, c.label).toBeGreaterThan(3)
    }
  })

  it('intConv() equals the layer definition (rounding shift of negatives, clamp, zero padding, upsampling) on random layers (property)', () => {
    const layer = fc.record({ cin: fc.integer({ min: 1, max: 3 }), cout: fc.integer({ min: 1, max: 3 }), upsample: fc.boolean(), h: fc.integer({ min: 1, max: 4 }), w: fc.integer({ min: 1, max: 4 }), lo: fc.integer({ min: 0, max: 10 }), span: fc.integer({ min: 0, max: 245 }) })
      .chain((s) => fc.record({
        s: fc.constant(s),
        weights: fc.array(fc.integer({ min: -2047, max: 2047 }), { minLength: s.cout * s.cin * 9, maxLength: s.cout * s.cin * 9 }),
        bias: fc.array(fc.integer({ min: -100_000, max: 100_000 }), { minLength: s.cout, maxLength: s.cout }),
        shift: fc.array(fc.integer({ min: 1, max: 12 }), { minLength: s.cout, maxLength: s.cout }),
        input: fc.array(fc.integer({ min: -15, max: 255 }), { minLength: s.cin * s.h * s.w, maxLength: s.cin * s.h * s.w })
      }))
    fc.assert(fc.property(layer, ({ s, weights, bias, shift, input }) => {
      const l: IntConvLayer = { cin: s.cin, cout: s.cout, upsample: s.upsample, lo: s.lo, hi: s.lo + s.span, weights: Int16Array.from(weights), bias: Int32Array.from(bias), shift: Int32Array.from(shift) }
      const got = intConv({ data: Int32Array.from(input), channels: s.cin, height: s.h, width: s.w }, l)
      const want = slowConv(input, s.cin, s.h, s.w, l)
      expect(got.height).toBe(want.h)
      expect(Array.from(got.data)).toEqual(want.out)
    }), { numRuns: 200 })
  })
})
