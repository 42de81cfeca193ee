// AIC's e2e helpers: a crossover table that makes the controller send at half size, a bounded
// poll, and the luma-plane scalers that the adaptive test measures the receiver's picture against.

/**
 * A crossover table in which 2x wins by 0.02 SSIM (and 1.5x by less) from 0.005 to 1 bit per
 * pixel: the tests give it to the sender so that they check what the shipped table cannot, that a
 * call under a slow link really switches to a reduced size (the shipped table keeps AIC off
 * wherever it does not win).
 */
export const TEST_TABLE = {
  version: 1,
  generatedBy: 'e2e/harness/aic.ts',
  generatedAt: '2026-12-04T00:00:00.000Z',
  source: 'e2e/harness/aic.ts',
  clips: ['a', 'b', 'c'],
  rows: [2, 1.5].flatMap((scale) => [0.005, 0.05, 0.2, 1].map((bpp) => ({
    height: 360,
    scale,
    bpp,
    kbps: Math.round(bpp * 640 * 360 * 30 / 1000),
    clips: 3,
    ssimDelta: { p25: scale === 2 ? 0.02 : 0.005, median: scale === 2 ? 0.02 : 0.005, mean: scale === 2 ? 0.02 : 0.005 },
    psnrDelta: { p25: 1, median: 1, mean: 1 }
  })))
}

/** Keys' cubic kernel (a = -0.5), the one of ffmpeg's and most "bicubic" scalers. */
function cubic (x: number): number {
  const a = -0.5
  const t = Math.abs(x)
  if (t <= 1) return (a + 2) * t ** 3 - (a + 3) * t ** 2 + 1
  if (t < 2) return a * t ** 3 - 5 * a * t ** 2 + 8 * a * t - 4 * a
  return 0
}

/**
 * A luma plane scaled to `outW` x `outH`, pixel centres aligned (as canvas and ffmpeg scale),
 * edges clamped: 'bicubic' (Keys, a = -0.5; separable) or 'bilinear' (what a canvas does).
 */
export function scalePlane (src: Uint8Array, w: number, h: number, outW: number, outH: number, kind: 'bicubic' | 'bilinear'): Uint8Array {
  const taps = kind === 'bicubic' ? 2 : 1
  const weight = kind === 'bicubic' ? cubic : (x: number) => Math.max(0, 1 - Math.abs(x))
  const axis = (n: number, out: number): Array<{ idx: number[], wts: number[] }> => Array.from({ length: out }, (_, o) => {
    const c = (o + 0.5) * n / out - 0.5
    const f = Math.floor(c)
    const idx: number[] = []
    const wts: number[] = []
    for (let k = f - taps + 1; k <= f + taps; k++) { idx.push(Math.min(n - 1, Math.max(0, k))); wts.push(weight(c - k)) }
    const sum = wts.reduce((a, b) => a + b, 0)
    return { idx, wts: wts.map((x) => x / sum) }
  })
  const xs = axis(w, outW)
  const ys = axis(h, outH)
  const rows = new Float32Array(outW * h)
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < outW; x++) {
      const { idx, wts } = xs[x]!
      let v = 0
      for (let k = 0; k < idx.length; k++) v += wts[k]! * src[y * w + idx[k]!]!
      rows[y * outW + x] = v
    }
  }
  const out = new Uint8Array(outW * outH)
  for (let y = 0; y < outH; y++) {
    const { idx, wts } = ys[y]!
    for (let x = 0; x < outW; x++) {
      let v = 0
      for (let k = 0; k < idx.length; k++) v += wts[k]! * rows[idx[k]! * outW + x]!
      out[y * outW + x] = Math.max(0, Math.min(255, Math.round(v)))
    }
  }
  return out
}

/** Polls `read` every 500 ms until `ok` says yes; the last value seen is in the error when time runs out. */
export async function until<T> (what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs
  let last: T | undefined
  while (Date.now() < end) {
    last = await read()
    if (ok(last)) return last
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
  throw new Error(`${what}: not within ${timeoutMs} ms; last seen ${JSON.stringify(last)}`)
}
