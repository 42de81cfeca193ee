import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { choleskySolve, pixelUnshuffle, TailFitter, tailOutputSize } from '../src/tail-fit.js'
import type { TailGeometry } from '../src/tail-fit.js'

// PyTorch's conv2d and pixel_unshuffle on small random tensors (training/make_tail_fit_fixture.py):
// the fitter must read features and weights in PyTorch's order, which is the exported models'.
interface Case { geometry: TailGeometry, height: number, width: number, blocksHigh: number, blocksWide: number, features: number[], weight: number[], bias: number[], base: number[], target: number[] }
const fixture = JSON.parse(readFileSync(new URL('./fixtures/tail-fit.json', import.meta.url), 'utf8')) as {
  x2: Case, x1_5: Case, unshuffle: { height: number, width: number, out: number, rgb: number[], unshuffled: number[] }
}

const f32 = (a: number[]): Float32Array => Float32Array.from(a)
const zeros = (g: TailGeometry): { weight: Float32Array, bias: Float32Array } => ({ weight: new Float32Array(g.outChannels * g.channels * g.kernel * g.kernel), bias: new Float32Array(g.outChannels) })
const frameOf = (c: Case): { features: Float32Array, height: number, width: number, base: Float32Array, target: Float32Array } =>
  ({ features: f32(c.features), height: c.height, width: c.width, base: f32(c.base), target: f32(c.target) })
const maxDiff = (a: Float32Array, b: ArrayLike<number>): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0)

describe('TailFitter: the enhancer\'s tail refitted in closed form (tool 1\'s adaptive mode)', () => {
  for (const [label, c] of [['2x tail (3x3, stride 1, 12 outputs)', fixture.x2], ['1.5x tail (4x4, stride 2, 27 outputs)', fixture.x1_5]] as const) {
    it(`${label}: from zero weights and every block of a frame made by PyTorch's conv, it finds PyTorch's weights`, () => {
      expect(tailOutputSize(c.geometry, c.height, c.width)).toEqual({ blocksHigh: c.blocksHigh, blocksWide: c.blocksWide })
      const fitter = new TailFitter(c.geometry, zeros(c.geometry), { lambda: 1e-9, samplesPerFrame: 1e6 })
      fitter.add(frameOf(c))
      expect(fitter.rowCount).toBe(c.blocksHigh * c.blocksWide)
      const { weight, bias } = fitter.solve()
      expect(maxDiff(weight, c.weight)).toBeLessThan(1e-4)
      expect(maxDiff(bias, c.bias)).toBeLessThan(1e-4)
    })
  }

  it('a strong ridge keeps the shipped weights; no frame gives them back unchanged', () => {
    const c = fixture.x2
    const shipped = { weight: f32(c.weight.map((v) => v * 0.5)), bias: f32(c.bias.map((v) => v * 0.5)) }
    const idle = new TailFitter(c.geometry, shipped)
    expect(idle.solve()).toEqual(shipped)
    const stiff = new TailFitter(c.geometry, shipped, { lambda: 1e6, samplesPerFrame: 1e6 })
    stiff.add(frameOf(c))
    const { weight } = stiff.solve()
    expect(maxDiff(weight, shipped.weight)).toBeLessThan(1e-4)
  })

  it('decay: after the content changes, the fit follows the new frames', () => {
    const c = fixture.x2
    const other = { ...frameOf(c), target: f32(c.target.map((t, i) => c.base[i]! + 2 * (t - c.base[i]!))) }
    const fit = (decay: number): Float32Array => {
      const fitter = new TailFitter(c.geometry, zeros(c.geometry), { lambda: 1e-9, samplesPerFrame: 1e6, decay })
      for (let k = 0; k < 3; k++) fitter.add(frameOf(c))
      for (let k = 0; k < 3; k++) fitter.add(other)
      return fitter.solve().weight
    }
    const doubled = f32(c.weight.map((v) => 2 * v))
    // without forgetting: halfway between the old content's tail and the new one's
    expect(maxDiff(fit(1), f32(c.weight.map((v) => 1.5 * v)))).toBeLessThan(1e-3)
    expect(maxDiff(fit(0.01), doubled)).toBeLessThan(maxDiff(fit(1), doubled) / 20)
  })

  it('samples at most samplesPerFrame distinct positions, the same ones for the same seed', () => {
    const c = fixture.x2
    const a = new TailFitter(c.geometry, zeros(c.geometry), { samplesPerFrame: 50, seed: 7 })
    const b = new TailFitter(c.geometry, zeros(c.geometry), { samplesPerFrame: 50, seed: 7 })
    a.add(frameOf(c))
    b.add(frameOf(c))
    expect(a.rowCount).toBe(50)
    expect(a.solve()).toEqual(b.solve())
  })

  it('refuses a frame or weights of the wrong size, naming them', () => {
    const c = fixture.x2
    expect(() => new TailFitter(c.geometry, { weight: new Float32Array(3), bias: new Float32Array(12) })).toThrow(/shipped tail must be 12x8x3x3/)
    expect(() => new TailFitter({ ...c.geometry, padding: 3 }, zeros(c.geometry))).toThrow(/padding/)
    expect(() => new TailFitter(c.geometry, zeros(c.geometry), { decay: 0 })).toThrow(/decay/)
    expect(() => new TailFitter(c.geometry, zeros(c.geometry), { lambda: 0 })).toThrow(/lambda/)
    const f = new TailFitter(c.geometry, zeros(c.geometry))
    expect(() => { f.add({ ...frameOf(c), features: new Float32Array(5) }) }).toThrow(/features must be 8 x 12 x 10/)
    expect(() => { f.add({ ...frameOf(c), base: new Float32Array(5) }) }).toThrow(/base and target must be 12 x 12 x 10/)
  })
})

describe('pixelUnshuffle and choleskySolve', () => {
  it('pixelUnshuffle matches PyTorch\'s F.pixel_unshuffle', () => {
    const u = fixture.unshuffle
    const got = pixelUnshuffle(f32(u.rgb), u.height, u.width, u.out, u.height / u.out, u.width / u.out)
    expect(maxDiff(got, f32(u.unshuffled))).toBe(0)
  })

  it('choleskySolve solves a symmetric positive definite system and refuses one that is not', () => {
    const A = Float64Array.of(4, 2, 2, 3)
    const x = choleskySolve(A, Float64Array.of(2, 1, 5, 4), 2, 2)
    // A [x00 x01; x10 x11] = [2 1; 5 4]
    expect(4 * x[0]! + 2 * x[2]!).toBeCloseTo(2, 12)
    expect(2 * x[0]! + 3 * x[2]!).toBeCloseTo(5, 12)
    expect(4 * x[1]! + 2 * x[3]!).toBeCloseTo(1, 12)
    expect(() => choleskySolve(Float64Array.of(1, 2, 2, 1), Float64Array.of(1, 1), 2, 1)).toThrow(/not positive definite/)
  })
})
