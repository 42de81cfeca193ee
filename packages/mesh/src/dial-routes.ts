import { parseRelayAddr } from './relay-keeper.js'
import type { Connection, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

// Which relays a direct dial goes through, and which relay a connection runs through.

/**
 * Where a direct dial to a peer is signalled through, in order: our connected relays (`mine`,
 * already ranked, the route cache's first) that its record names, then relays its record names
 * that we are not attached to (in the record's order; the dialler connects to one when it tries
 * it), then our other connected relays (the record may be stale). Without record relays: `mine`.
 * Record addresses that do not parse, or name `self`, are no routes.
 */
export function dialRoutes<T extends { peerId: PeerId, addr: Multiaddr }> (mine: T[], theirRelays: readonly string[], self: PeerId): Array<T | { peerId: PeerId, addr: Multiaddr }> {
  if (theirRelays.length === 0) return mine
  const theirs: Array<{ peerId: PeerId, addr: Multiaddr }> = []
  for (const [i, a] of theirRelays.entries()) {
    try {
      const r = parseRelayAddr(a, i)
      if (!r.peerId.equals(self) && !theirs.some((t) => t.peerId.equals(r.peerId))) theirs.push(r)
    } catch {
      // a self-declared address that does not parse: not a route
    }
  }
  const named = (r: { peerId: PeerId }): boolean => theirs.some((t) => t.peerId.equals(r.peerId))
  const ours = (r: { peerId: PeerId }): boolean => mine.some((m) => m.peerId.equals(r.peerId))
  return [...mine.filter(named), ...theirs.filter((t) => !ours(t)), ...mine.filter((m) => !named(m))]
}

/** The relay a relayed connection runs through: the PeerId before /p2p-circuit in its remote address. */
export function circuitRelayOf (connection: Connection): string | undefined {
  const parts = connection.remoteAddr.toString().split('/p2p-circuit')
  if (parts.length < 2) return undefined
  return /\/p2p\/([^/]+)$/.exec(parts[0]!)?.[1]
}

/** Whether two lists hold the same strings, in any order. */
export function sameSet (a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x))
}
