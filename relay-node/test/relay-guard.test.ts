import { generateKeyPair } from '@libp2p/crypto/keys'
import { RELAY_V2_HOP_CODEC } from '@libp2p/circuit-relay-v2'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { DEFAULTS } from '../src/index.js'
import { relayGuard } from '../src/relay-guard.js'
import { multiaddrAddressKey as addressKey } from '../src/socket-guard.js'
import type { PeerEvents, RelayGuardInit, RelayLimit } from '../src/relay-guard.js'
import type { RelayReservation } from '@libp2p/circuit-relay-v2'
import type { Connection, PeerId, Stream, StreamHandler } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

async function peer (): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

/** A hop stream: only what the guard reads (status and the close event). */
class FakeStream extends EventTarget {
  status = 'open'
  close (): void {
    this.status = 'closed'
    this.dispatchEvent(new Event('close'))
  }
}

/**
 * A registrar that keeps the (wrapped) hop handler, the reservations the server would hold, the
 * peers' open connections and libp2p's connect/disconnect events. `named` peers hold a name
 * registered long ago; `names` maps peers to when they registered theirs (on `clock`).
 */
function setup (init: Partial<RelayGuardInit> = {}, named: PeerId[] = [], names = new Map<string, number>()): {
  guard: ReturnType<typeof relayGuard>
  hits: RelayLimit[]
  drops: string[]
  clock: { now: number }
  reservations: Map<string, RelayReservation>
  /** Remote addresses of each peer's open connections. */
  connections: Map<string, Multiaddr[]>
  events: EventTarget
  /** What the server does on RESERVE from `p` at `addr`: asks the gater, then stores the reservation. */
  reserve: (p: PeerId, addr: string) => boolean
  /** What the server does on a CONNECT hop stream: asks the gater, then reads the destination's limit. */
  connect: (src: PeerId, dst: PeerId, stream?: FakeStream) => Promise<{ denied: boolean, limit?: RelayReservation['limit'], stream: FakeStream }>
} {
  const hits: RelayLimit[] = []
  const drops: string[] = []
  const clock = { now: 0 }
  const guard = relayGuard({ ...DEFAULTS, onLimit: (l) => { hits.push(l) }, onDrop: (p, reason) => { drops.push(`${p.toString()} ${reason}`) }, now: () => clock.now, ...init })
  guards.push(guard)
  const reservations = new Map<string, RelayReservation>()
  const peers = new Map<string, PeerId>()
  const byPeer = {
    get size () { return reservations.size },
    has: (p: PeerId) => reservations.has(p.toString()),
    get: (p: PeerId) => reservations.get(p.toString()),
    entries: () => [...reservations].map(([k, r]): [PeerId, RelayReservation] => [peers.get(k)!, r])
  }
  const connections = new Map<string, Multiaddr[]>()
  const events = new EventTarget()
  guard.attach({
    reservations: byPeer,
    holdsName: async (p, { minAgeMs }) => named.some((n) => n.equals(p)) || clock.now - (names.get(p.toString()) ?? Infinity) >= minAgeMs,
    remoteAddresses: (p) => connections.get(p.toString()) ?? [],
    events: events as unknown as PeerEvents
  })
  const reserve = (p: PeerId, addr: string): boolean => {
    const key = p.toString()
    connections.set(key, [...connections.get(key) ?? [], multiaddr(addr)])
    if (guard.gater.denyInboundRelayReservation(p) === true) return false
    peers.set(key, p)
    // as the server's store: the signal aborting (here: reset to 0 ms) removes the reservation
    const signal = { reset: (ms: number) => { setTimeout(() => { reservations.delete(key) }, ms) } }
    reservations.set(key, reservations.get(key) ?? ({ addr: multiaddr(addr), signal } as unknown as RelayReservation))
    return true
  }
  let hop: StreamHandler | undefined
  const registrar = guard.wrapRegistrar({ handle: async (protocol: string, handler: StreamHandler) => { if (protocol === RELAY_V2_HOP_CODEC) hop = handler } })
  let current: { src: PeerId, dst: PeerId, result?: { denied: boolean, limit?: RelayReservation['limit'] } } | undefined
  void registrar.handle(RELAY_V2_HOP_CODEC, async () => {
    const c = current!
    const denied = await guard.gater.denyOutboundRelayedConnection(c.src, c.dst)
    await new Promise((resolve) => setTimeout(resolve, 5)) // the STOP round trip
    c.result = { denied, limit: reservations.get(c.dst.toString())?.limit }
  })
  const connect = async (src: PeerId, dst: PeerId, stream = new FakeStream()): Promise<{ denied: boolean, limit?: RelayReservation['limit'], stream: FakeStream }> => {
    reservations.set(dst.toString(), reservations.get(dst.toString()) ?? ({} as unknown as RelayReservation))
    const c: NonNullable<typeof current> = { src, dst }
    current = c
    await hop!(stream as unknown as Stream, {} as unknown as Connection)
    return { ...c.result!, stream }
  }
  return { guard, hits, drops, clock, reservations, connections, events, reserve, connect }
}

const guards: Array<ReturnType<typeof relayGuard>> = []

describe('relayGuard', () => {
  afterEach(() => {
    for (const g of guards.splice(0)) g.stop()
    vi.useRealTimers()
  })

  it('gater.denyInboundRelayReservation(peer) refuses a peer past reservationRateLimit per minute, serves others, and refills', async () => {
    const { guard, hits, clock } = setup({ reservationRateLimit: 3 })
    const [a, b] = [await peer(), await peer()]
    const seen = [1, 2, 3, 4, 5].map(() => guard.gater.denyInboundRelayReservation(a))
    expect(seen).toEqual([false, false, false, true, true])
    expect(guard.gater.denyInboundRelayReservation(b)).toBe(false)
    expect(hits).toEqual(['reservation_rate', 'reservation_rate'])
    clock.now += 20_000
    expect(guard.gater.denyInboundRelayReservation(a)).toBe(false)
  })

  it('gater.denyInboundRelayReservation(peer) counts max_reservations when the server is full and the peer holds none (the server refuses it)', async () => {
    const { guard, hits, reservations } = setup({ maxReservations: 1 })
    const [a, b] = [await peer(), await peer()]
    reservations.set(a.toString(), {} as unknown as RelayReservation)
    expect(guard.gater.denyInboundRelayReservation(a)).toBe(false) // a refresh
    expect(guard.gater.denyInboundRelayReservation(b)).toBe(false) // left to the server
    expect(hits).toEqual(['max_reservations'])
  })

  it('gater.denyOutboundRelayedConnection(src, dst) refuses past circuitRateLimit new circuits per minute from one source', async () => {
    const { hits, connect } = setup({ circuitRateLimit: 2 })
    const [a, b, c] = [await peer(), await peer(), await peer()]
    expect((await connect(a, b)).denied).toBe(false)
    expect((await connect(a, c)).denied).toBe(false)
    expect((await connect(a, b)).denied).toBe(true)
    expect((await connect(c, b)).denied).toBe(false)
    expect(hits).toEqual(['circuit_rate'])
  })

  it('gater.denyOutboundRelayedConnection(src, dst) allows maxCircuitsPerPeer open circuits per peer, as source or destination, until one closes', async () => {
    const { guard, hits, connect } = setup({ maxCircuitsPerPeer: 2 })
    const [a, b, c, d] = [await peer(), await peer(), await peer(), await peer()]
    const first = await connect(a, b)
    await connect(c, b)
    expect(guard.circuits().total).toBe(2)
    expect((await connect(d, b)).denied).toBe(true) // b is the destination of 2
    await connect(a, c)
    expect((await connect(a, d)).denied).toBe(true) // a is the source of 2
    expect(hits).toEqual(['circuits_per_peer', 'circuits_per_peer'])
    first.stream.close()
    expect(guard.circuits().total).toBe(2)
    expect((await connect(d, b)).denied).toBe(false)
  })

  it('a circuit where neither end holds a name gets the anonymous limits (never above the normal ones) and counts against maxAnonymousCircuits', async () => {
    const named = await peer()
    const { guard, hits, connect } = setup({
      maxAnonymousCircuits: 1, relayDataLimit: 1000, relayDurationLimitMs: 60_000, relayDataLimitAnonymous: 100, relayDurationLimitAnonymousMs: 600_000
    }, [named])
    const [a, b, c] = [await peer(), await peer(), await peer()]
    const anon = await connect(a, b)
    expect(anon).toMatchObject({ denied: false, limit: { data: 100n, duration: 60_000 } })
    expect(guard.circuits()).toEqual({ total: 1, anonymous: 1 })
    expect((await connect(c, b)).denied).toBe(true)
    expect(hits).toEqual(['anonymous_circuits'])
    // a named source: the normal limits, and not counted as anonymous
    expect(await connect(named, b)).toMatchObject({ denied: false, limit: { data: 1000n, duration: 60_000 } })
    // a named destination too
    expect(await connect(c, named)).toMatchObject({ denied: false, limit: { data: 1000n, duration: 60_000 } })
    expect(guard.circuits()).toEqual({ total: 3, anonymous: 1 })
    anon.stream.close()
    expect(guard.circuits()).toEqual({ total: 2, anonymous: 0 })
  })

  it('concurrent set-ups to one destination each get the limits of their own kind', async () => {
    const named = await peer()
    const { connect } = setup({ relayDataLimit: 1000, relayDataLimitAnonymous: 100 }, [named])
    const [a, b] = [await peer(), await peer()]
    const results = await Promise.all([connect(a, b), connect(named, b), connect(a, b), connect(named, b)])
    expect(results.map((r) => r.limit?.data)).toEqual([100n, 1000n, 100n, 1000n])
  })

  it('gater.denyInboundRelayReservation(peer) refuses a new reservation from an address holding maxReservationsPerAddress (reservations_per_address); other addresses and refreshes are served', async () => {
    const { hits, reserve } = setup({ maxReservationsPerAddress: 2 })
    const [a, b, c, d] = [await peer(), await peer(), await peer(), await peer()]
    expect(reserve(a, '/ip4/192.0.2.1/tcp/1000/ws')).toBe(true)
    expect(reserve(b, '/ip4/192.0.2.1/tcp/1001/ws')).toBe(true)
    expect(reserve(c, '/ip4/192.0.2.1/tcp/1002/ws')).toBe(false)
    expect(reserve(a, '/ip4/192.0.2.1/tcp/1000/ws')).toBe(true) // a refresh
    expect(reserve(d, '/ip4/192.0.2.2/tcp/1000/ws')).toBe(true)
    // one IPv6 /64 counts as one address
    const [e, f, g] = [await peer(), await peer(), await peer()]
    expect(reserve(e, '/ip6/2001:db8:1:2::1/tcp/1/ws')).toBe(true)
    expect(reserve(f, '/ip6/2001:db8:1:2:ffff::9/tcp/1/ws')).toBe(true)
    expect(reserve(g, '/ip6/2001:db8:1:2:abcd:1:2:3/tcp/1/ws')).toBe(false)
    expect(hits).toEqual(['reservations_per_address', 'reservations_per_address'])
  })

  it('addressKey(addr) is the IPv4 address, the IPv6 /64 (IPv4-mapped: the IPv4 address), undefined without an IP', () => {
    expect(addressKey(multiaddr('/ip4/10.0.0.7/tcp/1/ws'))).toBe('10.0.0.7')
    expect(addressKey(multiaddr('/ip6/2001:db8::1/tcp/1'))).toBe('2001:db8:0:0::/64')
    expect(addressKey(multiaddr('/ip6/2001:0db8:0000:0001:1::/tcp/1'))).toBe('2001:db8:0:1::/64')
    expect(addressKey(multiaddr('/ip6/::1/tcp/1'))).toBe('0:0:0:0::/64')
    expect(addressKey(multiaddr('/ip6/::ffff:192.0.2.5/tcp/1'))).toBe('192.0.2.5')
    expect(addressKey(multiaddr('/ip6/64:ff9b::192.0.2.5/tcp/1'))).toBe('64:ff9b:0:0::/64')
    expect(addressKey(multiaddr('/dns4/example.test/tcp/1'))).toBeUndefined()
  })

  it('a reservation whose peer has no connection left is dropped after reservationGraceMs (onDrop "disconnected"); a peer back within the grace keeps its reservation', async () => {
    vi.useFakeTimers()
    const { drops, reservations, connections, events, reserve } = setup({ reservationGraceMs: 10_000, now: () => Date.now() })
    const [gone, back] = [await peer(), await peer()]
    reserve(gone, '/ip4/192.0.2.1/tcp/1/ws')
    reserve(back, '/ip4/192.0.2.2/tcp/1/ws')
    for (const p of [gone, back]) {
      connections.delete(p.toString())
      events.dispatchEvent(new CustomEvent('peer:disconnect', { detail: p }))
    }
    await vi.advanceTimersByTimeAsync(5000)
    connections.set(back.toString(), [multiaddr('/ip4/192.0.2.2/tcp/2/ws')])
    events.dispatchEvent(new CustomEvent('peer:connect', { detail: back }))
    await vi.advanceTimersByTimeAsync(4900)
    expect(reservations.size).toBe(2)
    await vi.advanceTimersByTimeAsync(200)
    expect([...reservations.keys()]).toEqual([back.toString()])
    expect(drops).toEqual([`${gone.toString()} disconnected`])
    // away again: a new grace, counted from this disconnect
    connections.delete(back.toString())
    events.dispatchEvent(new CustomEvent('peer:disconnect', { detail: back }))
    await vi.advanceTimersByTimeAsync(9900)
    expect(reservations.size).toBe(1)
    await vi.advanceTimersByTimeAsync(200)
    expect(reservations.size).toBe(0)
  })

  it('a reservation made while its connection closed (no disconnect event after it) is still dropped by the sweep, within two graces', async () => {
    vi.useFakeTimers()
    const { drops, reservations, connections, reserve } = setup({ reservationGraceMs: 10_000, now: () => Date.now() })
    const p = await peer()
    reserve(p, '/ip4/192.0.2.1/tcp/1/ws')
    connections.delete(p.toString())
    await vi.advanceTimersByTimeAsync(20_100)
    expect(reservations.size).toBe(0)
    expect(drops).toHaveLength(1)
  })

  it('stop() ends the drops: no timer is left and a later disconnect drops nothing', async () => {
    vi.useFakeTimers()
    const { guard, reservations, connections, events, reserve } = setup({ reservationGraceMs: 1000, now: () => Date.now() })
    const p = await peer()
    reserve(p, '/ip4/192.0.2.1/tcp/1/ws')
    connections.delete(p.toString())
    events.dispatchEvent(new CustomEvent('peer:disconnect', { detail: p }))
    guard.stop()
    guard.stop()
    events.dispatchEvent(new CustomEvent('peer:disconnect', { detail: p }))
    expect(vi.getTimerCount()).toBe(0)
    await vi.advanceTimersByTimeAsync(10_000)
    expect(reservations.size).toBe(1)
  })

  it('an end whose name is younger than namedMinAgeMs is anonymous (the cap and the anonymous limits) until the name is that old', async () => {
    const fresh = await peer()
    const names = new Map([[fresh.toString(), 0]])
    const { hits, clock, connect } = setup({ namedMinAgeMs: 60_000, maxAnonymousCircuits: 1, relayDataLimit: 1000, relayDataLimitAnonymous: 100 }, [], names)
    const [a, b] = [await peer(), await peer()]
    const first = await connect(a, b)
    expect(first.limit?.data).toBe(100n)
    clock.now = 59_999
    expect(await connect(fresh, b)).toMatchObject({ denied: true })
    expect(await connect(a, fresh)).toMatchObject({ denied: true })
    expect(hits).toEqual(['anonymous_circuits', 'anonymous_circuits'])
    clock.now = 60_000
    expect(await connect(fresh, b)).toMatchObject({ denied: false, limit: { data: 1000n } })
    expect(await connect(a, fresh)).toMatchObject({ denied: false, limit: { data: 1000n } })
  })
})
