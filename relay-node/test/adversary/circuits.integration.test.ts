import { generateIdentityKey } from '@auralink/identity'
import { DirectoryError } from '@auralink/protocol'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, echo, echoOn, metric, register, resolve, startRelay, stockPeer, until } from './harness.js'

// The anonymous-circuit cap one free name away (issue 13, item 6), as a stranger tries it: stock
// js-libp2p peers (upstream @libp2p/* only, the directory spoken with raw protocol messages) and a
// real relay node in this process, on 127.0.0.1. Every wait is bounded; every node is stopped.

const E = DirectoryError
/** Long enough that the checks made while the name is young finish well inside it on a busy machine. */
const NAMED_MIN_AGE = 10

describe('anonymous circuits against a real relay node: a fresh name buys nothing (stock js-libp2p peers)', () => {
  afterEach(cleanup)

  it(`a listener that registers a fresh name still gets --max-anonymous-circuits and --relay-data-limit-anonymous until its name is --named-min-age-ms (${NAMED_MIN_AGE} s) old; then the normal limits`, async () => {
    const { relay, addr } = await startRelay({ maxAnonymousCircuits: 1, relayDataLimitAnonymous: 16384, relayDataLimit: 131072, namedMinAgeMs: NAMED_MIN_AGE * 1000 })
    const key = await generateIdentityKey()
    const listener = await stockPeer({ circuit: true, listen: [`${addr}/p2p-circuit`], privateKey: key })
    await echoOn(listener)
    const circuit = `${addr}/p2p-circuit/p2p/${listener.peerId.toString()}`
    // the attack: one free REGISTER, then circuits as if named
    expect(await register(listener, addr, key, '@fresh-listener.aura')).toBe(E.DIRECTORY_ERROR_NONE)
    // a legitimate peer is served by the directory meanwhile: registers its own name, resolves the listener's
    const legitimate = await stockPeer({ circuit: true })
    const legitimateKey = await generateIdentityKey()
    expect(await register(legitimate, addr, legitimateKey, '@legitimate-peer.aura')).toBe(E.DIRECTORY_ERROR_NONE)
    expect(await resolve(legitimate, addr, '@fresh-listener.aura')).toBe(E.DIRECTORY_ERROR_NONE)
    const first = await stockPeer({ circuit: true })
    expect(await echo(first, circuit, 1000)).toBe(1000)
    expect(await metric(relay, 'auralink_relay_circuits', { kind: 'anonymous' })).toBe(1)
    // still anonymous: a second circuit while the first is open is refused, and counted
    const second = await stockPeer({ circuit: true })
    await expect(second.dial(multiaddr(circuit), { signal: AbortSignal.timeout(10_000) })).rejects.toThrow(/PERMISSION_DENIED/)
    expect(await metric(relay, 'auralink_relay_limit_hits_total', { limit: 'anonymous_circuits' })).toBe(1)
    // and the first circuit has the anonymous data limit: 16 KiB each way is over 16 KiB
    expect(await echo(first, circuit, 16384)).not.toBe(16384)
    expect(await until(async () => metric(relay, 'auralink_relay_circuits', { kind: 'anonymous' }), 0)).toBe(0)
    // once the name is old enough (waited for, not slept), the listener's circuits are named
    const names = relay.libp2p.services.directory
    expect(await until(async () => names.holdsName(listener.peerId, { minAgeMs: NAMED_MIN_AGE * 1000 }), true, 2 * NAMED_MIN_AGE * 1000 + 10_000)).toBe(true)
    const third = await stockPeer({ circuit: true })
    expect(await echo(third, circuit, 16384)).toBe(16384)
    // outside the anonymous cap: a second one at once is served too
    const fourth = await stockPeer({ circuit: true })
    expect(await echo(fourth, circuit, 1000)).toBe(1000)
    expect(await metric(relay, 'auralink_relay_circuits', { kind: 'anonymous' })).toBe(0)
    expect(await metric(relay, 'auralink_relay_limit_hits_total', { limit: 'anonymous_circuits' })).toBe(1)
  })

  it('a dialer that registers a fresh name gets no more than anonymous circuits to an anonymous listener until its name is old', async () => {
    const { relay, addr } = await startRelay({ maxAnonymousCircuits: 0, namedMinAgeMs: 3_600_000 })
    const listener = await stockPeer({ circuit: true, listen: [`${addr}/p2p-circuit`] })
    await echoOn(listener)
    const circuit = `${addr}/p2p-circuit/p2p/${listener.peerId.toString()}`
    const key = await generateIdentityKey()
    const dialer = await stockPeer({ circuit: true, privateKey: key })
    expect(await register(dialer, addr, key, '@fresh-dialer.aura')).toBe(E.DIRECTORY_ERROR_NONE)
    await expect(dialer.dial(multiaddr(circuit), { signal: AbortSignal.timeout(10_000) })).rejects.toThrow(/PERMISSION_DENIED/)
    expect(await metric(relay, 'auralink_relay_limit_hits_total', { limit: 'anonymous_circuits' })).toBe(1)
    // the name is held (holdsName with no age: true, the rule before, which let this circuit through): only its age keeps it anonymous
    expect(await relay.libp2p.services.directory.holdsName(dialer.peerId)).toBe(true)
  })
})
