/**
 * Bjøntegaard delta rate: how many more or fewer bits one rate-quality curve needs than another
 * for the same quality, averaged over the quality range both cover. log10(rate) is interpolated
 * as a function of quality on each curve, both are integrated over the shared quality interval,
 * and the mean gap becomes a percentage: -25 means the test curve needs 25% fewer bits.
 *
 * The interpolation is piecewise linear over each curve's efficient points, not VCEG-M33's cubic
 * polynomial: real-time codecs that drop frames give curves whose quality is not monotonic in
 * rate, and a cubic through them swings far outside the data (we saw +1263% on such a curve).
 * A point that a cheaper point of the same curve matches or beats in quality is dropped first,
 * so what is left rises, and between two points the curve is the straight line in log-rate.
 */

/** One operating point: a rate (any unit, the same on both curves) and a quality (PSNR, SSIM, ...). */
export interface RatePoint {
  rate: number
  quality: number
}

function checkCurve (curve: readonly RatePoint[], what: string): void {
  if (!Array.isArray(curve) || curve.length < 2) throw new RangeError(`${what} needs at least 2 points, got ${Array.isArray(curve) ? curve.length : String(curve)}`)
  curve.forEach((p, i) => {
    if (!(Number.isFinite(p?.rate) && p.rate > 0)) throw new RangeError(`${what}[${i}].rate must be a finite number > 0, got ${String(p?.rate)}`)
    if (!Number.isFinite(p.quality)) throw new RangeError(`${what}[${i}].quality must be finite, got ${String(p.quality)}`)
  })
}

/** The curve's efficient points, by rising rate: each has a higher quality than every cheaper one. */
export function efficientPoints (curve: readonly RatePoint[]): RatePoint[] {
  const sorted = [...curve].sort((a, b) => a.rate - b.rate || b.quality - a.quality)
  const kept: RatePoint[] = []
  for (const p of sorted) if (kept.length === 0 || p.quality > kept[kept.length - 1]!.quality) kept.push(p)
  return kept
}

/** ∫ log10(rate) d(quality) from lo to hi along the piecewise-linear curve (qualities rising). */
function area (points: RatePoint[], lo: number, hi: number): number {
  let sum = 0
  for (let i = 0; i + 1 < points.length; i++) {
    const a = points[i]!
    const b = points[i + 1]!
    const q0 = Math.max(lo, a.quality)
    const q1 = Math.min(hi, b.quality)
    if (q1 <= q0) continue
    const at = (q: number): number => Math.log10(a.rate) + (Math.log10(b.rate) - Math.log10(a.rate)) * (q - a.quality) / (b.quality - a.quality)
    sum += (at(q0) + at(q1)) / 2 * (q1 - q0)
  }
  return sum
}

/**
 * BD-rate of `test` against `anchor`, in percent (negative: `test` needs fewer bits). Each
 * curve needs at least 2 efficient points (see {@link efficientPoints}) and the two must share
 * a quality interval; RangeError otherwise, naming the curve and point.
 */
export function bdRate (anchor: readonly RatePoint[], test: readonly RatePoint[]): number {
  checkCurve(anchor, 'anchor')
  checkCurve(test, 'test')
  const a = efficientPoints(anchor)
  const t = efficientPoints(test)
  for (const [what, c] of [['anchor', a], ['test', t]] as const) {
    if (c.length < 2) throw new RangeError(`${what} needs at least 2 points of rising quality, got ${c.length}`)
  }
  const lo = Math.max(a[0]!.quality, t[0]!.quality)
  const hi = Math.min(a[a.length - 1]!.quality, t[t.length - 1]!.quality)
  if (!(hi > lo)) throw new RangeError(`the curves' quality ranges do not overlap (anchor ${a[0]!.quality}..${a[a.length - 1]!.quality}, test ${t[0]!.quality}..${t[t.length - 1]!.quality})`)
  return (10 ** ((area(t, lo, hi) - area(a, lo, hi)) / (hi - lo)) - 1) * 100
}
