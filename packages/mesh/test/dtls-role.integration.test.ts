import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { lpStream } from '@libp2p/utils'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { initLogger } from 'node-datachannel'
import { RTCPeerConnection } from 'node-datachannel/polyfill'
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

  // With our roles the trap needs the answerer's ICE to complete after the offerer's, which it
  // rarely does: 0 of 60 dials in a row under stress-ng's CPU load (scripts/stress.sh, 6 workers).
  // But in a CI run one of 12 dials retransmitted once, and in the log of one we caught (Chromium
  // tests running beside, load average 7) the answerer's ICE reported "connected" about 40 ms
  // after the offerer's, so the offerer's ClientHello was held and replayed as above. So the bound
  // is on how many dials took the extra second: with the old roles about half of 16 do (2 or
  // fewer: 0.2% at one in two); with ours a rare few (3 or more: 0.2% at one in 60, three times
  // the rate we measured with Chromium tests beside, 1 of 180 dials).
  it('createMeshNode() (the offerer is the DTLS client): 16 dials, 32 handshakes, at most 2 of them with a DTLS retransmission', async () => {
    const [alice, bob] = await pair('offerer')
    const retransmits: number[] = []
    let handshakes = 0
    for (let i = 0; i < 16; i++) {
      // alternate who dials: each node is the offerer and the answerer in turn
      const d = i % 2 === 0 ? await dialOnce(alice, bob) : await dialOnce(bob, alice)
      retransmits.push(d.retransmits)
      handshakes += d.handshakes
    }
    expect(handshakes).toBeGreaterThanOrEqual(32)
    expect(retransmits.filter((n) => n > 0).length, `retransmissions per dial: ${retransmits.join(' ')}`).toBeLessThanOrEqual(2)
  })
})

// libp2p's browser-to-browser signalling messages (@libp2p/webrtc's pb/message.proto): field 1 the
// type (0 offer, 1 answer, 2 ICE candidate), field 2 the data; short enough to write by hand here
const SDP_ANSWER = 1
const ICE_CANDIDATE = 2
function encodeMessage (type: number, data: string): Uint8Array {
  const bytes = new TextEncoder().encode(data)
  const len: number[] = []
  for (let n = bytes.length; ; n >>>= 7) { if (n < 0x80) { len.push(n); break } len.push((n & 0x7f) | 0x80) }
  return Uint8Array.from([0x08, type, 0x12, ...len, ...bytes])
}
function decodeMessage (buf: Uint8Array): { type: number, data: string } {
  let i = 0
  let type = 0
  let data = ''
  const varint = (): number => { let v = 0; for (let shift = 0; ; shift += 7) { const b = buf[i++]!; v |= (b & 0x7f) << shift; if (b < 0x80) return v } }
  while (i < buf.length) {
    const tag = varint()
    if (tag === 0x08) type = varint()
    else if (tag === 0x12) { const n = varint(); data = new TextDecoder().decode(buf.subarray(i, i + n)); i += n } else throw new Error(`unexpected field ${tag}`)
  }
  return { type, data }
}

describe.skipIf(!built)('a dial whose peer connection fails during signalling (the built dist)', () => {
  const nodes: MeshNode[] = []
  const others: Libp2p[] = []
  const pcs: RTCPeerConnection[] = []
  afterEach(async () => {
    for (const pc of pcs.splice(0)) pc.close()
    await Promise.all(nodes.splice(0).map(async (n) => n.stop()))
    await Promise.all(others.splice(0).map(async (r) => r.stop()))
  })

  /**
   * A stock libp2p peer with a reservation on `relayAddr` that answers libp2p's WebRTC signalling
   * itself, with node-datachannel, but puts a fingerprint in its answer that is not its
   * certificate's: ICE completes, and the dialler's DTLS refuses the certificate.
   */
  async function forgingAnswerer (relayAddr: string): Promise<Libp2p> {
    const node = await createLibp2p({
      addresses: { listen: ['/p2p-circuit'] },
      transports: [webSockets(), circuitRelayTransport()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: { identify: identify() }
    })
    others.push(node)
    await node.handle('/webrtc-signaling/0.0.1', async (stream) => {
      const lp = lpStream(stream)
      const pc = new RTCPeerConnection({ iceServers: [] })
      pcs.push(pc)
      pc.onicecandidate = ({ candidate }) => {
        if (candidate?.candidate) void lp.write(encodeMessage(ICE_CANDIDATE, JSON.stringify(candidate.toJSON()))).catch(() => {})
      }
      try {
        const offer = decodeMessage((await lp.read()).subarray())
        await pc.setRemoteDescription({ type: 'offer', sdp: offer.data })
        const answer = await pc.createAnswer()
        // the last byte of the certificate's SHA-256 fingerprint, changed
        const forged = answer.sdp.replace(/^(a=fingerprint:sha-256 [0-9A-F:]+:)([0-9A-F]{2})/m, (_: string, head: string, last: string) => `${head}${last === '00' ? '01' : '00'}`)
        expect(forged).not.toBe(answer.sdp)
        await lp.write(encodeMessage(SDP_ANSWER, forged))
        while (true) {
          const msg = decodeMessage((await lp.read()).subarray())
          const init = JSON.parse(msg.data) as RTCIceCandidateInit | null
          if (msg.type === ICE_CANDIDATE && init?.candidate) await pc.addIceCandidate(init)
        }
      } catch {
        // the dialler hung up
      }
    }, { runOnLimitedConnection: true })
    await node.start()
    await node.dial(multiaddr(relayAddr))
    for (let waited = 0; !node.getMultiaddrs().some((a) => a.toString().includes('/p2p-circuit')) && waited < 15_000; waited += 50) await new Promise((r) => setTimeout(r, 50))
    expect(node.getMultiaddrs().some((a) => a.toString().includes('/p2p-circuit'))).toBe(true)
    return node
  }

  it('dial() of a peer whose answer carries a fingerprint that is not its certificate\'s fails with the peer connection\'s failure, not at the attempt\'s timeout', async () => {
    const { createMeshNode } = await import(dist) as { createMeshNode: typeof CreateMeshNode }
    const { relay, addr } = await startStockRelay()
    others.push(relay)
    const liar = await forgingAnswerer(addr)
    // one attempt, with a limit far above what it takes; libp2p's own dial limit is 5 s
    const alice = await createMeshNode({ relays: [addr], relayCheckIntervalMs: 250, dial: { retries: 0, timeoutMs: 60_000 } })
    nodes.push(alice)
    await alice.start()
    await alice.waitForReservation({ signal: AbortSignal.timeout(15_000) })
    const err = await alice.dial(liar.peerId).then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(Error)
    const chain: string[] = []
    for (let e: unknown = err; e instanceof Error; e = e.cause) chain.push(`${e.name}: ${e.message}`)
    // @libp2p/webrtc 6.0.33 as published: the dial waits for a data channel that never opens and
    // ends at libp2p's dial timeout ("The operation was aborted due to timeout")
    expect(chain.join(' <- ')).toMatch(/ConnectionFailedError: RTCPeerConnection connection state became "(failed|closed)"/)
    expect(chain.join(' <- ')).not.toMatch(/timeout|timed out/i)
  })
})
