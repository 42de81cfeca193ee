import { createRelayAdvert } from '@auralink/identity'
import { encodeSignedRelayAdvert, MAX_RELAY_ADVERT_BYTES, RELAY_LIST_PROTOCOL, decodeSignedRelayAdvert } from '@auralink/protocol'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { noise } from '@libp2p/noise'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { fetchRelayList } from '../src/relay-list-client.js'
import type { Libp2p, PrivateKey } from '@libp2p/interface'

// Two libp2p nodes in this process on 127.0.0.1 (WebSockets, Noise, yamux): one plays a relay
// serving /auralink/relays/1.0.0 with whatever adverts the test gives it, the other fetches.
describe('fetchRelayList', () => {
  const nodes: Libp2p[] = []
  afterEach(async () => { await Promise.all(nodes.splice(0).map(async (n) => n.stop())) })

  async function node (privateKey?: PrivateKey): Promise<Libp2p> {
    const n = await createLibp2p({
      ...(privateKey !== undefined ? { privateKey } : {}),
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0/ws'] },
      transports: [webSockets()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()]
    })
    nodes.push(n)
    return n
  }

  async function advertOf (key: PrivateKey, port: number, init: { now?: number, ttlMs?: number, aicSupport?: boolean } = {}): Promise<Uint8Array> {
    const id = peerIdFromPrivateKey(key).toString()
    return (await createRelayAdvert(key, { addrs: [`/ip4/127.0.0.1/tcp/${port}/ws/p2p/${id}`], capacity: 128, load: 1, version: '0.1.0', ...init })).bytes
  }

  it('keeps the relay\'s own advert and verified others; forged and oversized ones are counted invalid, expired ones apart', async () => {
    const relayKey = await generateKeyPair('Ed25519')
    const relay = await node(relayKey)
    const other = await generateKeyPair('Ed25519')
    const thief = await generateKeyPair('Ed25519')
    const good = await advertOf(other, 4011)
    const ownAdvert = await advertOf(relayKey, 4001, { aicSupport: true })
    // another relay's payload with the thief's signature
    const forged = encodeSignedRelayAdvert({ payload: decodeSignedRelayAdvert(good).payload, signature: await thief.sign(new Uint8Array(64)) })
    const expired = await advertOf(thief, 4021, { now: Date.now() - 20 * 60 * 1000 })
    const list = [ownAdvert, good, forged, new Uint8Array(MAX_RELAY_ADVERT_BYTES), expired]
    await relay.handle(RELAY_LIST_PROTOCOL, async (stream) => {
      const lp = lpStream(stream, { maxDataLength: MAX_RELAY_ADVERT_BYTES + 16 })
      for (const bytes of list) await lp.write(bytes)
      await stream.close()
    })
    const peer = await node()
    await peer.dial(relay.getMultiaddrs()[0]!)
    const got = await fetchRelayList(peer, relay.peerId)
    expect(got.own?.peerId.equals(relay.peerId)).toBe(true)
    expect(got.own?.aicSupport).toBe(true)
    expect(got.others.map((a) => a.peerId.toString())).toEqual([peerIdFromPrivateKey(other).toString()])
    expect(got.invalid.map((e) => e.name)).toEqual(['InvalidRelayAdvertError', 'InvalidRelayAdvertError'])
    expect(got.expired).toBe(1)
  })

  it('an empty list is no error, and a relay without the protocol rejects', async () => {
    const relay = await node()
    await relay.handle(RELAY_LIST_PROTOCOL, async (stream) => { await stream.close() })
    const peer = await node()
    await peer.dial(relay.getMultiaddrs()[0]!)
    expect(await fetchRelayList(peer, relay.peerId)).toEqual({ others: [], invalid: [], expired: 0 })
    const bare = await node()
    await peer.dial(bare.getMultiaddrs()[0]!)
    await expect(fetchRelayList(peer, bare.peerId)).rejects.toThrow()
  })
})
