import { generateIdentityKey } from '@auralink/identity'
import { DirectoryError } from '@auralink/protocol'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, echo, echoOn, HOP_STATUS, metric, register, reserve, startRelay, stockPeer, until } from './adversary/harness.js'

const E = DirectoryError
const { OK, PERMISSION_DENIED } = HOP_STATUS

// A real relay node in this process and real libp2p peers, on 127.0.0.1 only; every wait is bounded.
describe('relay abuse limits against real libp2p peers', () => {
  afterEach(cleanup)

  it('a flood of RESERVE requests from one peer gets PERMISSION_DENIED past --reservation-rate-limit; another peer still reserves; /metrics counts the hits', async () => {
    const { relay, addr, log } = await startRelay({ reservationRateLimit: 3 }, { log: 'debug' })
    const flooder = await stockPeer({ circuit: true })
    const statuses: Array<number | undefined> = []
    for (let i = 0; i < 8; i++) statuses.push(await reserve(flooder, addr))
    expect(statuses).toEqual([OK, OK, OK, PERMISSION_DENIED, PERMISSION_DENIED, PERMISSION_DENIED, PERMISSION_DENIED, PERMISSION_DENIED])
    // a second, stock peer reserves as js-libp2p does (listening on the circuit) and is served
    const other = await stockPeer({ circuit: true, listen: [`${addr}/p2p-circuit`] })
    expect(other.getMultiaddrs().map(String)).toContain(`${addr}/p2p-circuit/p2p/${other.peerId.toString()}`)
    expect(await reserve(other, addr)).toBe(OK)
    expect(await metric(relay, 'auralink_relay_limit_hits_total', { limit: 'reservation_rate' })).toBe(5)
    // one debug line per refusal, no info line
    const lines = log.records()
    expect(lines.filter((l) => l.msg === 'limit hit').map((l) => [l.level, l.limit])).toEqual(new Array(5).fill([20, 'reservation_rate']))
    expect(lines.filter((l) => l.level >= 30).map((l) => l.msg)).toEqual(['starting', 'http listening', 'listening'])
    expect(relay.libp2p.services.relay.reservations.size).toBe(2)
  })

  it('a flood of directory REGISTERs from one peer gets RATE_LIMITED past --directory-write-limit; another peer registers normally; /metrics counts the hits', async () => {
    const { relay, addr } = await startRelay({ directoryWriteLimit: 3 }, { log: 'debug' })
    const flooder = await stockPeer({ circuit: true })
    const codes: number[] = []
    for (let i = 0; i < 6; i++) codes.push(await register(flooder, addr, await generateIdentityKey(), `@flood-${i}.aura`))
    expect(codes).toEqual([E.DIRECTORY_ERROR_NONE, E.DIRECTORY_ERROR_NONE, E.DIRECTORY_ERROR_NONE, E.DIRECTORY_ERROR_RATE_LIMITED, E.DIRECTORY_ERROR_RATE_LIMITED, E.DIRECTORY_ERROR_RATE_LIMITED])
    const other = await stockPeer({ circuit: true })
    expect(await register(other, addr, await generateIdentityKey(), '@other-peer.aura')).toBe(E.DIRECTORY_ERROR_NONE)
    expect(await metric(relay, 'auralink_relay_limit_hits_total', { limit: 'directory_writes' })).toBe(3)
    expect(await relay.libp2p.services.directory.size()).toBe(4)
  })

  it('--max-anonymous-circuits 1 and --relay-data-limit-anonymous 16384: circuits with no named end are refused past 1 and cut past 16 KiB; once the listener holds a name they get the normal limits', async () => {
    // namedMinAgeMs 0: a name counts at once here (test/adversary/circuits.integration.test.ts tests the age)
    const { relay, addr } = await startRelay({ maxAnonymousCircuits: 1, relayDataLimitAnonymous: 16384, relayDataLimit: 131072, namedMinAgeMs: 0 }, { log: 'debug' })
    const key = await generateIdentityKey()
    const listener = await stockPeer({ circuit: true, listen: [`${addr}/p2p-circuit`], privateKey: key })
    await echoOn(listener)
    const circuit = `${addr}/p2p-circuit/p2p/${listener.peerId.toString()}`
    const first = await stockPeer({ circuit: true })
    expect(await echo(first, circuit, 1000)).toBe(1000)
    // a second anonymous circuit while the first is open: refused, and the dialer sees why
    const second = await stockPeer({ circuit: true })
    await expect(second.dial(multiaddr(circuit), { signal: AbortSignal.timeout(10_000) })).rejects.toThrow(/PERMISSION_DENIED/)
    expect(await metric(relay, 'auralink_relay_limit_hits_total', { limit: 'anonymous_circuits' })).toBe(1)
    // anonymous: 16 KiB each way is over 16 KiB (both directions count together)
    const cut = await echo(first, circuit, 16384)
    expect(cut).not.toBe(16384)
    // the cut circuit no longer counts
    expect(await until(async () => metric(relay, 'auralink_relay_circuits', { kind: 'anonymous' }, { inProcess: true }), 0, 5000)).toBe(0)
    // the listener registers a name at this relay: its circuits are no longer anonymous
    expect(await register(listener, addr, key, '@named-listener.aura')).toBe(E.DIRECTORY_ERROR_NONE)
    const third = await stockPeer({ circuit: true })
    expect(await echo(third, circuit, 16384)).toBe(16384)
    expect(relay.libp2p.services.relay.reservations.size).toBe(1)
  })

  it('--max-circuits-per-peer 1 and --circuit-rate-limit 2: a second circuit to a busy peer and a third new circuit in a minute from one source get PERMISSION_DENIED', async () => {
    const { relay, addr } = await startRelay({ maxCircuitsPerPeer: 1, circuitRateLimit: 2 }, { log: 'debug' })
    /** Waits (bounded) until the relay holds `count` circuits. */
    const circuitsOpen = async (count: number): Promise<void> => {
      expect(await until(async () => metric(relay, 'auralink_relay_circuits', { kind: 'all' }, { inProcess: true }), count, 5000)).toBe(count)
    }
    const listener = await stockPeer({ circuit: true, listen: [`${addr}/p2p-circuit`] })
    await echoOn(listener)
    const circuit = multiaddr(`${addr}/p2p-circuit/p2p/${listener.peerId.toString()}`)
    const [d1, d2] = [await stockPeer({ circuit: true }), await stockPeer({ circuit: true })]
    const signal = (): AbortSignal => AbortSignal.timeout(10_000)
    const c1 = await d1.dial(circuit, { signal: signal() })
    await circuitsOpen(1)
    await expect(d2.dial(circuit, { signal: signal() })).rejects.toThrow(/PERMISSION_DENIED/)
    expect(await metric(relay, 'auralink_relay_limit_hits_total', { limit: 'circuits_per_peer' })).toBe(1)
    await c1.close()
    await circuitsOpen(0)
    await (await d1.dial(circuit, { signal: signal() })).close()
    await circuitsOpen(0)
    await expect(d1.dial(circuit, { signal: signal() })).rejects.toThrow(/PERMISSION_DENIED/)
    expect(await metric(relay, 'auralink_relay_limit_hits_total', { limit: 'circuit_rate' })).toBe(1)
    // another source is still served
    expect(await echo(d2, circuit.toString(), 100)).toBe(100)
  })
})
