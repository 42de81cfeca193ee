import { describe, expect, it } from 'vitest'
import { bdRate, efficientPoints } from '../src/index.js'
import type { RatePoint } from '../src/index.js'

// a made-up but typical curve: PSNR rising with log(rate)
const anchor: RatePoint[] = [100, 200, 400, 700, 1000].map((rate) => ({ rate, quality: 28 + 4 * Math.log2(rate / 100) + 0.1 * Math.sin(rate) }))

describe('bdRate', () => {
  it('bdRate(a, a) is 0', () => {
    expect(bdRate(anchor, anchor)).toBeCloseTo(0, 9)
  })

  it('bdRate(a, b) is -50 when b reaches every quality with half the bits, +100 with twice', () => {
    expect(bdRate(anchor, anchor.map((p) => ({ ...p, rate: p.rate / 2 })))).toBeCloseTo(-50, 6)
    expect(bdRate(anchor, anchor.map((p) => ({ ...p, rate: p.rate * 2 })))).toBeCloseTo(100, 6)
  })

  it('bdRate(a, b) is negative when b has higher quality at the same rates, and averages only over the shared quality range', () => {
    const better = anchor.map((p) => ({ ...p, quality: p.quality + 2 }))
    // 2 dB at 4 dB per doubling: half a doubling, 2^-0.5 - 1 = -29.3% (the curve's small wobble moves it a little)
    expect(bdRate(anchor, better)).toBeCloseTo((2 ** -0.5 - 1) * 100, 0)
  })

  it('bdRate works on SSIM-scale qualities (0.9..0.99) without losing precision', () => {
    const a = [100, 200, 400, 800].map((rate, i) => ({ rate, quality: 0.9 + 0.03 * i }))
    expect(bdRate(a, a.map((p) => ({ ...p, rate: p.rate * 0.75 })))).toBeCloseTo(-25, 6)
  })

  it('bdRate ignores points that a cheaper point of the same curve beats (frames dropped at a higher rate)', () => {
    const dented = [...anchor, { rate: 450, quality: anchor[1]!.quality - 1 }]
    expect(efficientPoints(dented)).toEqual([...anchor].sort((a, b) => a.rate - b.rate))
    expect(bdRate(anchor, dented)).toBeCloseTo(0, 9)
    expect(bdRate(dented, anchor.map((p) => ({ ...p, rate: p.rate / 2 })))).toBeCloseTo(-50, 6)
  })

  it('bdRate refuses too few points, a bad rate, flat curves and curves that do not overlap, naming the curve', () => {
    expect(() => bdRate(anchor.slice(0, 1), anchor)).toThrow(/anchor needs at least 2 points, got 1/)
    expect(() => bdRate(anchor, [...anchor.slice(1), { rate: 0, quality: 30 }])).toThrow(/test\[4\]\.rate must be a finite number > 0, got 0/)
    expect(() => bdRate(anchor, anchor.map((p, i) => ({ ...p, rate: i === 2 ? Number.NaN : p.rate })))).toThrow(/test\[2\]\.rate/)
    expect(() => bdRate(anchor, anchor.map((p) => ({ ...p, quality: Infinity })))).toThrow(/test\[0\]\.quality must be finite/)
    expect(() => bdRate(anchor, anchor.map((p) => ({ ...p, quality: 30 })))).toThrow(/test needs at least 2 points of rising quality, got 1/)
    expect(() => bdRate(anchor, anchor.map((p) => ({ ...p, quality: p.quality + 100 })))).toThrow(/do not overlap/)
    expect(() => bdRate(undefined as unknown as RatePoint[], anchor)).toThrow(RangeError)
  })
})
