import { afterEach, describe, expect, it } from 'vitest'
import { upstreamErrorKind } from '@auralink/core'
import { createMeshNode, PeerOfflineError } from '../src/index.js'
import { startStockRelay } from './fixtures.js'
import { removeDir, startRelayProcess } from '../../../test-utils/relay-process.js'
import type { RelayProcess } from '../../../test-utils/relay-process.js'
import type { MeshNode } from '../src/index.js'
import type { Libp2p } from '@libp2p/interface'

// Runs in the network namespace of scripts/netns.sh: WebRTC needs a non-loopback interface.
describe('MeshNode.dial (WebRTC through a relay, in the test network namespace)', () => {
  const nodes: MeshNode[] = []
  const relays: Libp2p[] = []
  const processes: RelayProcess[] = []
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async (n) => n.stop()))
    await Promise.all(relays.splice(0).map(async (r) => r.stop()))
    for (const r of processes.splice(0)) {
      await r.stop()
      await removeDir(r.dataDir)
    }
  })

  async function peers (n: number, init: Parameters<typeof createMeshNode>[0] = {}): Promise<MeshNode[]> {
    const { relay, addr } = await startStockRelay()
    relays.push(relay)
    const out: MeshNode[] = []
    for (let i = 0; i < n; i++) {
      const node = await createMeshNode({ relays: [addr], relayCheckIntervalMs: 250, ...init })
      nodes.push(node)
      await node.start()
      await node.waitForReservation({ signal: AbortSignal.timeout(15_000) })
      out.push(node)
    }
    return out
  }

  it('dial(peerId) returns a direct WebRTC connection with no relay limits', async () => {
    const [alice, bob] = await peers(2)
    const conn = await alice!.dial(bob!.peerId)
    expect(conn.path).toBe('direct')
    expect(conn.direct).toBe(true)
    expect(conn.connection.limits).toBeUndefined()
    expect(conn.connection.remotePeer.equals(bob!.peerId)).toBe(true)
    expect(conn.connection.remoteAddr.toString()).toContain('/webrtc')
  })

  it('dial() of a peer with no reservation rejects with PeerOfflineError, made from the relay\'s NO_RESERVATION refusal', async () => {
    const [alice, gone] = await peers(2)
    const goneId = gone!.peerId
    await gone!.stop()
    const err = await alice!.dial(goneId).then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(PeerOfflineError)
    expect((err as PeerOfflineError).code).toBe('ERR_PEER_OFFLINE')
    // the last route's refusal, turned into our class at the boundary; libp2p's error is its cause
    const last = (err as PeerOfflineError).cause
    expect(last).toBeInstanceOf(PeerOfflineError)
    expect(upstreamErrorKind((last as Error).cause)).toBe('no-reservation')
  })

  it('dial({ allowRelayed: true }) falls back to a relayed connection when direct dials fail, and says why', async () => {
    // a 1 ms attempt limit makes every WebRTC dial fail
    const [alice, bob] = await peers(2, { dial: { retries: 1, backoffMs: 10, timeoutMs: 1 } })
    await expect(alice!.dial(bob!.peerId)).rejects.toThrow(expect.objectContaining({ name: 'DialFailedError', attempts: 2 }))
    const conn = await alice!.dial(bob!.peerId, { allowRelayed: true })
    expect(conn.path).toBe('relayed')
    expect(conn.direct).toBe(false)
    expect(conn.fallbackReason).toMatch(/direct WebRTC dial failed 2 times/)
    expect(conn.connection.limits).toBeDefined()
  })

  it('dial({ allowDirect: false, allowRelayed: true }) goes straight to a relayed connection: no WebRTC attempt, no dial:retry', async () => {
    const [alice, bob] = await peers(2)
    const retries: unknown[] = []
    alice!.addEventListener('dial:retry', (e) => { retries.push(e.detail) })
    const conn = await alice!.dial(bob!.peerId, { allowDirect: false, allowRelayed: true })
    expect(conn.path).toBe('relayed')
    expect(conn.attempts).toBe(1)
    expect(conn.fallbackReason).toBe('direct not allowed (allowDirect is false)')
    expect(conn.connection.limits).toBeDefined()
    expect(retries).toEqual([])
  })

  it('dial({ allowDirect: false, allowRelayed: true }) of a peer that holds no reservation rejects with PeerOfflineError (a call tells a gone peer from a broken path by it)', async () => {
    const [alice, gone] = await peers(2)
    const goneId = gone!.peerId
    await gone!.stop()
    // until the relay has seen the peer's connection go: while it closes, a stock relay answers a
    // circuit to it with MALFORMED_MESSAGE (its stop stream fails), which says nothing either way
    const end = Date.now() + 5_000
    while (relays[0]!.getConnections(goneId).length > 0 && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 20))
    const err = await alice!.dial(goneId, { allowDirect: false, allowRelayed: true }).then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(PeerOfflineError)
    expect((err as Error).message).toMatch(/holds no reservation on our relay/)
  })

  it('dial(peer, { timeoutMs }) retries past dial.retries until the limit, then rejects with DialFailedError saying it ran out of time', async () => {
    // a 1 ms attempt limit makes every WebRTC attempt fail at once
    const [alice, bob] = await peers(2, { dial: { retries: 0, backoffMs: 10, timeoutMs: 1, stallMs: 1 } })
    const once = await alice!.dial(bob!.peerId).then(() => undefined, (e: unknown) => e)
    expect(once).toMatchObject({ name: 'DialFailedError', attempts: 1 })
    const err = await alice!.dial(bob!.peerId, { timeoutMs: 2_000 }).then(() => undefined, (e: unknown) => e)
    expect(err).toMatchObject({ name: 'DialFailedError' })
    // retries: 0 allows one attempt; the limit let it go on (backoff 10, 20, 40 ... ms)
    expect((err as { attempts: number }).attempts).toBeGreaterThan(3)
    expect((err as Error).message).toMatch(/^could not reach \S+ within 2000 ms: direct WebRTC dial failed \d+ times/)
  })

  it('dial(peer, { timeoutMs: NaN }) throws RangeError naming timeoutMs', async () => {
    const [alice, bob] = await peers(2)
    await expect(alice!.dial(bob!.peerId, { timeoutMs: Number.NaN })).rejects.toThrow(RangeError)
    await expect(alice!.dial(bob!.peerId, { timeoutMs: 0 })).rejects.toThrow(/timeoutMs/)
  })

  it('30 dials in a row through a real relay node never signal over a relayed connection near the end of its data limit (32 KiB between unnamed peers)', async () => {
    const relay = await startRelayProcess({ args: ['--circuit-rate-limit', '1000000'] })
    processes.push(relay)
    const make = async (): Promise<MeshNode> => {
      const node = await createMeshNode({ relays: [relay.addr], relayCheckIntervalMs: 250 })
      nodes.push(node)
      await node.start()
      await node.waitForReservation({ signal: AbortSignal.timeout(15_000) })
      return node
    }
    const alice = await make()
    const bob = await make()
    const retries: string[] = []
    alice.addEventListener('dial:retry', ({ detail }) => { retries.push(detail.error.message) })
    let least = Infinity
    for (let i = 0; i < 30; i++) {
      const conn = await alice.dial(bob.peerId, { signal: AbortSignal.timeout(60_000) })
      expect(conn.path).toBe('direct')
      // the circuit this dial signalled over: it started the attempt with at least 16 KiB left,
      // and one attempt's signalling takes about 1.6 KiB of it
      for (const c of alice.libp2p.getConnections(bob.peerId)) {
        if (c.limits?.bytes !== undefined && c.status === 'open') least = Math.min(least, Number(c.limits.bytes))
      }
      await conn.close()
    }
    expect(least).toBeGreaterThan(8 * 1024)
    // the relay never cut a circuit in the middle of an attempt's signalling
    expect(retries.filter((m) => /Unexpected EOF|stream that is closed|muxer is "closed"/.test(m))).toEqual([])
  })
})
