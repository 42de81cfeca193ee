import { generateKeyPair } from '@libp2p/crypto/keys'
import { circuitRelayServer } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { createMeshNode, memoryScoreStore } from '../src/index.js'
import { describeDialError, parseRelayAddress } from '../src/relay-address.js'
import type { MeshNode } from '../src/index.js'
import type { Libp2p } from '@libp2p/interface'

/** A stock js-libp2p relay on 127.0.0.1:`port` (0: any free port). */
async function stockRelay (port = 0): Promise<{ relay: Libp2p, addr: string, port: number }> {
  const relay = await createLibp2p({
    addresses: { listen: [`/ip4/127.0.0.1/tcp/${port}/ws`] },
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), relay: circuitRelayServer() }
  })
  const addr = relay.getMultiaddrs()[0]!.toString()
  return { relay, addr, port: Number(/\/tcp\/(\d+)\//.exec(addr)![1]) }
}

async function otherPeerId (): Promise<string> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
}

describe('parseRelayAddress', () => {
  it('parseRelayAddress("ws://host:port") and ("wss://host[:port]") give WebSocket multiaddrs without a peer id', () => {
    expect(parseRelayAddress('ws://127.0.0.1:4001', 0).addr.toString()).toBe('/ip4/127.0.0.1/tcp/4001/ws')
    expect(parseRelayAddress('ws://127.0.0.1:4001/', 0).addr.toString()).toBe('/ip4/127.0.0.1/tcp/4001/ws')
    expect(parseRelayAddress('wss://relay.example.org', 0).addr.toString()).toBe('/dns/relay.example.org/tcp/443/tls/ws')
    expect(parseRelayAddress('wss://relay.example.org:8443', 0).addr.toString()).toBe('/dns/relay.example.org/tcp/8443/tls/ws')
    expect(parseRelayAddress('ws://[::1]:4001', 0).addr.toString()).toBe('/ip6/::1/tcp/4001/ws')
    expect(parseRelayAddress('ws://relay.lan', 0).addr.toString()).toBe('/dns/relay.lan/tcp/80/ws')
    expect(parseRelayAddress('ws://127.0.0.1:4001', 0).peerId).toBeUndefined()
  })

  it('parseRelayAddress(multiaddr) keeps its /p2p/ id when there is one, and takes it without one', async () => {
    const id = await otherPeerId()
    expect(parseRelayAddress(`/ip4/127.0.0.1/tcp/4001/ws/p2p/${id}`, 0).peerId?.toString()).toBe(id)
    expect(parseRelayAddress('/ip4/127.0.0.1/tcp/4001/ws', 0).peerId).toBeUndefined()
  })

  it('parseRelayAddress refuses a URL with a path, a query or a user, and anything that is not an address, naming the entry', () => {
    expect(() => parseRelayAddress('ws://127.0.0.1:4001/relay', 2)).toThrow(/relays\[2\]: a relay URL is ws:\/\/host:port or wss:\/\/host\[:port\], with no path/)
    expect(() => parseRelayAddress('wss://u:p@relay.example.org', 0)).toThrow(TypeError)
    expect(() => parseRelayAddress('ws://', 1)).toThrow(/relays\[1\] is not a valid URL/)
    expect(() => parseRelayAddress('http://relay', 0)).toThrow(/relays\[0\] is neither a multiaddr nor a ws:\/\/ or wss:\/\/ URL/)
    expect(() => parseRelayAddress('/ip4/127.0.0.1/tcp/1/ws/p2p/nope', 3)).toThrow(/relays\[3\]/)
  })

  it('describeDialError() of a WebSocket ErrorEvent says the connection failed, not [object ErrorEvent]', () => {
    const event = { type: 'error', message: '' }
    expect(describeDialError(event)).toMatch(/WebSocket connection failed \(connection refused/)
    expect(describeDialError(new AggregateError([event, event], ''))).toMatch(/^the WebSocket connection failed/)
  })
})

describe('relay addresses and failures of createMeshNode', () => {
  const nodes: MeshNode[] = []
  const relays: Libp2p[] = []
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async (n) => n.stop()))
    await Promise.all(relays.splice(0).map(async (r) => r.stop()))
  })

  it('createMeshNode({ relays: ["ws://127.0.0.1:<port>"] }) learns the relay\'s peer id and reserves on it', async () => {
    const { relay, port } = await stockRelay()
    relays.push(relay)
    const node = await createMeshNode({ relays: [`ws://127.0.0.1:${port}`] })
    nodes.push(node)
    expect(node.relays()[0]?.peerId.equals(relay.peerId)).toBe(true)
    expect(node.relays()[0]?.addr.toString()).toBe(`/ip4/127.0.0.1/tcp/${port}/ws/p2p/${relay.peerId.toString()}`)
    await node.start()
    await node.waitForReservation({ signal: AbortSignal.timeout(10_000) })
    expect(node.relays()[0]?.state).toBe('reserved')
  })

  it('createMeshNode({ relays: ["ws://127.0.0.1:1"] }) (nothing listening) rejects with RelayUnreachableError naming the address and the reason', async () => {
    const err = await createMeshNode({ relays: ['ws://127.0.0.1:1'] }).catch((e: Error) => e)
    expect(err).toMatchObject({ name: 'RelayUnreachableError' })
    expect((err as Error).message).toContain('/ip4/127.0.0.1/tcp/1/ws')
    expect((err as Error).message).toContain('WebSocket connection failed')
    expect((err as Error).message).not.toContain('[object')
  })

  // the wait is bounded by 60 s, beyond the test's 20 s: it passes only when the failure comes at once
  it('waitForReservation() with a refused relay rejects at once with RelayUnreachableError naming the address, no [object ErrorEvent]', async () => {
    const dead = `/ip4/127.0.0.1/tcp/1/ws/p2p/${await otherPeerId()}`
    const node = await createMeshNode({ relays: [dead] })
    nodes.push(node)
    await node.start()
    const err = await node.waitForReservation({ signal: AbortSignal.timeout(60_000) }).catch((e: Error) => e)
    expect(err).toMatchObject({ name: 'RelayUnreachableError' })
    expect((err as Error).message).toContain(dead)
    expect((err as Error).message).toContain('WebSocket connection failed')
    expect((err as Error).message).not.toContain('[object')
  })

  it('waitForReservation() with a wrong relay peer id rejects at once naming the address, the expected and the actual id', async () => {
    const { relay, port } = await stockRelay()
    relays.push(relay)
    const expected = await otherPeerId()
    const node = await createMeshNode({ relays: [`/ip4/127.0.0.1/tcp/${port}/ws/p2p/${expected}`] })
    nodes.push(node)
    await node.start()
    const err = await node.waitForReservation({ signal: AbortSignal.timeout(60_000) }).catch((e: Error) => e)
    expect(err).toMatchObject({ name: 'RelayUnreachableError' })
    const msg = (err as Error).message
    expect(msg).toContain(`relay /ip4/127.0.0.1/tcp/${port}/ws has peer id ${relay.peerId.toString()}, not the expected ${expected}`)
    expect(node.relays()[0]?.state).toBe('down')
  })

  it('an id learnt from ws://host:port is pinned: another relay on that address later is refused and reported with both ids', async () => {
    const first = await stockRelay()
    const node = await createMeshNode({ relays: [`ws://127.0.0.1:${first.port}`], relayCheckIntervalMs: 100 })
    nodes.push(node)
    await node.start()
    await node.waitForReservation({ signal: AbortSignal.timeout(10_000) })
    await first.relay.stop()
    const second = await stockRelay(first.port)
    relays.push(second.relay)
    const pinned = first.relay.peerId.toString()
    await expect.poll(() => node.relays()[0]?.lastError, { timeout: 15_000 })
      .toBe(`relay /ip4/127.0.0.1/tcp/${first.port}/ws has peer id ${second.relay.peerId.toString()}, not the expected ${pinned}: wrong /p2p/ id in the relay address, or another relay answered there`)
    expect(node.relays()[0]?.peerId.toString()).toBe(pinned)
    expect(second.relay.getConnections().filter((c) => c.status === 'open' && c.remotePeer.equals(node.peerId))).toEqual([])
  })
})

describe('MeshNode lifecycle', () => {
  it('two start() at once load the reputation store once, and the second resolves only once the node runs', async () => {
    let loads = 0
    const store = memoryScoreStore()
    const counting = { load: async () => { loads++; return store.load() }, save: store.save.bind(store) }
    const node = await createMeshNode({ reputation: { store: counting } })
    try {
      const a = node.start()
      const b = node.start()
      await b
      expect(node.libp2p.status).toBe('started')
      await a
      expect(loads).toBe(1)
    } finally {
      await node.stop()
    }
  })

  it('a second stop() while the first runs resolves only once the node has stopped; a third after is a no-op', async () => {
    const node = await createMeshNode()
    await node.start()
    const first = node.stop()
    const second = node.stop()
    await second
    expect(node.libp2p.status).toBe('stopped')
    await first
    await node.stop()
  })

  it('start() after stop() starts the node again', async () => {
    const node = await createMeshNode()
    await node.start()
    const stopping = node.stop()
    const restarting = node.start()
    await stopping
    await restarting
    expect(node.libp2p.status).toBe('started')
    await node.stop()
    expect(node.libp2p.status).toBe('stopped')
  })
})
