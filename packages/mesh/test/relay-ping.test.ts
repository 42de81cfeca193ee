import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { PING_PROTOCOL, ping } from '@libp2p/ping'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { pingRelay } from '../src/relay-ping.js'
import type { Libp2p } from '@libp2p/interface'

describe('pingRelay', () => {
  const nodes: Libp2p[] = []
  afterEach(async () => { await Promise.all(nodes.splice(0).map(async (n) => n.stop())) })

  async function pair (withPing: boolean): Promise<{ relay: Libp2p, peer: Libp2p }> {
    const base = { transports: [webSockets()], connectionEncrypters: [noise()], streamMuxers: [yamux()] }
    const listen = { addresses: { listen: ['/ip4/127.0.0.1/tcp/0/ws'] } }
    const relay: Libp2p = withPing
      ? await createLibp2p({ ...base, ...listen, services: { identify: identify(), ping: ping() } })
      : await createLibp2p({ ...base, ...listen, services: { identify: identify() } })
    const peer = await createLibp2p({ ...base, services: { identify: identify(), ping: ping() } })
    nodes.push(peer, relay)
    await peer.dial(relay.getMultiaddrs()[0]!)
    return { relay, peer }
  }

  it('pingRelay() answers an RTT in ms each time, ten in a row on one connection, and leaves no ping stream open', async () => {
    const { relay, peer } = await pair(true)
    for (let i = 0; i < 10; i++) {
      const rtt = await pingRelay(peer, relay.peerId, { signal: AbortSignal.timeout(5000) })
      expect(rtt).toBeGreaterThanOrEqual(0)
      expect(rtt).toBeLessThan(5000)
    }
    const streams = peer.getConnections(relay.peerId).flatMap((c) => c.streams).filter((s) => s.protocol === PING_PROTOCOL)
    expect(streams).toEqual([])
  })

  it('pingRelay() of a relay without the ping protocol rejects with UnsupportedProtocolError', async () => {
    const { relay, peer } = await pair(false)
    await expect(pingRelay(peer, relay.peerId, { signal: AbortSignal.timeout(5000) })).rejects.toThrow(expect.objectContaining({ name: 'UnsupportedProtocolError' }))
  })

  it('pingRelay() rejects when the relay echoes other bytes, and when it never answers within the signal', async () => {
    const { relay, peer } = await pair(false)
    await relay.handle(PING_PROTOCOL, async (stream) => {
      for await (const chunk of stream) {
        if (chunk.byteLength > 0 && stream.writeStatus === 'writable') stream.send(new Uint8Array(chunk.byteLength).fill(7))
      }
      await stream.close()
    })
    await expect(pingRelay(peer, relay.peerId, { signal: AbortSignal.timeout(5000) })).rejects.toThrow(/other bytes/)
    await relay.unhandle(PING_PROTOCOL)
    await relay.handle(PING_PROTOCOL, async () => {}) // reads nothing, answers nothing
    const t0 = Date.now()
    await expect(pingRelay(peer, relay.peerId, { signal: AbortSignal.timeout(200) })).rejects.toThrow()
    expect(Date.now() - t0).toBeLessThan(2000)
  })
})
