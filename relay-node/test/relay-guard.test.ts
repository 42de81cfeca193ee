import { generateKeyPair } from '@libp2p/crypto/keys'
import { RELAY_V2_HOP_CODEC } from '@libp2p/circuit-relay-v2'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { DEFAULTS } from '../src/index.js'
import { relayGuard } from '../src/relay-guard.js'
import type { RelayGuardInit, RelayLimit } from '../src/relay-guard.js'
import type { RelayReservation } from '@libp2p/circuit-relay-v2'
import type { Connection, PeerId, Stream, StreamHandler } from '@libp2p/interface'

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

/** A registrar that keeps the (wrapped) hop handler, and the reservations the server would hold. */
function setup (init: Partial<RelayGuardInit> = {}, named: PeerId[] = []): {
  guard: ReturnType<typeof relayGuard>
  hits: RelayLimit[]
  clock: { now: number }
  reservations: Map<string, RelayReservation>
  /** What the server does on a CONNECT hop stream: asks the gater, then reads the destination's limit. */
  connect: (src: PeerId, dst: PeerId, stream?: FakeStream) => Promise<{ denied: boolean, limit?: RelayReservation['limit'], stream: FakeStream }>
} {
  const hits: RelayLimit[] = []
  const clock = { now: 0 }
  const guard = relayGuard({ ...DEFAULTS, onLimit: (l) => { hits.push(l) }, now: () => clock.now, ...init })
  const reservations = new Map<string, RelayReservation>()
  const byPeer = {
    get size () { return reservations.size },
    has: (p: PeerId) => reservations.has(p.toString()),
    get: (p: PeerId) => reservations.get(p.toString())
  }
  guard.attach({ reservations: byPeer, holdsName: async (p) => named.some((n) => n.equals(p)) })
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
  return { guard, hits, clock, reservations, connect }
}

describe('relayGuard', () => {
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
      maxAnonymousCircuits: 1, relayDataLimit: 1000, relayDurationLimit: 60, relayDataLimitAnonymous: 100, relayDurationLimitAnonymous: 600
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
})
