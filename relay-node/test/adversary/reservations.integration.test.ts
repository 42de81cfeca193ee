import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, HOP_STATUS, metric, NETNS, OTHER_ADDRESS, reserve, startRelay, stockPeer, until } from './harness.js'
import type { RelayNodeInit } from '../../src/index.js'
import type { Libp2p } from '@libp2p/interface'

// Reservation squatting (issue 13, item 4) as a stranger does it: stock js-libp2p peers (upstream
// @libp2p/* only) sending raw circuit relay v2 RESERVE messages to a real relay node in this
// process. Every wait is bounded; every node is stopped in afterEach.

const { OK, RESERVATION_REFUSED, PERMISSION_DENIED } = HOP_STATUS
/** The connection limits are not under test here (another adversary test covers them): the attackers' many quick connections from one address pass. */
const CONNECTIONS: RelayNodeInit = { inboundConnectionRate: 1000 }

/** A stock peer that reserves as js-libp2p does (listening on the relay's circuit address), bounded. */
const listenVia = async (relayAddr: string): Promise<Libp2p> => {
  const node = await stockPeer({ circuit: true, listen: [`${relayAddr}/p2p-circuit`] })
  const want = `${relayAddr}/p2p-circuit/p2p/${node.peerId.toString()}`
  expect(await until(() => node.getMultiaddrs().map(String).includes(want), true, 15_000)).toBe(true)
  return node
}

describe('reservation squatting against a real relay node (stock js-libp2p attackers)', () => {
  afterEach(cleanup)

  it('fresh peer ids that RESERVE then disconnect fill --max-reservations only until --reservation-grace-ms: then the table empties, a legitimate peer reserves, and /metrics counts each drop', async () => {
    const { relay, addr, log } = await startRelay({ ...CONNECTIONS, maxReservations: 8, reservationGraceMs: 2000, maxReservationsPerAddress: 100 }, { log: 'debug' })
    // the attack: 8 one-shot reservations, each from a new peer id that then leaves
    const squatters: Libp2p[] = []
    for (let i = 0; i < 8; i++) {
      const squatter = await stockPeer({ circuit: true })
      expect(await reserve(squatter, addr)).toBe(OK)
      squatters.push(squatter)
    }
    // the table is full: a newcomer is refused (and was, before, for the whole --reservation-ttl-ms)
    const legitimate = await stockPeer({ circuit: true })
    expect(await reserve(legitimate, addr)).toBe(RESERVATION_REFUSED)
    expect(await metric(relay, 'auralink_relay_limit_hits_total', { limit: 'max_reservations' })).toBe(1)
    await Promise.all(squatters.map(async (s) => s.stop()))
    // the squatters stay away: their reservations go after the grace
    expect(await until(async () => metric(relay, 'auralink_relay_reservations'), 0)).toBe(0)
    expect(await until(async () => metric(relay, 'auralink_relay_reservations_dropped_total', { reason: 'disconnected' }), 8)).toBe(8)
    expect(await reserve(legitimate, addr)).toBe(OK)
    // a stock js-libp2p listener reserves too, and is reachable at its circuit address
    const listener = await listenVia(addr)
    expect(relay.libp2p.services.relay.reservations.has(listener.peerId)).toBe(true)
    expect(await metric(relay, 'auralink_relay_reservations')).toBe(2)
    // one debug line per drop, naming the peer; no info line
    const lines = log.records()
    expect(lines.filter((l) => l.msg === 'reservation dropped').map((l) => [l.level, l.reason])).toEqual(new Array(8).fill([20, 'disconnected']))
    expect(lines.filter((l) => l.level >= 30).map((l) => l.msg)).toEqual(['starting', 'http listening', 'listening'])
  })

  it('a peer that reconnects within --reservation-grace-ms keeps its reservation (same expiry); one that stays away loses it', async () => {
    const { relay, addr } = await startRelay({ ...CONNECTIONS, reservationGraceMs: 8000 }, { log: 'debug' })
    const comesBack = await generateKeyPair('Ed25519')
    const first = await stockPeer({ circuit: true, privateKey: comesBack })
    const staysAway = await stockPeer({ circuit: true })
    expect(await reserve(first, addr)).toBe(OK)
    expect(await reserve(staysAway, addr)).toBe(OK)
    const reservations = relay.libp2p.services.relay.reservations
    const expiry = reservations.get(first.peerId)!.expiry.getTime()
    // the one that comes back leaves first, so its grace would end first
    await first.stop()
    await staysAway.stop()
    expect(await until(() => relay.libp2p.getConnections().length, 0, 10_000)).toBe(0)
    const again = await stockPeer({ circuit: true, privateKey: comesBack })
    await again.dial(multiaddr(addr), { signal: AbortSignal.timeout(10_000) })
    // it came back in time (the grace is long enough for that on a busy machine)
    expect(reservations.has(again.peerId)).toBe(true)
    // the other's drop comes after the returning peer's grace would have ended
    expect(await until(async () => metric(relay, 'auralink_relay_reservations_dropped_total', { reason: 'disconnected' }), 1)).toBe(1)
    expect(reservations.has(staysAway.peerId)).toBe(false)
    expect(reservations.get(again.peerId)?.expiry.getTime()).toBe(expiry)
    // the kept reservation still works: a refresh is answered OK
    expect(await reserve(again, addr)).toBe(OK)
  })

  it('many peer ids from one address get PERMISSION_DENIED past --max-reservations-per-address (default 8), counted; a legitimate peer from another address reserves', async ({ skip }) => {
    skip(!NETNS, `needs a second local address (${OTHER_ADDRESS}): run inside scripts/netns.sh`)
    const { relay, port, id } = await startRelay({ ...CONNECTIONS, host: '0.0.0.0' }, { log: 'debug' })
    const loopback = `/ip4/127.0.0.1/tcp/${port}/ws/p2p/${id}`
    // the attack: 12 peer ids from 127.0.0.1, each keeping its connection open
    const statuses: Array<number | undefined> = []
    for (let i = 0; i < 12; i++) statuses.push(await reserve(await stockPeer({ circuit: true }), loopback))
    expect(statuses).toEqual([...new Array(8).fill(OK), ...new Array(4).fill(PERMISSION_DENIED)])
    expect(await metric(relay, 'auralink_relay_limit_hits_total', { limit: 'reservations_per_address' })).toBe(4)
    // a stock listener from another address is served while the attackers hold their 8
    const listener = await listenVia(`/ip4/${OTHER_ADDRESS}/tcp/${port}/ws/p2p/${id}`)
    const held = relay.libp2p.services.relay.reservations.get(listener.peerId)
    expect(held?.addr.getComponents().find((c) => c.name === 'ip4')?.value).toBe(OTHER_ADDRESS)
    expect(relay.libp2p.services.relay.reservations.size).toBe(9)
  })
})
