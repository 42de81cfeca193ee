// The fuzz benchmark's input generator: a seeded PRNG and protobuf-aware mutators.
// Input `index` of target `name` under `--seed S` depends on (S, name, index) alone, so any one
// input is made again without the ones before it (`--replay`).

/** A 32-bit FNV-1a hash of a string, to mix a target's name into its seed. */
function fnv1a (text) {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h
}

/** sfc32: a small, fast PRNG with a 128-bit state; `next()` gives a uint32. */
export class Rng {
  constructor (a, b, c, d) {
    this.a = a >>> 0; this.b = b >>> 0; this.c = c >>> 0; this.d = d >>> 0
    for (let i = 0; i < 12; i++) this.next()
  }

  /** The generator for input `index` of target `name` under `seed`. */
  static forInput (seed, name, index) {
    return new Rng(seed, fnv1a(name), index, Math.floor(index / 2 ** 32) ^ 0x9e3779b9)
  }

  next () {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0
    this.d = (this.d + 1) >>> 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) >>> 0
    this.c = (this.c << 21) | (this.c >>> 11)
    this.c = (this.c + t) >>> 0
    return t
  }

  /** An integer in [0, n). */
  int (n) { return n <= 1 ? 0 : this.next() % n }
  pick (list) { return list[this.int(list.length)] }
  chance (p) { return this.next() / 2 ** 32 < p }
  bytes (n) {
    const out = new Uint8Array(n)
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff
    return out
  }
}

export function concat (...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.length }
  return out
}

/** The unsigned varint encoding of `n` (any non-negative number up to 2^64, as a double). */
export function varint (n) {
  const out = []
  let v = n
  do {
    let b = v % 128
    v = Math.floor(v / 128)
    if (v > 0) b |= 0x80
    out.push(b)
  } while (v > 0)
  return Uint8Array.from(out)
}

/** Reads a varint at `at`; undefined when it runs past the end or past 10 bytes. */
function readVarint (b, at) {
  let v = 0
  for (let i = 0; i < 10; i++) {
    const x = b[at + i]
    if (x === undefined) return undefined
    v += (x & 0x7f) * 2 ** (7 * i)
    if ((x & 0x80) === 0) return { value: v, end: at + i + 1 }
  }
  return undefined
}

/**
 * The top-level fields of a protobuf encoding, as far as they parse: for each its tag span and,
 * for length-delimited ones, its length varint and data span. Stops at the first bad field.
 */
export function fields (b) {
  const out = []
  let at = 0
  while (at < b.length) {
    const tag = readVarint(b, at)
    if (tag === undefined) break
    const wt = tag.value % 8
    const f = { start: at, tagEnd: tag.end, wt }
    if (wt === 0) {
      const v = readVarint(b, tag.end)
      if (v === undefined) break
      f.valueStart = tag.end; f.end = v.end
    } else if (wt === 2) {
      const len = readVarint(b, tag.end)
      if (len === undefined || len.end + len.value > b.length) break
      f.lenStart = tag.end; f.dataStart = len.end; f.end = len.end + len.value
    } else if (wt === 1 || wt === 5) {
      f.end = tag.end + (wt === 1 ? 8 : 4)
      if (f.end > b.length) break
    } else {
      break
    }
    out.push(f)
    at = f.end
  }
  return out
}

/** Values a length or varint field is lied about with: off by one, zero, past the end, huge, overflowing. */
const LIES = [0, 1, 127, 128, 255, 16383, 16384, 65535, 2 ** 20, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53, 2 ** 63, 2 ** 64 - 1]
const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe, 0x08, 0x10, 0x12, 0x1a, 0x22]

/** An 11-byte varint: one byte past the 10 a uint64 may take. */
const OVERFLOW = Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])
/** 0 encoded in 10 bytes (overlong, but within the limit). */
const OVERLONG_ZERO = Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00])

/** One mutation of `b` (a new array); `others` are seeds to splice with; `depth` limits recursion into submessages. */
function mutateOnce (rng, b, others, depth) {
  const n = b.length
  const op = rng.int(15)
  switch (op) {
    case 0: { // flip 1 to 8 bits
      const out = new Uint8Array(b) // a copy (Buffer's slice() is a view)
      if (n === 0) return rng.bytes(1)
      for (let k = 1 + rng.int(8); k > 0; k--) out[rng.int(n)] ^= 1 << rng.int(8)
      return out
    }
    case 1: { // set bytes to interesting values
      const out = new Uint8Array(b)
      if (n === 0) return Uint8Array.of(rng.pick(INTERESTING))
      for (let k = 1 + rng.int(4); k > 0; k--) out[rng.int(n)] = rng.chance(0.5) ? rng.pick(INTERESTING) : rng.next() & 0xff
      return out
    }
    case 2: { // insert 1 to 16 random bytes
      const at = rng.int(n + 1)
      return concat(b.subarray(0, at), rng.bytes(1 + rng.int(16)), b.subarray(at))
    }
    case 3: { // delete a range
      if (n === 0) return b
      const at = rng.int(n)
      const len = 1 + rng.int(Math.min(16, n - at))
      return concat(b.subarray(0, at), b.subarray(at + len))
    }
    case 4: // truncate
      return b.subarray(0, rng.int(n + 1))
    case 5: { // duplicate a range (repeated bytes, repeated fields)
      if (n === 0) return b
      const at = rng.int(n)
      const len = 1 + rng.int(n - at)
      const times = rng.chance(0.1) ? 1 + rng.int(200) : 1 + rng.int(3)
      const chunk = b.subarray(at, at + len)
      return concat(b.subarray(0, at + len), ...new Array(times).fill(chunk), b.subarray(at + len))
    }
    case 6: { // splice with another seed
      const o = rng.pick(others) ?? b
      const cut = rng.int(n + 1)
      return concat(b.subarray(0, cut), o.subarray(rng.int(o.length + 1)))
    }
    case 7: case 8: { // lie in a length field (or a varint value)
      const fs = fields(b).filter((f) => f.wt === 2 || f.wt === 0)
      if (fs.length === 0) return mutateOnce(rng, b, others, depth)
      const f = rng.pick(fs)
      const start = f.wt === 2 ? f.lenStart : f.valueStart
      const end = f.wt === 2 ? f.dataStart : f.end
      const old = readVarint(b, start).value
      const lie = rng.chance(0.5) ? rng.pick(LIES) : Math.max(0, old + rng.int(9) - 4)
      return concat(b.subarray(0, start), varint(lie), b.subarray(end))
    }
    case 9: { // varint overflow or an overlong varint in place of one
      const fs = fields(b)
      const f = fs.length > 0 ? rng.pick(fs) : undefined
      const junk = rng.chance(0.5) ? OVERFLOW : OVERLONG_ZERO
      if (f === undefined) return concat(junk, b)
      const at = rng.chance(0.5) ? f.start : (f.lenStart ?? f.valueStart ?? f.tagEnd)
      const end = rng.chance(0.5) ? at : readVarint(b, at)?.end ?? at
      return concat(b.subarray(0, at), junk, b.subarray(end))
    }
    case 10: { // repeat one whole field many times (repeated / last-one-wins fields)
      const fs = fields(b)
      if (fs.length === 0) return mutateOnce(rng, b, others, depth)
      const f = rng.pick(fs)
      const field = b.subarray(f.start, f.end)
      const times = rng.chance(0.2) ? 50 + rng.int(500) : 2 + rng.int(8)
      return concat(b.subarray(0, f.end), ...new Array(times).fill(field), b.subarray(f.end))
    }
    case 11: { // change a tag: its wire type (groups 3/4, invalid 6/7) or its field number
      const fs = fields(b)
      if (fs.length === 0) return mutateOnce(rng, b, others, depth)
      const f = rng.pick(fs)
      const tag = readVarint(b, f.start).value
      const fieldNo = rng.chance(0.5) ? Math.floor(tag / 8) : rng.pick([0, 1, 2, 15, 16, 2047, 2 ** 29 - 1, 2 ** 29])
      const wt = rng.chance(0.5) ? rng.int(8) : tag % 8
      return concat(b.subarray(0, f.start), varint(fieldNo * 8 + wt), b.subarray(f.tagEnd))
    }
    case 12: { // mutate inside a submessage or string and fix its length (the outer layer stays valid)
      const fs = fields(b).filter((f) => f.wt === 2)
      if (fs.length === 0 || depth > 3) return mutateOnce(rng, b, others, depth)
      const f = rng.pick(fs)
      const inner = mutate(rng, b.subarray(f.dataStart, f.end), others, depth + 1)
      return concat(b.subarray(0, f.lenStart), varint(inner.length), inner, b.subarray(f.end))
    }
    case 13: { // a huge length prefix in front of little data
      return concat(varint(rng.pick(LIES)), b.subarray(0, rng.int(n + 1)))
    }
    default: // random bytes, up to twice the seed's size (at least 64)
      return rng.bytes(rng.int(Math.max(64, 2 * n) + 1))
  }
}

/** 1 to 4 stacked mutations of `b`. */
export function mutate (rng, b, others = [], depth = 0) {
  let out = b
  for (let k = 1 + (rng.chance(0.6) ? 0 : rng.int(4)); k > 0; k--) out = mutateOnce(rng, out, others, depth)
  return out
}

/** Input `index`: now and then a seed as it is, else a mutation of one. */
export function generate (rng, seeds) {
  const seed = rng.pick(seeds)
  return rng.chance(0.02) ? seed : mutate(rng, seed, seeds)
}

export const hex = (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
