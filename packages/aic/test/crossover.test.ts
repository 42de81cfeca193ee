import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { CROSSOVER_LIMITS, lookupGain, parseCrossoverTable, shippedCrossoverTable } from '../src/crossover.js'
import type { CrossoverTable } from '../src/crossover.js'

const repo = new URL('../../../', import.meta.url)

/** A small hand-made table (not the shipped one, so that rerunning the benchmark changes no test). */
function table (): Record<string, unknown> & { rows: Array<Record<string, unknown>> } {
  const row = (height: number, scale: number, bpp: number, median: number, clips = 4): Record<string, unknown> => ({
    height, scale, bpp, kbps: Math.round(bpp * (height * 16 / 9) * height * 30 / 1000), clips,
    ssimDelta: { p25: median - 0.004, median, mean: median - 0.001 },
    psnrDelta: { p25: median * 300 - 1, median: median * 300, mean: median * 300 - 0.2 }
  })
  return {
    version: 1,
    generatedBy: 'bench/aic/enhance.mjs',
    generatedAt: '2026-01-02T03:04:05.000Z',
    source: 'bench/results/aic-enhance.json',
    clips: ['a', 'b', 'c', 'd'],
    rows: [
      row(360, 2, 0.04, -0.002),
      row(360, 2, 0.01, 0.010),
      row(360, 2, 0.02, 0.006),
      row(360, 2, 0.005, 0.012, 1), // one clip: no claim
      row(360, 1.5, 0.01, 0.006),
      row(360, 1.5, 0.02, 0.004),
      row(720, 2, 0.01, 0.020),
      row(720, 2, 0.02, 0.015)
    ]
  }
}

function broken (edit: (t: ReturnType<typeof table>) => void): unknown {
  const t = table()
  edit(t)
  return t
}

describe('parseCrossoverTable', () => {
  it('parseCrossoverTable(table) accepts a well-formed table and sorts its rows by height, scale and bpp', () => {
    const t = parseCrossoverTable(table())
    expect(t.rows).toHaveLength(8)
    const keys = t.rows.map((r) => [r.height, r.scale, r.bpp])
    expect(keys).toEqual([[360, 1.5, 0.01], [360, 1.5, 0.02], [360, 2, 0.005], [360, 2, 0.01], [360, 2, 0.02], [360, 2, 0.04], [720, 2, 0.01], [720, 2, 0.02]])
    expect(t.clips).toEqual(['a', 'b', 'c', 'd'])
  })

  it('shippedCrossoverTable() parses the committed models/aic-crossover.json, with rows at 360p and 720p for both scales', () => {
    const t = shippedCrossoverTable()
    expect(t.version).toBe(1)
    expect(t.source).toBe('bench/results/aic-enhance.json')
    for (const height of [360, 720]) {
      for (const scale of [2, 1.5]) expect(t.rows.filter((r) => r.height === height && r.scale === scale && r.clips >= 2).length).toBeGreaterThanOrEqual(2)
    }
    for (const r of t.rows) expect(r.clips).toBeLessThanOrEqual(t.clips.length)
    expect(shippedCrossoverTable()).toBe(t) // parsed once
  })

  it('parseCrossoverTable() refuses a value that is not an object', () => {
    expect(() => parseCrossoverTable(null)).toThrow(TypeError)
    expect(() => parseCrossoverTable('{"version":1}')).toThrow(/table must be an object/)
    expect(() => parseCrossoverTable([])).toThrow(/table must be an object, got an array/)
  })

  it('parseCrossoverTable() refuses another version', () => {
    expect(() => parseCrossoverTable(broken((t) => { t.version = 2 }))).toThrow(new RangeError('version must be 1, got 2'))
  })

  it('parseCrossoverTable() refuses a truncated table (no rows, a row cut short, empty rows) naming the field', () => {
    expect(() => parseCrossoverTable(broken((t) => { delete (t as Record<string, unknown>).rows }))).toThrow(new TypeError('rows must be an array, got undefined'))
    expect(() => parseCrossoverTable(broken((t) => { delete t.rows[7]!.psnrDelta }))).toThrow(/^rows\[7\]\.psnrDelta must be an object/)
    expect(() => parseCrossoverTable(broken((t) => { delete (t.rows[2]!.ssimDelta as Record<string, unknown>).mean }))).toThrow(new TypeError('rows[2].ssimDelta.mean must be a number, got undefined'))
    expect(() => parseCrossoverTable(broken((t) => { t.rows.length = 0 }))).toThrow(new RangeError('rows must not be empty'))
    expect(() => parseCrossoverTable(broken((t) => { delete (t as Record<string, unknown>).generatedAt }))).toThrow(new TypeError('generatedAt must be a string, got undefined'))
  })

  it('parseCrossoverTable() refuses wrong-typed and out-of-range fields, naming them', () => {
    expect(() => parseCrossoverTable(broken((t) => { t.rows[3]!.bpp = -0.01 }))).toThrow(new RangeError('rows[3].bpp must be a positive number, got -0.01'))
    expect(() => parseCrossoverTable(broken((t) => { t.rows[0]!.bpp = '0.01' }))).toThrow(new TypeError('rows[0].bpp must be a positive number, got "0.01"'))
    expect(() => parseCrossoverTable(broken((t) => { t.rows[1]!.height = 360.5 }))).toThrow(/^rows\[1\]\.height must be a whole number/)
    expect(() => parseCrossoverTable(broken((t) => { t.rows[1]!.scale = 1 }))).toThrow(/^rows\[1\]\.scale must be over 1/)
    expect(() => parseCrossoverTable(broken((t) => { t.rows[4]!.clips = 5 }))).toThrow(/^rows\[4\]\.clips must be at most the 4 clips/)
    expect(() => parseCrossoverTable(broken((t) => { (t.rows[5]!.ssimDelta as Record<string, unknown>).median = Number.NaN }))).toThrow(/^rows\[5\]\.ssimDelta\.median must be a finite number/)
    expect(() => parseCrossoverTable(broken((t) => { (t.rows[5]!.ssimDelta as Record<string, unknown>).p25 = 1.5 }))).toThrow(RangeError)
    expect(() => parseCrossoverTable(broken((t) => { t.rows[6]!.ssimDelta = [0, 0, 0] }))).toThrow(new TypeError('rows[6].ssimDelta must be an object { p25, median, mean }, got an array of 3'))
    expect(() => parseCrossoverTable(broken((t) => { t.clips = ['a', 7] }))).toThrow(new TypeError('clips[1] must be a string, got 7'))
    expect(() => parseCrossoverTable(broken((t) => { t.generatedAt = 'yesterday' }))).toThrow(/^generatedAt must be an ISO date/)
    expect(() => parseCrossoverTable(broken((t) => { t.rows.push({ ...t.rows[0] }) }))).toThrow(/^rows\[8\] repeats height 360, scale 2, bpp 0.04/)
  })

  it('parseCrossoverTable() refuses an oversized table: too many rows or clips, a string too long', () => {
    expect(() => parseCrossoverTable(broken((t) => {
      t.rows = Array.from({ length: CROSSOVER_LIMITS.maxRows + 1 }, (_, i) => ({ ...t.rows[0], bpp: 0.001 + i * 1e-5 }))
    }))).toThrow(new RangeError(`rows must have at most ${CROSSOVER_LIMITS.maxRows} rows, got ${CROSSOVER_LIMITS.maxRows + 1}`))
    expect(() => parseCrossoverTable(broken((t) => { t.clips = Array.from({ length: CROSSOVER_LIMITS.maxClips + 1 }, (_, i) => `c${i}`) }))).toThrow(/^clips must list at most/)
    expect(() => parseCrossoverTable(broken((t) => { t.source = 'x'.repeat(CROSSOVER_LIMITS.maxStringLength + 1) }))).toThrow(/^source must be at most 1024 characters/)
    expect(() => parseCrossoverTable(broken((t) => { t.rows[0]!.height = 100_000 }))).toThrow(/^rows\[0\]\.height must be at most 8192/)
  })
})

describe('lookupGain', () => {
  const t = parseCrossoverTable(table())

  it('lookupGain() returns a row\'s own figures at its bpp', () => {
    const g = lookupGain(t, { height: 360, bpp: 0.02, scale: 2 })
    expect(g).toMatchObject({ height: 360, scale: 2, bpp: 0.02, clips: 4 })
    expect(g!.ssimDelta.median).toBeCloseTo(0.006, 10)
    expect(g!.psnrDelta.median).toBeCloseTo(1.8, 10)
  })

  it('lookupGain() interpolates linearly in log(bpp): at the geometric mean of two rows it gives their mean', () => {
    const g = lookupGain(t, { height: 360, bpp: Math.sqrt(0.01 * 0.02), scale: 2 })
    expect(g!.ssimDelta.median).toBeCloseTo((0.010 + 0.006) / 2, 10)
    expect(g!.ssimDelta.p25).toBeCloseTo((0.006 + 0.002) / 2, 10)
    // a quarter of the way in log(bpp) is a quarter of the way in value
    const q = lookupGain(t, { height: 360, bpp: 0.02 * 2 ** 0.25, scale: 2 })
    expect(q!.ssimDelta.median).toBeCloseTo(0.006 + (-0.002 - 0.006) * 0.25, 10)
  })

  it('lookupGain() returns undefined outside the rows\' bpp range: no data is no claim', () => {
    expect(lookupGain(t, { height: 360, bpp: 0.041, scale: 2 })).toBeUndefined()
    expect(lookupGain(t, { height: 360, bpp: 0.0099, scale: 1.5 })).toBeUndefined()
    expect(lookupGain(t, { height: 360, bpp: 0.02, scale: 3 })).toBeUndefined()
  })

  it('lookupGain() leaves out rows with fewer than 2 clips', () => {
    // the 0.005 bpp row has 1 clip: below 0.01 there is no claim
    expect(lookupGain(t, { height: 360, bpp: 0.007, scale: 2 })).toBeUndefined()
    expect(lookupGain(t, { height: 360, bpp: 0.005, scale: 2 })).toBeUndefined()
  })

  it('lookupGain() uses the nearest table height, the smaller on a tie', () => {
    expect(lookupGain(t, { height: 480, bpp: 0.01, scale: 2 })!.height).toBe(360)
    expect(lookupGain(t, { height: 540, bpp: 0.01, scale: 2 })!.height).toBe(360) // 180 from each: the smaller
    expect(lookupGain(t, { height: 541, bpp: 0.01, scale: 2 })!.height).toBe(720)
    expect(lookupGain(t, { height: 1080, bpp: 0.01, scale: 2 })!.ssimDelta.median).toBeCloseTo(0.020, 10)
    // 720p has no 1.5x rows: no claim, even though 360p has them
    expect(lookupGain(t, { height: 720, bpp: 0.01, scale: 1.5 })).toBeUndefined()
  })

  it('lookupGain() refuses a bpp or height that is not a positive number', () => {
    expect(() => lookupGain(t, { height: 360, bpp: 0, scale: 2 })).toThrow(new RangeError('bpp must be a positive number, got 0'))
    expect(() => lookupGain(t, { height: Number.NaN, bpp: 0.01, scale: 2 })).toThrow(RangeError)
  })
})

describe('bench/aic/crossover.mjs crossoverTable()', () => {
  // a dynamic import: the bench scripts are plain JavaScript, outside this package
  const load = async (): Promise<{ crossoverTable: (result: unknown, opts?: { source?: string }) => CrossoverTable }> =>
    await import(new URL('bench/aic/crossover.mjs', repo).href)

  /** An aic-enhance result of two 640x360 clips: `points` as (target, vp8 [kbps, ssim, psnr], aic [kbps, ssim, psnr]). */
  function result (clips: Array<Array<[number, [number, number, number], [number, number, number]]>>): unknown {
    return {
      benchmark: 'aic-enhance',
      date: '2026-02-03T04:05:06.000Z',
      quick: false,
      scales: [2],
      clips: clips.map((points, i) => ({
        name: `clip-${i}`,
        width: 640,
        height: 360,
        points: points.map(([targetKbps, v, a]) => ({
          targetKbps,
          vp8: { kbps: v[0], ssim: v[1], psnr: v[2] },
          aic: { kbps: a[0], ssim: a[1], psnr: a[2] }
        }))
      }))
    }
  }

  it('crossoverTable(result) takes each clip\'s delta at the same rate, interpolated in log(kbps), and its p25 / median / mean', async () => {
    const { crossoverTable } = await load()
    const t = parseCrossoverTable(crossoverTable(result([
      // clip 0: at 200 kbps (the log-midpoint of 100 and 400) VP8 is 0.93, AIC 0.935
      [[100, [100, 0.90, 30], [100, 0.92, 31]], [400, [400, 0.96, 36], [400, 0.95, 35]]],
      // clip 1: AIC 0.01 under VP8 everywhere; its 0 kbps point (every frame dropped) is left out
      [[50, [0, 0.5, 10], [0, 0.5, 10]], [100, [100, 0.91, 31], [100, 0.90, 30]], [400, [400, 0.97, 37], [400, 0.96, 36]]]
    ])))
    expect(t.generatedAt).toBe('2026-02-03T04:05:06.000Z')
    expect(t.clips).toEqual(['clip-0', 'clip-1'])
    const at200 = t.rows.find((r) => r.kbps === 200)!
    expect(at200).toMatchObject({ height: 360, scale: 2, clips: 2 })
    expect(Math.abs(at200.bpp / (200_000 / (640 * 360 * 30)) - 1)).toBeLessThan(1e-3) // 4 significant digits
    expect(at200.ssimDelta.median).toBeCloseTo((0.005 - 0.01) / 2, 5)
    expect(at200.ssimDelta.p25).toBeCloseTo(-0.01 + 0.015 * 0.25, 5)
    expect(at200.psnrDelta.mean).toBeCloseTo((0 + -1) / 2, 3)
    // only the grid's rates inside both clips' measured ranges (100..400 kbps)
    expect(t.rows.map((r) => r.kbps)).toEqual([100, 125, 150, 200, 250, 300, 400])
  })

  it('crossoverTable(result) gives a clip no value at a rate outside its measured range on either curve', async () => {
    const { crossoverTable } = await load()
    const t = crossoverTable(result([
      [[100, [100, 0.90, 30], [100, 0.92, 31]], [800, [800, 0.97, 37], [800, 0.98, 38]]],
      // AIC's coded rate saturates at 300 kbps: above it, this clip says nothing
      [[100, [100, 0.90, 30], [100, 0.92, 31]], [800, [800, 0.97, 37], [300, 0.98, 38]]]
    ]))
    expect(t.rows.find((r) => r.kbps === 300)!.clips).toBe(2)
    expect(t.rows.find((r) => r.kbps === 400)!.clips).toBe(1)
    expect(t.rows.find((r) => r.kbps === 800)!.clips).toBe(1)
  })

  it('crossoverTable(result) refuses something that is not an aic-enhance result', async () => {
    const { crossoverTable } = await load()
    expect(() => crossoverTable({})).toThrow(TypeError)
    expect(() => crossoverTable({ clips: [], scales: [3] })).toThrow(/result.scales has 3/)
  })

  it('the shipped table is what crossoverTable() makes of bench/results/aic-enhance.json (rerun node bench/aic/crossover.mjs when it is not)', async () => {
    const { crossoverTable } = await load()
    const results = JSON.parse(readFileSync(new URL('bench/results/aic-enhance.json', repo), 'utf8')) as unknown
    const committed = JSON.parse(readFileSync(new URL('packages/aic/models/aic-crossover.json', repo), 'utf8')) as unknown
    expect(crossoverTable(results)).toEqual(committed)
  })
})
