import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { AuraLink } from '../src/index.js'
import { removeDir, startRelayProcess } from '../../../test-utils/relay-process.js'
import type { AuraLinkInit, Call, CallStateChange } from '../src/index.js'
import type { RelayProcess } from '../../../test-utils/relay-process.js'

// Data calls between two Node clients that lose their connection mid-call (packages/sdk/README.md
// "Reconnecting"), through a real relay-node process, in the test network namespace: the call
// goes 'reconnecting', the caller re-dials through the relay and resumes the call there, chat
// goes on with no message lost or repeated; a peer that is gone ends the call at once; a path
// that does not come back ends it after the limit, on both sides.
describe('AuraLink calls reconnect after their connection breaks (Node, real relay)', () => {
  let relay: RelayProcess
  const clients: AuraLink[] = []
  let n = 0

  beforeAll(async () => { relay = await startRelayProcess({ args: ['--max-reservations-per-address', '64'] }) })
  afterAll(async () => {
    await relay.stop()
    await removeDir(relay.dataDir)
  })
  afterEach(async () => { await Promise.all(clients.splice(0).map(async (c) => c.stop())) })

  async function client (label: string, init: Partial<AuraLinkInit> = {}, relayAddr = relay.addr): Promise<{ client: AuraLink, name: string }> {
    const c = await AuraLink.create({ relays: [relayAddr], iceServers: [], keyStore: null, ...init })
    clients.push(c)
    const name = `@${label}-${++n}.aura`
    await c.register(name)
    return { client: c, name }
  }

  async function connectedPair (init: Partial<AuraLinkInit> = {}, relayAddr = relay.addr): Promise<{ alice: AuraLink, bob: AuraLink, a: Call, b: Call }> {
    const alice = await client('alice', init, relayAddr)
    const bob = await client('bob', init, relayAddr)
    const ringing = new Promise<Call>((resolve) => { bob.client.addEventListener('incoming', (e) => { resolve(e.detail.call) }, { once: true }) })
    const a = await alice.client.call(bob.name)
    const b = await ringing
    await b.accept()
    await a.whenConnected({ signal: AbortSignal.timeout(10_000) })
    await b.whenConnected({ signal: AbortSignal.timeout(10_000) })
    return { alice: alice.client, bob: bob.client, a, b }
  }

  function states (call: Call): CallStateChange[] {
    const seen: CallStateChange[] = []
    call.addEventListener('state', (e) => { seen.push(e.detail) })
    return seen
  }

  function inbox (call: Call): string[] {
    const got: string[] = []
    call.addEventListener('message', (e) => { got.push(e.detail.text ?? '') })
    return got
  }

  async function until (what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs
    while (!cond()) {
      if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }

  /** Aborts every connection between the two clients on both sides, as a dead path ends them (each side's transport fails). */
  function breakPath (alice: AuraLink, bob: AuraLink): number {
    const conns = [...alice.mesh.libp2p.getConnections(bob.peerId), ...bob.mesh.libp2p.getConnections(alice.peerId)]
    for (const c of conns) c.abort(new Error('the test broke the path'))
    return conns.length
  }

  it('a call whose connection is aborted goes "reconnecting", resumes through the relay, and every chat message (sent before, during and after) arrives once, in order; then it moves back to a direct connection', async () => {
    const { alice, bob, a, b } = await connectedPair()
    expect(a.path).toBe('direct')
    const aStates = states(a)
    const bStates = states(b)
    const atBob = inbox(b)
    const atAlice = inbox(a)
    await a.send('a1')
    await b.send('b1')
    await until('the first messages', () => atBob.length === 1 && atAlice.length === 1, 5_000)

    expect(breakPath(alice, bob)).toBeGreaterThan(0)
    // sent while the path is broken: held and sent once the call is resumed
    await a.send('a2')
    await b.send('b2')
    await until('alice reconnecting', () => aStates.some((s) => s.state === 'reconnecting'), 5_000)
    await a.send('a3')
    await until('both connected again', () => aStates.at(-1)?.state === 'connected' && bStates.at(-1)?.state === 'connected', 15_000)
    await a.send('a4')
    await b.send('b3')
    await until('every message', () => atBob.length >= 4 && atAlice.length >= 3, 5_000)
    expect(atBob).toEqual(['a1', 'a2', 'a3', 'a4'])
    expect(atAlice).toEqual(['b1', 'b2', 'b3'])
    expect(aStates.map((s) => s.state)).toEqual(['reconnecting', 'connected'])
    expect(bStates.map((s) => s.state)).toEqual(['reconnecting', 'connected'])
    expect((await a.stats()).reconnects).toBe(1)
    // the relayed connection is limited by the relay: the caller moves the call to a direct one
    await until('a direct connection again', () => a.path === 'direct' && b.path === 'direct', 20_000)
    await a.send('a5')
    await until('a5', () => atBob.length === 5, 5_000)
    expect(atBob).toEqual(['a1', 'a2', 'a3', 'a4', 'a5'])
    expect(a.state).toBe('connected')
    expect(b.state).toBe('connected')
  })

  it('a peer that is gone (its connection broke and its node stopped: the relay holds no reservation for it) ends the call with "peer-vanished" within 10 s', async () => {
    const { alice, bob, a } = await connectedPair()
    const t0 = Date.now()
    breakPath(alice, bob)
    await bob.mesh.stop()
    const info = await a.whenEnded()
    expect(Date.now() - t0).toBeLessThan(10_000)
    expect(info.reason).toBe('peer-vanished')
  })

  it('a path that does not come back within reconnect.timeoutMs (the relay gone too) ends the call with "connection-lost" on both sides', async () => {
    const own = await startRelayProcess({ args: ['--max-reservations-per-address', '64'] })
    try {
      const { alice, bob, a, b } = await connectedPair({ reconnect: { timeoutMs: 2_000 } }, own.addr)
      const aStates = states(a)
      await own.stop()
      breakPath(alice, bob)
      const [ea, eb] = await Promise.all([a.whenEnded(), b.whenEnded()])
      expect(aStates[0]?.state).toBe('reconnecting')
      expect(ea.reason).toBe('connection-lost')
      expect(eb.reason).toBe('connection-lost')
      expect(ea.message).toMatch(/could not reconnect .* within 2 s/)
    } finally {
      await own.stop()
      await removeDir(own.dataDir)
    }
  })

  it('a call stream that the peer resets while their connection stays up ends the call at once, never "reconnecting"', async () => {
    const { alice, bob, a, b } = await connectedPair()
    const bStates = states(b)
    const stream = alice.mesh.libp2p.getConnections(bob.peerId).flatMap((c) => c.streams).find((s) => s.protocol === '/auralink/signal/1.0.0')
    expect(stream).toBeDefined()
    stream!.abort(new Error('reset by the test'))
    // bob reads the reset as a failed stream ('connection-lost') or, now and then, as a clean end
    // ('remote-hangup'): either way at once, never 'reconnecting'
    const info = await b.whenEnded()
    expect(['connection-lost', 'remote-hangup']).toContain(info.reason)
    expect(bStates.map((s) => s.state)).toEqual(['ended'])
    expect(['connection-lost', 'remote-hangup']).toContain((await a.whenEnded()).reason)
  })

  it('a stalled event loop (2 s: both sides hear nothing) is a suspect break: the call comes back on the same connection, which stays open, and chat goes on', async () => {
    const { alice, bob, a, b } = await connectedPair()
    const aStates = states(a)
    const bStates = states(b)
    const atBob = inbox(b)
    const before = alice.mesh.libp2p.getConnections(bob.peerId).filter((c) => c.status === 'open' && c.limits == null)
    expect(before.length).toBeGreaterThan(0)
    // every timer of both clients fires late, before the pings that came meanwhile are read
    const t0 = Date.now()
    while (Date.now() - t0 < 2_000) { /* stall */ }
    await a.send('after the stall')
    await until('the message', () => atBob.includes('after the stall'), 10_000)
    await until('both connected', () => a.state === 'connected' && b.state === 'connected', 15_000)
    for (const seen of [aStates, bStates]) {
      expect(seen.map((s) => s.state)).not.toContain('ended')
      if (seen.length > 0) expect(seen.at(-1)?.state).toBe('connected')
    }
    // the direct connection was not dropped for a silence that a message then disproved
    expect(before.every((c) => c.status === 'open')).toBe(true)
    await a.send('later')
    await until('later', () => atBob.includes('later'), 5_000)
    expect(atBob).toEqual(['after the stall', 'later'])
  })

  it('AuraLink.create({ reconnect: { timeoutMs } }) refuses a limit that is not a number of ms >= 100, naming it', async () => {
    for (const bad of [0, 50, -1, Number.NaN, '30000']) {
      await expect(AuraLink.create({ relays: [relay.addr], keyStore: null, reconnect: { timeoutMs: bad as number } })).rejects.toThrow(/init\.reconnect\.timeoutMs must be a number of ms >= 100/)
    }
  })
})
