import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { initLogger } from 'node-datachannel'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startStockRelay } from './fixtures.js'
import type { createMeshNode as CreateMeshNode, MeshNode } from '../src/index.js'
import type { Libp2p } from '@libp2p/interface'

// The one-second dial (docs/benchmarks.md, bench/connect): with the DTLS roles that libp2p and
// node-datachannel pick by themselves, the answerer is the DTLS client and its ICE completes first;
// its ClientHello reaches the offerer before the offerer's DTLS transport exists, and libdatachannel
// then leaves it unread about half the time, until OpenSSL resends it a second later. The Node build
// of mesh makes the offerer the DTLS client (src/webrtc-peer-connection.node.ts; the bundler puts it
// in @libp2p/webrtc's place, so this test dials with the built dist/index.js).
//
// What is counted is libdatachannel's own account, not time: its verbose log says "DTLS retransmit
// done" each time OpenSSL resends a handshake flight, and "DTLS handshake finished" once per side of
// each connection. Both nodes run in this process, so every handshake of a dial is in the log.
const dist = resolve(import.meta.dirname, '../dist/index.js')
const built = existsSync(dist)

describe.skipIf(!built)('dials between two Node peers through a relay: DTLS retransmissions (the built dist; skipped when packages/mesh is not built: npm run build -w packages/mesh)', () => {
  const counts = { retransmits: 0, handshakes: 0 }
  const nodes: MeshNode[] = []
  const relays: Libp2p[] = []
  let createMeshNode: typeof CreateMeshNode

  beforeAll(async () => {
    ({ createMeshNode } = await import(dist) as { createMeshNode: typeof CreateMeshNode })
    initLogger('Verbose', (_level, message) => {
      if (message.includes('DTLS retransmit done')) counts.retransmits++
      else if (message.includes('DTLS handshake finished')) counts.handshakes++
    })
  })
  // once a callback is set, node-datachannel has no way back to its console logger: errors only, and dropped
  afterAll(() => { initLogger('Error', () => {}) })
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async (n) => n.stop()))
    await Promise.all(relays.splice(0).map(async (r) => r.stop()))
  })

  /** Two nodes with reservations on one stock relay; `dtlsClient` is MeshNodeInit's (internal) option. */
  async function pair (dtlsClient: 'offerer' | 'answerer'): Promise<[MeshNode, MeshNode]> {
    const { relay, addr } = await startStockRelay()
    relays.push(relay)
    const out: MeshNode[] = []
    for (let i = 0; i < 2; i++) {
      const node = await createMeshNode({ relays: [addr], relayCheckIntervalMs: 250, dtlsClient } as Parameters<typeof CreateMeshNode>[0])
      nodes.push(node)
      await node.start()
      await node.waitForReservation({ signal: AbortSignal.timeout(15_000) })
      out.push(node)
    }
    return [out[0]!, out[1]!]
  }

  /** One new direct connection from `a` to `b`, closed again; resolves with the handshakes and retransmissions it took. */
  async function dialOnce (a: MeshNode, b: MeshNode): Promise<{ retransmits: number, handshakes: number }> {
    const before = { ...counts }
    const conn = await a.dial(b.peerId, { signal: AbortSignal.timeout(60_000) })
    expect(conn.path).toBe('direct')
    expect(conn.connection.remoteAddr.toString()).toContain('/webrtc')
    // the log arrives through its own queue: wait (bounded) for both sides' "handshake finished"
    for (let waited = 0; counts.handshakes - before.handshakes < 2 && waited < 5000; waited += 10) await new Promise((r) => setTimeout(r, 10))
    await conn.close({ signal: AbortSignal.timeout(5000) }).catch((err: Error) => { conn.connection.abort(err) })
    // and until the other side has seen it close too, so that the next dial (perhaps from there) is a new connection
    const direct = (n: MeshNode, peer: MeshNode): number => n.libp2p.getConnections(peer.peerId).filter((c) => c.limits == null && c.status !== 'closed').length
    for (let waited = 0; (direct(a, b) > 0 || direct(b, a) > 0) && waited < 10_000; waited += 10) await new Promise((r) => setTimeout(r, 10))
    return { retransmits: counts.retransmits - before.retransmits, handshakes: counts.handshakes - before.handshakes }
  }

  it('with the roles node-datachannel picks itself (dtlsClient: \'answerer\' at both ends), dials need DTLS retransmissions: the count sees the one-second mode', async () => {
    const [alice, bob] = await pair('answerer')
    // about half of such dials retransmit; stop at the first (30 dials without one: ~1e-9 at that rate)
    let seen = 0
    for (let i = 0; i < 30 && seen === 0; i++) {
      const d = await dialOnce(alice, bob)
      expect(d.handshakes).toBeGreaterThanOrEqual(2)
      seen += d.retransmits
    }
    expect(seen).toBeGreaterThan(0)
  })

  it('createMeshNode() (the offerer is the DTLS client): 12 dials, 24 handshakes, no DTLS retransmission', async () => {
    const [alice, bob] = await pair('offerer')
    let retransmits = 0
    let handshakes = 0
    for (let i = 0; i < 12; i++) {
      // alternate who dials: each node is the offerer and the answerer in turn
      const d = i % 2 === 0 ? await dialOnce(alice, bob) : await dialOnce(bob, alice)
      retransmits += d.retransmits
      handshakes += d.handshakes
    }
    expect(handshakes).toBeGreaterThanOrEqual(24)
    expect(retransmits).toBe(0)
  })
})
