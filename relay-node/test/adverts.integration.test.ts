import { createRelayAdvert } from '@auralink/identity'
import { RELAY_ADVERT_TOPIC } from '@auralink/protocol'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { relayAdverts } from '../src/adverts.js'
import { relayGossipsub } from '../src/relay-gossipsub.js'
import type { AdvertPublish, AdvertRejectReason, RelayAdverts, RelayAdvertsInit, RelayTableChange } from '../src/adverts.js'
import type { RelayGossipsubInit } from '../src/relay-gossipsub.js'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Libp2p, PrivateKey } from '@libp2p/interface'

type Relay = Libp2p<{ identify: ReturnType<ReturnType<typeof identify>>, pubsub: GossipSub, adverts: RelayAdverts }>
type Plain = Libp2p<{ identify: ReturnType<ReturnType<typeof identify>>, pubsub: GossipSub }>

const INTERVAL_MS = 400
const TTL_MS = 2_500
const ids = (adverts: RelayAdverts): string[] => adverts.relays().map((a) => a.peerId.toString()).sort()
/** gossipsub's score of `peer` as `node` sees it (the GossipSub interface does not name getScore). */
const score = (node: Relay, peer: Libp2p): number => (node.services.pubsub as unknown as { getScore(id: string): number }).getScore(peer.peerId.toString())

// Real libp2p nodes in this process (WebSockets on 127.0.0.1, Noise, yamux, identify, gossipsub),
// every wait bounded.
describe('relay adverts over gossipsub between real libp2p nodes', () => {
  const nodes: Libp2p[] = []
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async (n) => n.stop()))
  })

  const base = {
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0/ws'] },
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: () => false }
  }
  const relay = async (init: RelayAdvertsInit = {}, gossip: RelayGossipsubInit = {}): Promise<Relay> => {
    const node = await createLibp2p({
      ...base,
      services: { identify: identify(), pubsub: relayGossipsub(gossip), adverts: relayAdverts({ intervalMs: INTERVAL_MS, ttlMs: TTL_MS, ...init }) }
    })
    nodes.push(node)
    await node.start()
    return node
  }
  /** A node that speaks gossipsub on the advert topic but runs no advert service: it publishes what the test gives it. */
  const plain = async (gossip: RelayGossipsubInit = {}): Promise<Plain & { key: PrivateKey }> => {
    const key = await generateKeyPair('Ed25519')
    const node = await createLibp2p({ ...base, privateKey: key, services: { identify: identify(), pubsub: relayGossipsub(gossip) } })
    nodes.push(node)
    await node.start()
    return Object.assign(node, { key })
  }
  const connect = async (a: Libp2p, b: Libp2p): Promise<void> => {
    await a.dial(b.getMultiaddrs(), { signal: AbortSignal.timeout(5000) })
  }
  /** Resolves once `node` knows that every one of `peers` subscribes to the advert topic. */
  const seesSubscribed = async (node: Libp2p<{ pubsub: GossipSub }>, peers: Libp2p[]): Promise<void> => {
    await expect.poll(() => {
      const subs = new Set(node.services.pubsub.getSubscribers(RELAY_ADVERT_TOPIC).map(String))
      return peers.every((p) => subs.has(p.peerId.toString()))
    }, { timeout: 5000, interval: 50 }).toBe(true)
  }

  it('relays() on each of three connected relays lists the other two within 5 s, with their addresses, load and region', async () => {
    const [a, b, c] = await Promise.all([
      relay({ region: 'eu-west', load: () => 1, capacity: 8 }),
      relay({ region: 'us-east', load: () => 2, capacity: 8, aicSupport: true }),
      relay({ region: 'ap-south', load: () => 3, capacity: 8 })
    ])
    await Promise.all([connect(a, b), connect(b, c), connect(a, c)])
    const all = [a, b, c]
    for (const n of all) {
      const others = all.filter((o) => o !== n).map((o) => o.peerId.toString()).sort()
      await expect.poll(() => ids(n.services.adverts), { timeout: 5000, interval: 50 }).toEqual(others)
    }
    const bAtA = a.services.adverts.relay(b.peerId)
    expect(bAtA).toMatchObject({ region: 'us-east', load: 2, capacity: 8, aicSupport: true })
    expect(bAtA?.addrs.map(String)).toEqual(b.getMultiaddrs().map(String))
    for (const n of all) expect(n.services.adverts.counters().rejected).toEqual({ oversized: 0, malformed: 0, fields: 0, signature: 0, expired: 0, signer: 0 })
  })

  it('a peer that publishes forged, expired, oversized and borrowed adverts has each rejected and counted, none stored or forwarded, and its score goes below 0', async () => {
    // P4 at -1 so four invalid adverts (-16) stay above the graylist (-80) and every one is read
    const gossip = { invalidAdvertWeight: -1 }
    const [a, b, c, mallory] = await Promise.all([relay({}, gossip), relay({}, gossip), relay({}, gossip), plain(gossip)])
    await Promise.all([connect(a, b), connect(b, c), connect(a, c), connect(mallory, a), connect(mallory, b)])
    await expect.poll(() => ids(c.services.adverts), { timeout: 5000, interval: 50 }).toEqual([a, b].map((n) => n.peerId.toString()).sort())
    await seesSubscribed(mallory, [a, b])

    const addr = mallory.getMultiaddrs()
    const valid = await createRelayAdvert(mallory.key, { addrs: addr, capacity: 1, load: 0, version: '0.1.0' })
    const badSignature = Uint8Array.from(valid.bytes)
    badSignature[badSignature.length - 1] = (badSignature.at(-1) ?? 0) ^ 1
    const expired = await createRelayAdvert(mallory.key, { addrs: addr, capacity: 1, load: 0, version: '0.1.0', now: Date.now() - 2 * 60 * 60 * 1000 })
    const borrowed = b.services.adverts.advert?.bytes
    expect(borrowed).toBeDefined()
    const forgeries: Array<[AdvertRejectReason, Uint8Array]> = [
      ['signature', badSignature],
      ['expired', expired.bytes],
      ['oversized', new Uint8Array(5000).fill(7)],
      ['signer', borrowed ?? new Uint8Array()]
    ]
    for (const [reason, bytes] of forgeries) {
      await mallory.services.pubsub.publish(RELAY_ADVERT_TOPIC, bytes)
      for (const n of [a, b]) {
        await expect.poll(() => n.services.adverts.counters().rejected[reason], { timeout: 5000, interval: 25 }).toBe(1)
      }
    }
    for (const n of [a, b]) {
      const c = n.services.adverts.counters()
      expect(c.rejected).toEqual({ oversized: 1, malformed: 0, fields: 0, signature: 1, expired: 1, signer: 1 })
      expect(ids(n.services.adverts)).not.toContain(mallory.peerId.toString())
      await expect.poll(() => score(n, mallory), { timeout: 3000, interval: 100 }).toBeLessThan(0)
    }
    // b's entry at a is still b's own advert, not the copy mallory sent as its own
    expect(a.services.adverts.relay(b.peerId)?.peerId.equals(b.peerId)).toBe(true)
    // rejected means not forwarded: c, which mallory is not connected to, saw none of it
    expect(c.services.adverts.counters().rejected).toEqual({ oversized: 0, malformed: 0, fields: 0, signature: 0, expired: 0, signer: 0 })
    expect(ids(c.services.adverts)).not.toContain(mallory.peerId.toString())
    // and the honest relays' scores of each other stay at or above 0
    expect(score(a, b)).toBeGreaterThanOrEqual(0)
  })

  it('with the default weights three invalid adverts graylist their sender: its next, valid advert is dropped unread', async () => {
    const [a, mallory] = await Promise.all([relay(), plain()])
    await connect(mallory, a)
    await seesSubscribed(mallory, [a])
    const pubsub = mallory.services.pubsub
    for (let i = 1; i <= 3; i++) {
      await pubsub.publish(RELAY_ADVERT_TOPIC, new Uint8Array([0xff, i]))
      await expect.poll(() => a.services.adverts.counters().rejected.malformed, { timeout: 5000, interval: 25 }).toBe(i)
    }
    await expect.poll(() => score(a, mallory), { timeout: 3000, interval: 100 }).toBeLessThan(-80)
    const valid = await createRelayAdvert(mallory.key, { addrs: mallory.getMultiaddrs(), capacity: 1, load: 0, version: '0.1.0' })
    await pubsub.publish(RELAY_ADVERT_TOPIC, valid.bytes)
    await new Promise((resolve) => setTimeout(resolve, 1000))
    expect(a.services.adverts.relays()).toEqual([])
    expect(a.services.adverts.counters().accepted).toBe(0)
  })

  it('a relay that goes away leaves the others\' tables when its advert expires, with an "expired" event; stop() ends the publishing', async () => {
    const [a, b, c] = await Promise.all([relay(), relay(), relay()])
    await Promise.all([connect(a, b), connect(b, c), connect(a, c)])
    await expect.poll(() => ids(a.services.adverts).length, { timeout: 5000, interval: 50 }).toBe(2)
    await expect.poll(() => ids(b.services.adverts).length, { timeout: 5000, interval: 50 }).toBe(2)
    const expiredAt = (n: Relay): Promise<RelayTableChange> => new Promise((resolve) => {
      n.services.adverts.addEventListener('relay', ({ detail }) => { if (detail.change === 'expired') resolve(detail) })
    })
    const seen = [expiredAt(a), expiredAt(b)]
    const published: AdvertPublish[] = []
    c.services.adverts.addEventListener('publish', ({ detail }) => published.push(detail))
    const stoppedAt = Date.now()
    await c.stop()
    expect(c.services.adverts.isStarted()).toBe(false)
    const changes = await Promise.race([Promise.all(seen), new Promise<never>((_resolve, reject) => setTimeout(() => { reject(new Error('no expiry within TTL + 3 s')) }, TTL_MS + 3000))])
    for (const change of changes) expect(change.advert.peerId.equals(c.peerId)).toBe(true)
    expect(Date.now() - stoppedAt).toBeLessThan(TTL_MS + 3000)
    expect(ids(a.services.adverts)).toEqual([b.peerId.toString()])
    expect(ids(b.services.adverts)).toEqual([a.peerId.toString()])
    // c published nothing once stopped (several intervals have passed)
    expect(published).toEqual([])
    await expect(c.services.adverts.publish()).rejects.toMatchObject({ name: 'InvalidStateError' })
  })
})
