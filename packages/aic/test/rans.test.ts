import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { cdfFromCounts, checkCdf, PROB_SCALE, ransDecode, ransEncode } from '../src/index.js'
import type { CdfTable } from '../src/index.js'

const TYPED = ['TruncatedStreamError', 'CorruptStreamError', 'StreamTooLargeError']

/** Random tables (1 to 300 symbols, skewed counts) and symbols drawn from them. */
const case_ = fc.array(fc.array(fc.nat(1000), { minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: 4 }).chain((countSets) => {
  const tables = countSets.map(cdfFromCounts)
  return fc.array(fc.nat(tables.length - 1).chain((t) => fc.tuple(fc.constant(t), fc.nat(tables[t]!.length - 2))), { maxLength: 2000 })
    .map((pairs) => ({ tables, index: pairs.map((p) => p[0]), symbols: pairs.map((p) => p[1]) }))
})

function nameOf (fn: () => unknown): string {
  try {
    fn()
    return 'no error'
  } catch (err) {
    return (err as Error).name
  }
}

describe('rANS coder', () => {
  it('ransDecode(ransEncode(x)) == x for random tables and symbols (property)', () => {
    fc.assert(fc.property(case_, ({ tables, index, symbols }) => {
      const bytes = ransEncode(symbols, index, tables)
      expect(Array.from(ransDecode(bytes, symbols.length, index, tables))).toEqual(symbols)
    }), { numRuns: 300 })
  })

  it('codes skewed data in fewer bytes than symbols, near the entropy', () => {
    const table = cdfFromCounts([900, 90, 9, 1])
    const symbols: number[] = []
    for (let i = 0; i < 10_000; i++) symbols.push(i % 100 === 0 ? 2 : i % 10 === 0 ? 1 : 0)
    const bytes = ransEncode(symbols, 0, [table])
    // entropy of this sequence (p0=0.9, p1=0.09, p2=0.01) is about 0.52 bits per symbol: ~650 bytes
    expect(bytes.length).toBeLessThan(800)
    expect(Array.from(ransDecode(bytes, symbols.length, 0, [table]))).toEqual(symbols)
  })

  it('ransDecode() refuses every truncation with TruncatedStreamError or CorruptStreamError (property)', () => {
    fc.assert(fc.property(case_.filter((c) => c.symbols.length > 0), fc.nat(), ({ tables, index, symbols }, cut) => {
      const bytes = ransEncode(symbols, index, tables)
      if (bytes.length <= 4) return
      const n = cut % bytes.length
      expect(['TruncatedStreamError', 'CorruptStreamError']).toContain(nameOf(() => ransDecode(bytes.subarray(0, n), symbols.length, index, tables)))
    }), { numRuns: 300 })
  })

  it('ransDecode() of corrupted or random bytes throws only typed errors and never hangs (property)', () => {
    const table = cdfFromCounts([5, 3, 2, 1, 1])
    let detected = 0
    let runs = 0
    fc.assert(fc.property(fc.array(fc.nat(4), { minLength: 1, maxLength: 500 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (symbols, at, flip) => {
      const bytes = ransEncode(symbols, 0, [table])
      const bad = Uint8Array.from(bytes)
      const i = at % bad.length
      bad[i] = (bad[i] ?? 0) ^ flip
      const name = nameOf(() => ransDecode(bad, symbols.length, 0, [table]))
      expect([...TYPED, 'no error']).toContain(name)
      runs++
      if (name !== 'no error') detected++
    }), { numRuns: 500 })
    // the 32-bit end check catches almost every altered stream
    expect(detected / runs).toBeGreaterThan(0.95)
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(5000), (bytes, count) => {
      expect([...TYPED, 'no error']).toContain(nameOf(() => ransDecode(bytes, count, 0, [table])))
    }), { numRuns: 500 })
  })

  it('ransDecode() refuses a count over maxSymbols before allocating anything', () => {
    const table = cdfFromCounts([1, 1])
    expect(nameOf(() => ransDecode(new Uint8Array(8), 2 ** 40, 0, [table]))).toBe('StreamTooLargeError')
    expect(nameOf(() => ransDecode(new Uint8Array(8), 1000, 0, [table], { maxSymbols: 10 }))).toBe('StreamTooLargeError')
    expect(() => ransDecode(new Uint8Array(8), -1, 0, [table])).toThrow(RangeError)
  })

  it('ransEncode() refuses a symbol outside its alphabet and a bad table index, naming the position', () => {
    const table = cdfFromCounts([1, 1, 1])
    expect(() => ransEncode([0, 3], 0, [table])).toThrow(/symbol 1 is 3, outside its table's alphabet of 3/)
    expect(() => ransEncode([0, 1], [0, 5], [table])).toThrow(/symbol 1: table index 5/)
  })

  it('checkCdf() refuses malformed tables with InvalidCdfError naming the fault', () => {
    const bad: Array<[CdfTable, RegExp]> = [
      [new Uint32Array([0]), /at least 2 entries/],
      [new Uint32Array([1, PROB_SCALE]), /cdf\[0\] must be 0/],
      [new Uint32Array([0, 100]), /last entry must be 65536/],
      [new Uint32Array([0, 10, 10, PROB_SCALE]), /symbol 1 has frequency 0/]
    ]
    for (const [cdf, message] of bad) {
      expect(() => { checkCdf(cdf) }).toThrow(message)
      expect(nameOf(() => ransEncode([0], 0, [cdf]))).toBe('InvalidCdfError')
    }
  })

  it('cdfFromCounts() gives every symbol at least frequency 1 and sums to 2^16', () => {
    fc.assert(fc.property(fc.array(fc.nat(1_000_000), { minLength: 1, maxLength: 1000 }), (counts) => {
      const cdf = cdfFromCounts(counts)
      checkCdf(cdf)
      expect(cdf.length).toBe(counts.length + 1)
    }), { numRuns: 200 })
  })
})
