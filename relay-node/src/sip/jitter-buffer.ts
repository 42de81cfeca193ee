/**
 * A jitter buffer for the SIP gateway's bridge: RTP packets go in as they arrive (late, early,
 * twice, or never), and come out one per 20 ms tick in sequence order, after a fixed delay of
 * `depth` packets. A tick whose packet has not come gives null: the caller conceals it (the Opus
 * encoder's side, or silence for G.711). Sequence numbers are 16-bit and wrap.
 *
 * Bounded: at most `max` packets wait; past that the oldest go (counted as overflow). A packet
 * for a tick already played is dropped (late), as is one already held (duplicate). When nothing
 * could be played for `max` ticks in a row (the far end went quiet, or its sequence jumped), the
 * buffer starts over from what it holds and waits for `depth` packets again.
 */
export interface JitterBufferInit {
  /** Packets held before playout starts (the delay it adds, in 20 ms ticks). @default 3 */
  depth?: number
  /** Most packets held at once; also the run of empty ticks after which it starts over. @default 25 */
  max?: number
}

export interface JitterStats {
  pushed: number
  played: number
  /** Ticks whose packet had not come (concealed by the caller). */
  missing: number
  late: number
  duplicate: number
  overflow: number
  /** Times it started over after a long silence. */
  restarts: number
}

/** `a - b` in 16-bit sequence space: positive when `a` is after `b` (within half the space). */
export function seqDiff (a: number, b: number): number {
  const d = (a - b) & 0xffff
  return d >= 0x8000 ? d - 0x10000 : d
}

/** Holds whatever a packet is carried as: its payload bytes, or its decoded samples. */
export class JitterBuffer<T = Uint8Array> {
  private readonly depth: number
  private readonly max: number
  private readonly held = new Map<number, T>()
  /** The sequence number the next tick plays; undefined while priming. */
  private next: number | undefined
  private emptyRun = 0
  readonly stats: JitterStats = { pushed: 0, played: 0, missing: 0, late: 0, duplicate: 0, overflow: 0, restarts: 0 }

  constructor (init: JitterBufferInit = {}) {
    this.depth = init.depth ?? 3
    this.max = init.max ?? 25
    if (!Number.isInteger(this.depth) || this.depth < 1) throw new RangeError(`JitterBuffer: depth must be a whole number >= 1, got ${String(init.depth)}`)
    if (!Number.isInteger(this.max) || this.max < this.depth) throw new RangeError(`JitterBuffer: max must be a whole number >= depth (${this.depth}), got ${String(init.max)}`)
  }

  /** Packets waiting. */
  get size (): number { return this.held.size }

  /** A packet arrived. */
  push (seq: number, payload: T): void {
    seq &= 0xffff
    this.stats.pushed++
    if (this.next !== undefined && seqDiff(seq, this.next) < 0) { this.stats.late++; return }
    if (this.held.has(seq)) { this.stats.duplicate++; return }
    this.held.set(seq, payload)
    if (this.held.size > this.max) {
      // the oldest goes; playout jumps past it
      const oldest = this.oldest()!
      this.held.delete(oldest)
      this.stats.overflow++
      if (this.next !== undefined && seqDiff(oldest, this.next) >= 0) this.next = (oldest + 1) & 0xffff
    }
  }

  /** One 20 ms tick: the packet due now, or null (not come, or still priming). */
  pop (): T | null {
    if (this.next === undefined) {
      if (this.held.size < this.depth) return null
      this.next = this.oldest()!
    }
    const seq = this.next
    this.next = (seq + 1) & 0xffff
    const p = this.held.get(seq)
    if (p !== undefined) {
      this.held.delete(seq)
      this.emptyRun = 0
      this.stats.played++
      return p
    }
    this.stats.missing++
    if (++this.emptyRun >= this.max) {
      // `max` ticks in a row with nothing to play: a long silence, or a sequence that jumped (a
      // far end that restarted it): start over from what is held, priming again
      this.next = undefined
      this.emptyRun = 0
      this.stats.restarts++
    }
    return null
  }

  private oldest (): number | undefined {
    let oldest: number | undefined
    for (const s of this.held.keys()) if (oldest === undefined || seqDiff(s, oldest) < 0) oldest = s
    return oldest
  }
}
