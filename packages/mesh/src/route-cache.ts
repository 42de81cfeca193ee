import type { PeerId } from '@libp2p/interface'

export interface RouteCacheInit {
  /** How long a route stays fresh; 0 keeps none. */
  ttlMs: number
  /** Most peers kept; the oldest entry goes first. */
  maxEntries: number
  /** The clock, for tests. @default Date.now */
  now?: () => number
}

/**
 * The relay that the last dial to each peer went through, kept for `ttlMs`: the next dial to
 * that peer tries it first, so a working route is not re-ranked away on every call. A failed
 * dial through it forgets it at once; after the TTL the ranking decides again.
 */
export class RouteCache {
  private readonly routes = new Map<string, { relay: PeerId, expires: number }>()
  private readonly ttlMs: number
  private readonly maxEntries: number
  private readonly now: () => number

  constructor (init: RouteCacheInit) {
    if (!Number.isFinite(init.ttlMs) || init.ttlMs < 0) throw new RangeError(`routeCacheTtlMs must be a number of milliseconds >= 0, got ${String(init.ttlMs)}`)
    if (!Number.isInteger(init.maxEntries) || init.maxEntries < 1) throw new RangeError(`route cache size must be a whole number >= 1, got ${String(init.maxEntries)}`)
    this.ttlMs = init.ttlMs
    this.maxEntries = init.maxEntries
    this.now = init.now ?? Date.now
  }

  /** The fresh route to `peer`, if any. */
  get (peer: PeerId): PeerId | undefined {
    const key = peer.toString()
    const route = this.routes.get(key)
    if (route === undefined) return undefined
    if (route.expires <= this.now()) {
      this.routes.delete(key)
      return undefined
    }
    return route.relay
  }

  /** A dial to `peer` through `relay` worked. */
  set (peer: PeerId, relay: PeerId): void {
    if (this.ttlMs === 0) return
    const key = peer.toString()
    this.routes.delete(key)
    if (this.routes.size >= this.maxEntries) this.routes.delete(this.routes.keys().next().value as string)
    this.routes.set(key, { relay, expires: this.now() + this.ttlMs })
  }

  /** A dial to `peer` through `relay` failed: forget the route if it was that one. */
  failed (peer: PeerId, relay: PeerId): void {
    const key = peer.toString()
    if (this.routes.get(key)?.relay.equals(relay) === true) this.routes.delete(key)
  }

  /** `relays` in order, the fresh route to `peer` (when among them) moved first. */
  order<T extends { peerId: PeerId }> (peer: PeerId, relays: T[]): T[] {
    const route = this.get(peer)
    if (route === undefined) return relays
    const i = relays.findIndex((r) => r.peerId.equals(route))
    return i <= 0 ? relays : [relays[i]!, ...relays.slice(0, i), ...relays.slice(i + 1)]
  }

  get size (): number { return this.routes.size }

  clear (): void { this.routes.clear() }
}
