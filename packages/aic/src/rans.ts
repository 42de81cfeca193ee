import { CorruptStreamError, InvalidCdfError, StreamTooLargeError, TruncatedStreamError } from './errors.js'

/** Probabilities are integers out of 2^PROB_BITS. */
export const PROB_BITS = 16
/** The total of every CDF table: 2^PROB_BITS. */
export const PROB_SCALE = 1 << PROB_BITS
/** The coder's state lives in [RANS_L, RANS_L * 256). */
const RANS_L = 1 << 23
/** Symbols one call may code unless the caller allows more. */
export const DEFAULT_MAX_SYMBOLS = 1 << 24

/**
 * An integer cumulative distribution: `cdf[0] = 0`, strictly increasing, `cdf[n] = 2^16` for an
 * alphabet of n symbols (symbol s has frequency `cdf[s+1] - cdf[s] >= 1`). Tables are built once,
 * offline, and shipped; nothing here derives them from floats, so every runtime codes the same bits.
 */
export type CdfTable = Uint32Array

/** Throws InvalidCdfError naming what is wrong with table `index`. */
export function checkCdf (cdf: CdfTable, index = 0): void {
  if (!(cdf instanceof Uint32Array) || cdf.length < 2) {
    throw new InvalidCdfError(`table ${index}: expected a Uint32Array of at least 2 entries`)
  }
  if (cdf[0] !== 0) throw new InvalidCdfError(`table ${index}: cdf[0] must be 0, got ${cdf[0]}`)
  if (cdf[cdf.length - 1] !== PROB_SCALE) {
    throw new InvalidCdfError(`table ${index}: the last entry must be ${PROB_SCALE}, got ${cdf[cdf.length - 1]}`)
  }
  for (let s = 0; s + 1 < cdf.length; s++) {
    if (cdf[s + 1]! <= cdf[s]!) throw new InvalidCdfError(`table ${index}: symbol ${s} has frequency ${cdf[s + 1]! - cdf[s]!}; every symbol needs at least 1`)
  }
}

/**
 * Table chosen for symbol i: one table for all, or a per-symbol index into `tables`.
 */
export type TableIndex = number | ArrayLike<number>

function tableFor (tables: readonly CdfTable[], index: TableIndex, i: number): CdfTable {
  const t = typeof index === 'number' ? index : index[i]
  const table = t === undefined ? undefined : tables[t]
  if (table === undefined) throw new RangeError(`symbol ${i}: table index ${String(t)} is not one of the ${tables.length} tables`)
  return table
}

/**
 * Codes `symbols` with rANS (32-bit state, byte-wise renormalisation). `tables[index]` gives each
 * symbol's distribution. Throws RangeError for a symbol outside its table's alphabet.
 */
export function ransEncode (symbols: ArrayLike<number>, index: TableIndex, tables: readonly CdfTable[]): Uint8Array {
  tables.forEach(checkCdf)
  const n = symbols.length
  if (n > DEFAULT_MAX_SYMBOLS) throw new StreamTooLargeError(`${n} symbols is over the ${DEFAULT_MAX_SYMBOLS} one call may code`)
  // bytes are produced back to front; grow a buffer from its end
  let buf = new Uint8Array(Math.max(16, n + 8))
  let pos = buf.length
  const put = (b: number): void => {
    if (pos === 0) {
      const bigger = new Uint8Array(buf.length * 2)
      bigger.set(buf, buf.length)
      pos = buf.length
      buf = bigger
    }
    buf[--pos] = b
  }
  let x = RANS_L
  for (let i = n - 1; i >= 0; i--) {
    const cdf = tableFor(tables, index, i)
    const s = symbols[i]!
    if (!Number.isInteger(s) || s < 0 || s + 1 >= cdf.length) {
      throw new RangeError(`symbol ${i} is ${s}, outside its table's alphabet of ${cdf.length - 1}`)
    }
    const start = cdf[s]!
    const freq = cdf[s + 1]! - start
    const xMax = ((RANS_L >>> PROB_BITS) << 8) * freq
    while (x >= xMax) {
      put(x & 0xff)
      x = Math.floor(x / 256)
    }
    x = Math.floor(x / freq) * PROB_SCALE + (x % freq) + start
  }
  for (let k = 0; k < 4; k++) {
    put(x & 0xff)
    x = Math.floor(x / 256)
  }
  return buf.slice(pos)
}

/** Options of `ransDecode()`. */
export interface RansDecodeOptions {
  /** Refuse to decode more symbols than this. @default 2^24 */
  maxSymbols?: number
}

/**
 * Decodes `count` symbols from `bytes`. Throws TruncatedStreamError when the bytes end early,
 * CorruptStreamError when the stream fails its end check or has bytes left over,
 * StreamTooLargeError when `count` is over `maxSymbols`. It reads each byte once: it never loops
 * past `count` symbols and never allocates more than `count` entries.
 */
export function ransDecode (bytes: Uint8Array, count: number, index: TableIndex, tables: readonly CdfTable[], options: RansDecodeOptions = {}): Uint32Array {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`bytes must be a Uint8Array, got ${typeof bytes}`)
  const max = options.maxSymbols ?? DEFAULT_MAX_SYMBOLS
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`count must be a whole number >= 0, got ${count}`)
  if (count > max) throw new StreamTooLargeError(`${count} symbols is over the limit of ${max}`)
  tables.forEach(checkCdf)
  if (bytes.length < 4) throw new TruncatedStreamError(`a stream has at least 4 bytes, got ${bytes.length}`)
  let pos = 0
  let x = 0
  for (let k = 0; k < 4; k++) x = x * 256 + bytes[pos++]!
  const out = new Uint32Array(count)
  for (let i = 0; i < count; i++) {
    const cdf = tableFor(tables, index, i)
    const slot = x % PROB_SCALE
    // binary search for s with cdf[s] <= slot < cdf[s+1]
    let lo = 0
    let hi = cdf.length - 1
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1
      if (cdf[mid]! <= slot) lo = mid
      else hi = mid
    }
    const start = cdf[lo]!
    const freq = cdf[lo + 1]! - start
    out[i] = lo
    x = freq * Math.floor(x / PROB_SCALE) + slot - start
    while (x < RANS_L) {
      if (pos >= bytes.length) throw new TruncatedStreamError(`stream ended after ${bytes.length} bytes, at symbol ${i} of ${count}`)
      x = x * 256 + bytes[pos++]!
    }
  }
  if (x !== RANS_L) throw new CorruptStreamError(`stream fails its end check (state ${x}, expected ${RANS_L}): the bytes were altered or decoded with other tables`)
  if (pos !== bytes.length) throw new CorruptStreamError(`${bytes.length - pos} bytes left after ${count} symbols`)
  return out
}

/**
 * Builds a CDF table from integer counts (offline tooling and tests): every symbol gets at least
 * frequency 1, the rest in proportion to its count, summing to 2^16.
 */
export function cdfFromCounts (counts: ArrayLike<number>): CdfTable {
  const n = counts.length
  if (n < 1 || n > PROB_SCALE) throw new RangeError(`an alphabet has 1 to ${PROB_SCALE} symbols, got ${n}`)
  let total = 0
  for (let i = 0; i < n; i++) {
    const c = counts[i]!
    if (!Number.isInteger(c) || c < 0) throw new RangeError(`counts[${i}] must be a whole number >= 0, got ${c}`)
    total += c
  }
  const spare = PROB_SCALE - n
  const freqs = new Array<number>(n)
  let used = 0
  for (let i = 0; i < n; i++) {
    freqs[i] = 1 + (total === 0 ? 0 : Math.floor((counts[i]! * spare) / total))
    used += freqs[i]!
  }
  // hand the rounding remainder to the most frequent symbol
  let top = 0
  for (let i = 1; i < n; i++) if (freqs[i]! > freqs[top]!) top = i
  freqs[top]! += PROB_SCALE - used
  const cdf = new Uint32Array(n + 1)
  for (let i = 0; i < n; i++) cdf[i + 1] = cdf[i]! + freqs[i]!
  return cdf
}
