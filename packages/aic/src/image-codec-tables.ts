/**
 * Tool 2's tables file (`models/image-codec-tables.bin`, written by
 * training/export_image_codec.py): everything the bits depend on, in integers, so that every
 * runtime codes and decodes the same bits. Layout: "AICT", a little-endian uint32 n, n bytes of
 * JSON (shapes, shifts, gains, and each integer array's byte offset and length in the blob),
 * padding to a multiple of 4, then the blob (int16 weights, int32 biases, uint32 CDF entries).
 */
import { ModelLoadError } from './errors.js'
import { checkCdf, PROB_BITS } from './rans.js'
import type { CdfTable } from './rans.js'

/** One layer of the integer hyper-synthesis: [2x nearest upsampling], 3x3 convolution, rounding shift, clamp. */
export interface IntConvLayer {
  cin: number
  cout: number
  upsample: boolean
  /** Clamp after the shift: 0..255 for hidden layers (the ReLU), 0..S-1 (the scale index) for the last. */
  lo: number
  hi: number
  /** Right shift per output channel, 1..24. */
  shift: Int32Array
  /** cout x cin x 3 x 3. */
  weights: Int16Array
  bias: Int32Array
}

/** The learned image codec's integer tables (`parseCodecTables()`): latent sizes, CDFs and the hyper-synthesis layers. */
export interface CodecTables {
  name: string
  levels: number
  /** Channels of y. */
  latent: number
  /** Channels of z. */
  hyperLatent: number
  /** z_hat is clamped to -zmax..zmax. */
  zmax: number
  /** Per level, per channel of y: the encoder's gain and the decoder's inverse gain. */
  gains: Float32Array[]
  invGains: Float32Array[]
  layers: IntConvLayer[]
  /** One per channel of z, over symbols -zmax..zmax. */
  zCdfs: CdfTable[]
  /** Gaussian scale tables; table t codes -radii[t]..radii[t]. */
  yCdfs: CdfTable[]
  radii: Int32Array
}

interface ArrayRef { offset: number, length: number, type: string }

const MAGIC = [0x41, 0x49, 0x43, 0x54] // "AICT"
const FORMAT = 1
const MAX_ACC = 2 ** 31

function isInt (v: unknown, lo: number, hi: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi
}

/** Parses and checks a tables file; every inconsistency is a ModelLoadError naming `file`. */
export function parseCodecTables (bytes: Uint8Array, file: string): CodecTables {
  const bad = (reason: string): ModelLoadError => new ModelLoadError(file, reason)
  if (bytes.length < 8 || MAGIC.some((b, i) => bytes[i] !== b)) throw bad('not an AIC tables file (no "AICT" magic)')
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const n = view.getUint32(4, true)
  if (8 + n > bytes.length) throw bad(`its JSON head of ${n} bytes runs past the end of the file (${bytes.length} bytes)`)
  let meta: Record<string, unknown>
  try {
    meta = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n))) as Record<string, unknown>
  } catch (err) {
    throw new ModelLoadError(file, `its JSON head does not parse (${(err as Error).message})`, { cause: err })
  }
  if (meta === null || typeof meta !== 'object') throw bad('its JSON head is not an object')
  const blobStart = 8 + n + ((4 - ((8 + n) % 4)) % 4)
  const blob = (name: string, ref: unknown, type: 'int16' | 'int32' | 'uint32', want?: number): number[] => {
    const r = ref as ArrayRef | null
    if (r === null || typeof r !== 'object' || r.type !== type || !isInt(r.offset, 0, 2 ** 31) || !isInt(r.length, 0, 2 ** 28)) throw bad(`${name}: expected a ${type} array reference`)
    if (want !== undefined && r.length !== want) throw bad(`${name}: ${r.length} entries, expected ${want}`)
    const size = type === 'int16' ? 2 : 4
    const start = blobStart + r.offset
    if (start + r.length * size > bytes.length) throw bad(`${name}: runs past the end of the file (truncated?)`)
    const out = new Array<number>(r.length)
    for (let i = 0; i < r.length; i++) {
      const at = start + i * size
      out[i] = type === 'int16' ? view.getInt16(at, true) : type === 'int32' ? view.getInt32(at, true) : view.getUint32(at, true)
    }
    return out
  }
  if (meta.format !== FORMAT) throw bad(`format ${String(meta.format)}, this build reads format ${FORMAT}`)
  const { levels, latent, hyperLatent, zmax } = meta
  if (!isInt(levels, 1, 64) || !isInt(latent, 1, 1024) || !isInt(hyperLatent, 1, 1024) || !isInt(zmax, 1, 1024)) throw bad('levels, latent, hyperLatent or zmax is missing or out of range')
  if (meta.probBits !== PROB_BITS || meta.stride !== 16 || meta.hyperStride !== 64) throw bad(`expected probBits ${PROB_BITS}, stride 16, hyperStride 64`)
  const floats = (name: string, rows: unknown): Float32Array[] => {
    if (!Array.isArray(rows) || rows.length !== levels) throw bad(`${name}: expected ${levels} rows`)
    return rows.map((row: unknown, q) => {
      if (!Array.isArray(row) || row.length !== latent || !row.every((v) => typeof v === 'number' && Number.isFinite(v) && v > 0)) throw bad(`${name}[${q}]: expected ${latent} positive numbers`)
      return Float32Array.from(row as number[])
    })
  }
  const gains = floats('gains', meta.gains)
  const invGains = floats('invGains', meta.invGains)

  const radiiIn = meta.radii
  if (!Array.isArray(radiiIn) || radiiIn.length < 2 || radiiIn.length > 256 || !radiiIn.every((r) => isInt(r, 1, 4096))) throw bad('radii: expected 2 to 256 whole numbers from 1 to 4096')
  const radii = Int32Array.from(radiiIn as number[])
  const scales = radii.length

  if (!Array.isArray(meta.layers) || meta.layers.length < 1 || meta.layers.length > 8) throw bad('layers: expected 1 to 8 layers')
  let channels = hyperLatent
  let ups = 0
  let maxIn = zmax
  const layers = (meta.layers as Array<Record<string, unknown>>).map((l, i): IntConvLayer => {
    const last = i === (meta.layers as unknown[]).length - 1
    const { cin, cout, lo, hi, upsample, kernel } = l ?? {}
    if (!isInt(cin, 1, 1024) || !isInt(cout, 1, 1024) || !isInt(lo, 0, 255) || !isInt(hi, 0, 255) || lo > hi || typeof upsample !== 'boolean' || kernel !== 3) throw bad(`layers[${i}]: bad shape`)
    if (cin !== channels) throw bad(`layers[${i}] takes ${cin} channels, the layer before gives ${channels}`)
    if (last && (cout !== latent || lo !== 0 || hi !== scales - 1)) throw bad(`the last layer must give ${latent} channels of indices 0..${scales - 1}`)
    const shiftIn = l.shift
    if (!Array.isArray(shiftIn) || shiftIn.length !== cout || !shiftIn.every((s) => isInt(s, 1, 24))) throw bad(`layers[${i}].shift: expected ${cout} shifts from 1 to 24`)
    const weights = Int16Array.from(blob(`layers[${i}].weights`, l.weights, 'int16', cout * cin * 9))
    const bias = Int32Array.from(blob(`layers[${i}].bias`, l.bias, 'int32', cout))
    const shift = Int32Array.from(shiftIn as number[])
    // every accumulator, and the rounding term, stays inside int32 for every input the layer can see
    for (let o = 0; o < cout; o++) {
      let sum = 0
      for (let k = o * cin * 9; k < (o + 1) * cin * 9; k++) sum += Math.abs(weights[k]!)
      if (sum * maxIn + Math.abs(bias[o]!) + 2 ** (shift[o]! - 1) >= MAX_ACC) throw bad(`layers[${i}] channel ${o} could overflow an int32 accumulator`)
    }
    channels = cout
    if (upsample) ups++
    maxIn = hi
    return { cin, cout, upsample, lo, hi, shift, weights, bias }
  })
  if (ups !== 2) throw bad(`the hyper-synthesis must upsample twice (z is at 1/64, y at 1/16), it upsamples ${ups} times`)

  const cdfs = (name: string, ref: unknown, sizes: number[]): CdfTable[] => {
    const all = blob(name, ref, 'uint32', sizes.reduce((s, k) => s + k + 1, 0))
    let at = 0
    return sizes.map((k, t) => {
      const table = Uint32Array.from(all.slice(at, at + k + 1))
      at += k + 1
      try {
        checkCdf(table, t)
      } catch (err) {
        throw new ModelLoadError(file, `${name}: ${(err as Error).message}`, { cause: err })
      }
      return table
    })
  }
  const zCdfs = cdfs('zCdfs', meta.zCdfs, new Array<number>(hyperLatent).fill(2 * zmax + 1))
  const yCdfs = cdfs('yCdfs', meta.yCdfs, Array.from(radii, (r) => 2 * r + 1))
  return { name: typeof meta.name === 'string' ? meta.name : 'image-codec', levels, latent, hyperLatent, zmax, gains, invGains, layers, zCdfs, yCdfs, radii }
}
