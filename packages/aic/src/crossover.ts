/**
 * The crossover table: where tool 1 (VP8 at reduced size, restored by the enhancer at `scale`)
 * beats plain VP8 at full size, measured by bench/aic/enhance.mjs and written by
 * bench/aic/crossover.mjs to `models/aic-crossover.json`. The mode controller
 * (aic-controller.ts) reads it through {@link lookupGain}.
 *
 * One row per (full-size height, scale, rate): the quality delta "AIC at `scale`" minus "VP8 at
 * full size" at the same actual bit rate, over the benchmark's clips (p25, median, mean; `clips`
 * says how many clips had a value at that rate). `bpp` is bits per pixel of the full-size frame at
 * 30 fps (kbps * 1000 / (width * height * 30)), so a call of another frame size or frame rate can
 * use the row at its own bits per pixel.
 */
import shippedJson from '../models/aic-crossover.json' with { type: 'json' }

/** p25, median and mean of one quality delta over the clips (positive: AIC is better). */
export interface DeltaStats {
  p25: number
  median: number
  mean: number
}

/** One row of the table. */
export interface CrossoverRow {
  /** Full-size frame height of the clips (e.g. 360, 720). */
  height: number
  /** The enhancer's scale (output size / coded size), e.g. 2 or 1.5. */
  scale: number
  /** Bits per pixel of the full-size frame at 30 fps. */
  bpp: number
  /** The rate of this row for the clips' frame size, in kbps (for people; the controller uses `bpp`). */
  kbps: number
  /** How many clips had a value at this rate (both curves measured there). */
  clips: number
  /** SSIM (luma, 0..1) of AIC minus SSIM of VP8 at full size. */
  ssimDelta: DeltaStats
  /** PSNR (luma, dB) of AIC minus PSNR of VP8 at full size. */
  psnrDelta: DeltaStats
}

/** The measured crossover table: per scale and bitrate, whether the enhancer beats the native codec (`parseCrossoverTable()`, `shippedCrossoverTable()`). */
export interface CrossoverTable {
  version: 1
  /** The benchmark that measured the figures. */
  generatedBy: string
  /** ISO date of the benchmark run. */
  generatedAt: string
  /** The results file the table was made from, relative to the repository. */
  source: string
  /** The clips the benchmark measured. */
  clips: string[]
  /** Sorted by height, scale, then bpp. */
  rows: CrossoverRow[]
}

/** What {@link lookupGain} returns: the table's statistics at one operating point. */
export interface GainStats {
  /** The table height that was used (the nearest to the call's). */
  height: number
  scale: number
  bpp: number
  /** The smaller clip count of the two rows interpolated between. */
  clips: number
  ssimDelta: DeltaStats
  psnrDelta: DeltaStats
}

/** Limits of a table this code accepts: a larger one is not a table the benchmark wrote. */
export const CROSSOVER_LIMITS = {
  maxRows: 4096,
  maxClips: 4096,
  maxStringLength: 1024,
  maxHeight: 8192,
  maxScale: 8,
  /** SSIM deltas lie in [-1, 1]; PSNR deltas in dB within +-100. */
  maxAbsSsimDelta: 1,
  maxAbsPsnrDelta: 100
} as const

/** Rows with fewer clips than this are in the table for people but make no claim. */
export const MIN_CLIPS_PER_ROW = 2

function isObject (x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x)
}

function show (x: unknown): string {
  if (typeof x === 'string') return JSON.stringify(x.length > 40 ? `${x.slice(0, 40)}...` : x)
  if (Array.isArray(x)) return `an array of ${x.length}`
  if (x === null) return 'null'
  return typeof x === 'object' ? 'an object' : String(x)
}

function string (x: unknown, field: string): string {
  if (typeof x !== 'string') throw new TypeError(`${field} must be a string, got ${show(x)}`)
  if (x.length > CROSSOVER_LIMITS.maxStringLength) throw new RangeError(`${field} must be at most ${CROSSOVER_LIMITS.maxStringLength} characters, got ${x.length}`)
  return x
}

function positive (x: unknown, field: string, max = Number.MAX_VALUE): number {
  if (typeof x !== 'number') throw new TypeError(`${field} must be a positive number, got ${show(x)}`)
  if (!(Number.isFinite(x) && x > 0)) throw new RangeError(`${field} must be a positive number, got ${show(x)}`)
  if (x > max) throw new RangeError(`${field} must be at most ${max}, got ${x}`)
  return x
}

function delta (x: unknown, field: string, maxAbs: number): DeltaStats {
  if (!isObject(x)) throw new TypeError(`${field} must be an object { p25, median, mean }, got ${show(x)}`)
  const out = { p25: 0, median: 0, mean: 0 }
  for (const key of ['p25', 'median', 'mean'] as const) {
    const v = x[key]
    if (typeof v !== 'number') throw new TypeError(`${field}.${key} must be a number, got ${show(v)}`)
    if (!Number.isFinite(v) || Math.abs(v) > maxAbs) throw new RangeError(`${field}.${key} must be a finite number within +-${maxAbs}, got ${show(v)}`)
    out[key] = v
  }
  return out
}

/**
 * Checks a crossover table (parsed JSON) and returns a clean copy with its rows sorted by height,
 * scale and bpp. TypeError for a wrong type, RangeError for a value out of range, a table over
 * `CROSSOVER_LIMITS`, an empty one or a repeated (height, scale, bpp); each names the field,
 * e.g. `rows[3].bpp must be a positive number, got -1`.
 */
export function parseCrossoverTable (json: unknown): CrossoverTable {
  if (!isObject(json)) throw new TypeError(`table must be an object, got ${show(json)}`)
  if (json.version !== 1) throw new RangeError(`version must be 1, got ${show(json.version)}`)
  const generatedBy = string(json.generatedBy, 'generatedBy')
  const generatedAt = string(json.generatedAt, 'generatedAt')
  if (Number.isNaN(Date.parse(generatedAt))) throw new RangeError(`generatedAt must be an ISO date, got ${show(generatedAt)}`)
  const source = string(json.source, 'source')
  if (!Array.isArray(json.clips)) throw new TypeError(`clips must be an array of clip names, got ${show(json.clips)}`)
  if (json.clips.length > CROSSOVER_LIMITS.maxClips) throw new RangeError(`clips must list at most ${CROSSOVER_LIMITS.maxClips} clips, got ${json.clips.length}`)
  const clips = json.clips.map((c, i) => string(c, `clips[${i}]`))
  if (!Array.isArray(json.rows)) throw new TypeError(`rows must be an array, got ${show(json.rows)}`)
  if (json.rows.length === 0) throw new RangeError('rows must not be empty')
  if (json.rows.length > CROSSOVER_LIMITS.maxRows) throw new RangeError(`rows must have at most ${CROSSOVER_LIMITS.maxRows} rows, got ${json.rows.length}`)
  const seen = new Set<string>()
  const rows = json.rows.map((r: unknown, i): CrossoverRow => {
    const at = `rows[${i}]`
    if (!isObject(r)) throw new TypeError(`${at} must be an object, got ${show(r)}`)
    const height = positive(r.height, `${at}.height`, CROSSOVER_LIMITS.maxHeight)
    if (!Number.isInteger(height)) throw new RangeError(`${at}.height must be a whole number of pixels, got ${height}`)
    const scale = positive(r.scale, `${at}.scale`, CROSSOVER_LIMITS.maxScale)
    if (!(scale > 1)) throw new RangeError(`${at}.scale must be over 1 (an upscaling factor), got ${scale}`)
    const bpp = positive(r.bpp, `${at}.bpp`, 24)
    const kbps = positive(r.kbps, `${at}.kbps`)
    const n = positive(r.clips, `${at}.clips`)
    if (!Number.isInteger(n)) throw new RangeError(`${at}.clips must be a whole number, got ${n}`)
    if (clips.length > 0 && n > clips.length) throw new RangeError(`${at}.clips must be at most the ${clips.length} clips the table lists, got ${n}`)
    const key = `${height}/${scale}/${bpp}`
    if (seen.has(key)) throw new RangeError(`${at} repeats height ${height}, scale ${scale}, bpp ${bpp}`)
    seen.add(key)
    return {
      height,
      scale,
      bpp,
      kbps,
      clips: n,
      ssimDelta: delta(r.ssimDelta, `${at}.ssimDelta`, CROSSOVER_LIMITS.maxAbsSsimDelta),
      psnrDelta: delta(r.psnrDelta, `${at}.psnrDelta`, CROSSOVER_LIMITS.maxAbsPsnrDelta)
    }
  })
  rows.sort((a, b) => a.height - b.height || a.scale - b.scale || a.bpp - b.bpp)
  return { version: 1, generatedBy, generatedAt, source, clips, rows }
}

let shipped: CrossoverTable | undefined

/** The table this package ships (`models/aic-crossover.json`), parsed once. */
export function shippedCrossoverTable (): CrossoverTable {
  shipped ??= parseCrossoverTable(shippedJson)
  return shipped
}

function lerp (a: DeltaStats, b: DeltaStats, t: number): DeltaStats {
  return {
    p25: a.p25 + (b.p25 - a.p25) * t,
    median: a.median + (b.median - a.median) * t,
    mean: a.mean + (b.mean - a.mean) * t
  }
}

/**
 * The table's statistics for a call: at the table height nearest `height` (on a tie, the
 * smaller), for exactly `scale`, interpolated linearly in log(bpp) between the two nearest rows
 * of that height and scale. Rows with fewer than `MIN_CLIPS_PER_ROW` clips do not count.
 * Outside the rows' bpp range, or with no rows for that scale, it returns undefined: no data is
 * no claim.
 */
export function lookupGain (table: CrossoverTable, at: { height: number, bpp: number, scale: number }): GainStats | undefined {
  const { height, bpp, scale } = at
  if (!(Number.isFinite(height) && height > 0)) throw new RangeError(`height must be a positive number, got ${height}`)
  if (!(Number.isFinite(bpp) && bpp > 0)) throw new RangeError(`bpp must be a positive number, got ${bpp}`)
  let nearest: number | undefined
  for (const r of table.rows) {
    if (nearest === undefined) { nearest = r.height; continue }
    const d = Math.abs(r.height - height) - Math.abs(nearest - height)
    if (d < 0 || (d === 0 && r.height < nearest)) nearest = r.height
  }
  const rows = table.rows
    .filter((r) => r.height === nearest && r.scale === scale && r.clips >= MIN_CLIPS_PER_ROW)
    .sort((a, b) => a.bpp - b.bpp)
  const first = rows[0]
  const last = rows[rows.length - 1]
  if (first === undefined || last === undefined || bpp < first.bpp || bpp > last.bpp) return undefined
  let i = 0
  while (i < rows.length - 2 && bpp > rows[i + 1]!.bpp) i++
  const a = rows[i]!
  const b = rows[Math.min(i + 1, rows.length - 1)]!
  const t = b.bpp === a.bpp ? 0 : (Math.log(bpp) - Math.log(a.bpp)) / (Math.log(b.bpp) - Math.log(a.bpp))
  return {
    height: a.height,
    scale,
    bpp,
    clips: t === 0 ? a.clips : t === 1 ? b.clips : Math.min(a.clips, b.clips),
    ssimDelta: lerp(a.ssimDelta, b.ssimDelta, t),
    psnrDelta: lerp(a.psnrDelta, b.psnrDelta, t)
  }
}
