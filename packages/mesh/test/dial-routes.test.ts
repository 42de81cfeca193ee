import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { dialRoutes, sameSet } from '../src/dial-routes.js'
import type { PeerId } from '@libp2p/interface'

async function relay (port: number): Promise<{ peerId: PeerId, addr: ReturnType<typeof multiaddr> }> {
  const peerId = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  return { peerId, addr: multiaddr(`/ip4/127.0.0.1/tcp/${port}/ws/p2p/${peerId.toString()}`) }
}

describe('dialRoutes', () => {
  it('shared relays first (in our ranking), then theirs we lack (record order), then our others; none named: ours as ranked', async () => {
    const [a, b, c, d] = await Promise.all([1, 2, 3, 4].map(relay))
    const self = (await relay(9)).peerId
    const mine = [a!, b!, c!]
    const routes = dialRoutes(mine, [d!.addr.toString(), b!.addr.toString()], self)
    expect(routes.map((r) => r.peerId.toString())).toEqual([b!, d!, a!, c!].map((r) => r.peerId.toString()))
    expect(dialRoutes(mine, [], self)).toBe(mine)
  })

  it('skips record addresses that do not parse, repeat, or name the dialler itself', async () => {
    const [a, d] = await Promise.all([1, 4].map(relay))
    const self = await relay(9)
    const routes = dialRoutes([a!], ['/not a multiaddr', d!.addr.toString(), d!.addr.toString(), self.addr.toString(), '/ip4/1.2.3.4/tcp/1/ws'], self.peerId)
    expect(routes.map((r) => r.peerId.toString())).toEqual([d!, a!].map((r) => r.peerId.toString()))
  })

  it('sameSet compares as sets', () => {
    expect(sameSet(['x', 'y'], ['y', 'x'])).toBe(true)
    expect(sameSet(['x'], ['x', 'y'])).toBe(false)
    expect(sameSet([], [])).toBe(true)
  })
})
