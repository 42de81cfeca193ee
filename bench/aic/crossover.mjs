// bench/aic/crossover: where tool 1 (VP8 at reduced size + the AIC enhancer) beats plain VP8 at
// full size, as the table the mode controller reads (packages/aic/src/crossover.ts,
// createAicController in packages/aic/src/aic-controller.ts).
//
// From an aic-enhance result (bench/aic/enhance.mjs): for each clip, each method's curve of
// (actual kbps, SSIM / PSNR) is interpolated linearly in log(kbps); at each rate of a grid, the
// delta of "VP8 at 1/scale the size + AIC at scale" minus "VP8 at full size" is taken per clip,
// at the same actual rate. A rate outside a clip's measured range on either curve gives that clip
// no value there (no extrapolation). Then p25, median and mean over the clips that have a value.
// One row per (full-size height, scale, rate); bpp = bits per pixel of the full-size frame at 30
// fps, so that a call of another frame size can use the row.
//
//   node bench/aic/crossover.mjs [bench/results/aic-enhance.json]
//     writes packages/aic/models/aic-crossover.json
//
// bench/aic/enhance.mjs may import crossoverTable() and write the table after a run.
import { readFileSync, realpathSync, writeFileSync } from 'node:fs'
import { isAbsolute, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { root } from '../lib.mjs'

/** The rates (kbps, at the reference width of each height) the table has a row at, where the clips were measured. */
export const RATE_GRID = [100, 125, 150, 200, 250, 300, 400, 500, 600, 800, 1000]
/** Frame rate the bits-per-pixel figures assume (the benchmark codes at 30 fps). */
export const FPS = 30
/** The method key an aic-enhance result stores each scale's AIC arm under. */
const AIC_KEY = { 2: 'aic', 1.5: 'aic1_5' }
const METRICS = [['ssim', 'ssimDelta', 5], ['psnr', 'psnrDelta', 3]]

const round = (x, d) => Math.round(x * 10 ** d) / 10 ** d
/** Rounds to `n` significant digits (bits per pixel are small numbers). */
const sig = (x, n) => Number(x.toPrecision(n))

/** The p-th percentile (0..100) by linear interpolation between order statistics. */
export function percentile (values, p) {
  const sorted = [...values].sort((a, b) => a - b)
  const pos = (sorted.length - 1) * p / 100
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo)
}

/**
 * One method's curve on one clip: its points with a positive rate (a point where the encoder
 * dropped every frame has no place on a log-rate curve), by rising rate; points of equal rate
 * share their mean quality. Returns (kbps) => quality, undefined outside the measured range.
 */
function curve (points, method, metric) {
  const byRate = new Map()
  for (const p of points) {
    const arm = p[method]
    if (arm === undefined || !(arm.kbps > 0) || !Number.isFinite(arm[metric])) continue
    const list = byRate.get(arm.kbps) ?? []
    list.push(arm[metric])
    byRate.set(arm.kbps, list)
  }
  const pts = [...byRate].map(([kbps, qs]) => ({ x: Math.log(kbps), q: qs.reduce((s, q) => s + q, 0) / qs.length })).sort((a, b) => a.x - b.x)
  return (kbps) => {
    const x = Math.log(kbps)
    if (pts.length === 0 || x < pts[0].x || x > pts[pts.length - 1].x) return undefined
    if (pts.length === 1) return pts[0].q
    let i = 0
    while (i < pts.length - 2 && x > pts[i + 1].x) i++
    const a = pts[i]
    const b = pts[i + 1]
    return a.q + (b.q - a.q) * (x - a.x) / (b.x - a.x)
  }
}

/**
 * The crossover table of an aic-enhance result (the object bench/aic/enhance.mjs writes to
 * bench/results/aic-enhance.json). `source` names the result file in the table (relative to the
 * repository); by default the file enhance.mjs writes for this kind of run.
 */
export function crossoverTable (result, { source } = {}) {
  if (result === null || typeof result !== 'object' || !Array.isArray(result.clips)) throw new TypeError('crossoverTable: result.clips must be an array (an aic-enhance result)')
  const scales = Array.isArray(result.scales) ? result.scales : [2]
  for (const s of scales) if (AIC_KEY[s] === undefined) throw new RangeError(`crossoverTable: result.scales has ${s}; known scales: ${Object.keys(AIC_KEY).join(', ')}`)
  const clips = result.clips.filter((c) => Array.isArray(c?.points) && c.width > 0 && c.height > 0)
  const heights = [...new Set(clips.map((c) => c.height))].sort((a, b) => a - b)
  const rows = []
  for (const height of heights) {
    const atHeight = clips.filter((c) => c.height === height)
    // the grid's rates are at the first clip's width; a clip of another width at this height is
    // taken at the same bits per pixel (its own rate), so that a row means one bpp
    const refPixels = atHeight[0].width * height
    for (const scale of [...scales].sort((a, b) => b - a)) {
      const curves = atHeight.map((c) => ({
        pixels: c.width * c.height,
        metrics: Object.fromEntries(METRICS.map(([m]) => [m, { vp8: curve(c.points, 'vp8', m), aic: curve(c.points, AIC_KEY[scale], m) }]))
      }))
      for (const kbps of RATE_GRID) {
        const bpp = kbps * 1000 / (refPixels * FPS)
        const row = { height, scale, bpp: sig(bpp, 4), kbps, clips: 0 }
        for (const [metric, key, digits] of METRICS) {
          const deltas = []
          for (const c of curves) {
            const rate = bpp * c.pixels * FPS / 1000
            const full = c.metrics[metric].vp8(rate)
            const aic = c.metrics[metric].aic(rate)
            if (full !== undefined && aic !== undefined) deltas.push(aic - full)
          }
          if (deltas.length === 0) break
          // both metrics come from the same points, so a clip has both deltas or neither
          row.clips = Math.min(deltas.length, row.clips || Infinity)
          row[key] = {
            p25: round(percentile(deltas, 25), digits),
            median: round(percentile(deltas, 50), digits),
            mean: round(deltas.reduce((s, d) => s + d, 0) / deltas.length, digits)
          }
        }
        if (row.ssimDelta !== undefined && row.psnrDelta !== undefined) rows.push(row)
      }
    }
  }
  return {
    version: 1,
    generatedBy: 'bench/aic/enhance.mjs',
    // writeResult() (bench/lib.mjs) stamps the run's date; a result not yet written is a run of now
    generatedAt: typeof result.date === 'string' ? result.date : new Date().toISOString(),
    source: source ?? `bench/results/${result.quick === true ? 'aic-enhance-quick' : 'aic-enhance'}.json`,
    clips: clips.map((c) => c.name),
    rows
  }
}

/** Where the controller's shipped table lives. */
export const TABLE_FILE = join(root, 'packages/aic/models/aic-crossover.json')

const isMain = process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))
if (isMain) {
  const file = resolve(process.argv[2] ?? join(root, 'bench/results/aic-enhance.json'))
  const rel = relative(root, file)
  const table = crossoverTable(JSON.parse(readFileSync(file, 'utf8')), { source: isAbsolute(rel) || rel.startsWith('..') ? undefined : rel.split('\\').join('/') })
  writeFileSync(TABLE_FILE, JSON.stringify(table, null, 2) + '\n')
  const wins = table.rows.filter((r) => r.clips >= 2 && r.ssimDelta.median > 0).map((r) => `${r.height}p ${r.scale}x ${r.kbps} kbps`)
  console.log(`wrote ${relative(root, TABLE_FILE)}: ${table.rows.length} rows from ${table.clips.length} clips; AIC's median SSIM beats VP8 at: ${wins.join(', ') || 'none'}`)
}
