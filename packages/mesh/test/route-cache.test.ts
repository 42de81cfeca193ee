import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { RouteCache } from '../src/route-cache.js'
import type { PeerId } from '@libp2p/interface'

async function ids (n: number): Promise<PeerId[]> {
  return Promise.all(Array.from({ length: n }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))))
}

describe('RouteCache', () => {
  it('puts the route that worked first, until its TTL passes', async () => {
    const [peer, r1, r2, r3] = await ids(4) as [PeerId, PeerId, PeerId, PeerId]
    let now = 1_000
    const cache = new RouteCache({ ttlMs: 300_000, maxEntries: 10, now: () => now })
    const ranked = [{ peerId: r1 }, { peerId: r2 }, { peerId: r3 }]
    expect(cache.order(peer, ranked)).toBe(ranked)
    cache.set(peer, r3)
    expect(cache.order(peer, ranked).map((r) => r.peerId)).toEqual([r3, r1, r2])
    now += 299_999
    expect(cache.get(peer)?.equals(r3)).toBe(true)
    now += 1
    expect(cache.get(peer)).toBeUndefined()
    expect(cache.order(peer, ranked).map((r) => r.peerId)).toEqual([r1, r2, r3])
    expect(cache.size).toBe(0)
  })

  it('forgets a route when a dial through it fails, not when another relay fails', async () => {
    const [peer, r1, r2] = await ids(3) as [PeerId, PeerId, PeerId]
    const cache = new RouteCache({ ttlMs: 60_000, maxEntries: 10 })
    cache.set(peer, r2)
    cache.failed(peer, r1)
    expect(cache.get(peer)?.equals(r2)).toBe(true)
    cache.failed(peer, r2)
    expect(cache.get(peer)).toBeUndefined()
  })

  it('leaves the order alone when the cached relay is not connected', async () => {
    const [peer, r1, r2, gone] = await ids(4) as [PeerId, PeerId, PeerId, PeerId]
    const cache = new RouteCache({ ttlMs: 60_000, maxEntries: 10 })
    cache.set(peer, gone)
    expect(cache.order(peer, [{ peerId: r1 }, { peerId: r2 }]).map((r) => r.peerId)).toEqual([r1, r2])
  })

  it('keeps at most maxEntries peers, dropping the oldest; ttl 0 keeps none', async () => {
    const [a, b, c, relay] = await ids(4) as [PeerId, PeerId, PeerId, PeerId]
    const cache = new RouteCache({ ttlMs: 60_000, maxEntries: 2 })
    cache.set(a, relay)
    cache.set(b, relay)
    cache.set(c, relay)
    expect(cache.size).toBe(2)
    expect(cache.get(a)).toBeUndefined()
    expect(cache.get(c)?.equals(relay)).toBe(true)
    const off = new RouteCache({ ttlMs: 0, maxEntries: 2 })
    off.set(a, relay)
    expect(off.get(a)).toBeUndefined()
  })

  it('refuses a bad TTL or size, naming it', () => {
    expect(() => new RouteCache({ ttlMs: -1, maxEntries: 1 })).toThrow(/routeCacheTtlMs must be .* got -1/)
    expect(() => new RouteCache({ ttlMs: Number.NaN, maxEntries: 1 })).toThrow(/routeCacheTtlMs/)
    expect(() => new RouteCache({ ttlMs: 1, maxEntries: 0 })).toThrow(/size must be a whole number >= 1, got 0/)
  })
})
