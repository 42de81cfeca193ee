/**
 * Token buckets keyed by peer: `capacity` tokens, refilled at `capacity` per minute. Buckets of
 * peers idle past `idleMs` are dropped on the next sweep, so memory follows active peers only.
 */
export class PeerRateLimiter {
  private readonly buckets = new Map<string, { tokens: number, at: number }>()
  private readonly capacity: number
  private readonly perMs: number
  private readonly idleMs: number
  private readonly now: () => number
  private lastSweep: number

  constructor (perMinute: number, idleMs: number, now: () => number) {
    this.capacity = perMinute
    this.perMs = perMinute / 60_000
    this.idleMs = idleMs
    this.now = now
    this.lastSweep = now()
  }

  /** Takes one token for `peer`; false when its bucket is empty. */
  take (peer: string): boolean {
    const now = this.now()
    this.sweep(now)
    const b = this.buckets.get(peer) ?? { tokens: this.capacity, at: now }
    b.tokens = Math.min(this.capacity, b.tokens + (now - b.at) * this.perMs)
    b.at = now
    this.buckets.set(peer, b)
    if (b.tokens < 1) return false
    b.tokens -= 1
    return true
  }

  /** Peers with a bucket now. */
  get size (): number {
    return this.buckets.size
  }

  private sweep (now: number): void {
    if (now - this.lastSweep < this.idleMs) return
    this.lastSweep = now
    for (const [peer, b] of this.buckets) {
      if (now - b.at > this.idleMs) this.buckets.delete(peer)
    }
  }
}
