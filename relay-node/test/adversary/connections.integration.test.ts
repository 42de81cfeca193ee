import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import { DEFAULTS } from '../../src/index.js'
import { cleanup, metric, NETNS, onCleanup, OTHER_ADDRESS, ping, rawSocket, sleep, startRelay, stockPeer, until } from './harness.js'
import type { RelayNode } from '../../src/index.js'

// Connection squatting (issue 13, item 3) as a stranger does it: raw sockets that finish the
// WebSocket upgrade and then say nothing, and stock js-libp2p peers (upstream @libp2p/* only)
// that open more connections than they need, against a real relay node in this process with
// its default limits. The relay listens on 0.0.0.0; attackers come from 127.0.0.1, the
// legitimate peer dials 10.213.0.1 (which scripts/netns.sh puts on al0), so its connections
// come from that address and per-address limits tell them apart. Every wait is bounded; every
// node and socket is closed in afterEach.

/** `auralink_relay_connections_refused_total{listener="libp2p",reason}` from GET /metrics. */
const refused = async (relay: RelayNode, reason: string): Promise<number> =>
  metric(relay, 'auralink_relay_connections_refused_total', { listener: 'libp2p', reason })

/**
 * `count` raw sockets from 127.0.0.1, each sending a WebSocket upgrade and then nothing, each
 * opened again 250 ms after the relay closes it, until the test ends. `upgraded` counts the
 * 101 answers.
 */
const squat = (port: number, count: number): { upgraded: () => number } => {
  let upgraded = 0
  let stopped = false
  onCleanup(() => { stopped = true })
  const open = (): void => {
    if (stopped) return
    const socket = rawSocket(port)
    socket.once('connect', () => {
      socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`)
    })
    socket.once('data', (d: Buffer) => { if (d.toString('latin1').startsWith('HTTP/1.1 101')) upgraded++ })
    socket.once('close', () => { setTimeout(open, 250) })
  }
  for (let i = 0; i < count; i++) open()
  return { upgraded: () => upgraded }
}

describe.skipIf(!NETNS)('connection limits against a real relay node (needs scripts/netns.sh for a second source address; skipped outside it)', () => {
  afterEach(cleanup)

  it('twelve sockets that finish the WebSocket upgrade and never start Noise, renewed as they close: a stock peer from another address still connects 15 times out of 15; /metrics counts pending_per_address and handshake_timeout', async () => {
    const { relay, port, id } = await startRelay({ host: '0.0.0.0' })
    const attack = squat(port, 12)
    // the squatters are in place: their upgrades answered, their sockets waiting in the handshake
    expect(await until(() => attack.upgraded(), (n) => n >= 12, 10_000)).toBeGreaterThanOrEqual(12)

    const legitimate = await stockPeer()
    const results: boolean[] = []
    for (let i = 0; i < 15; i++) {
      results.push(await ping(legitimate, `/ip4/${OTHER_ADDRESS}/tcp/${port}/ws/p2p/${id}`))
      await legitimate.hangUp(multiaddr(`/ip4/${OTHER_ADDRESS}/tcp/${port}/ws/p2p/${id}`)).catch(() => {})
      // a user's client, not a flood: at most 4 connects a second (--inbound-connection-rate is 10)
      await sleep(250)
    }
    expect(results.filter(Boolean).length).toBe(15)

    // at most --max-pending-connections-per-address (4) of the squatters hold a handshake slot; the rest are refused
    expect(await until(async () => refused(relay, 'pending_per_address'), (n) => n > 0, 20_000)).toBeGreaterThan(0)
    // and those that do are closed after --handshake-timeout-ms (5 s)
    expect(await until(async () => refused(relay, 'handshake_timeout'), (n) => n >= DEFAULTS.maxPendingConnectionsPerAddress, 20_000)).toBeGreaterThanOrEqual(DEFAULTS.maxPendingConnectionsPerAddress)
  })

  it('dial(relay, { force: true }) eight times with one peer id: the relay keeps --max-connections-per-peer (4), refuses the rest and counts them; another peer connects', async () => {
    const { relay, port, id } = await startRelay({ host: '0.0.0.0' })
    const key = await generateKeyPair('Ed25519')
    const attacker = await stockPeer({ privateKey: key })
    const results: boolean[] = []
    for (let i = 0; i < 8; i++) {
      results.push(await ping(attacker, `/ip4/127.0.0.1/tcp/${port}/ws/p2p/${id}`, { force: true }))
      await sleep(200) // under --inbound-connection-rate (10 a second), so only the per-peer cap answers
    }
    expect(results.filter(Boolean).length).toBe(DEFAULTS.maxConnectionsPerPeer)
    expect(relay.libp2p.getConnections(attacker.peerId).length).toBeLessThanOrEqual(DEFAULTS.maxConnectionsPerPeer)
    expect(await refused(relay, 'connections_per_peer')).toBe(8 - DEFAULTS.maxConnectionsPerPeer)

    const legitimate = await stockPeer()
    expect(await ping(legitimate, `/ip4/${OTHER_ADDRESS}/tcp/${port}/ws/p2p/${id}`)).toBe(true)
  })

  it('nine peer ids from one address, four connections each: the relay keeps --max-connections-per-address (32), refuses the rest and counts them; a peer from another address connects', async () => {
    const { relay, port, id } = await startRelay({ host: '0.0.0.0' })
    const attackers = await Promise.all(Array.from({ length: 9 }, async () => stockPeer()))
    let ok = 0
    for (const attacker of attackers) {
      for (let i = 0; i < 4; i++) {
        if (await ping(attacker, `/ip4/127.0.0.1/tcp/${port}/ws/p2p/${id}`, { force: true })) ok++
        await sleep(150) // under --inbound-connection-rate (10 a second)
      }
    }
    expect(ok).toBe(DEFAULTS.maxConnectionsPerAddress)
    const fromLoopback = relay.libp2p.getConnections().filter((c) => c.remoteAddr.toString().startsWith('/ip4/127.0.0.1/'))
    expect(fromLoopback.length).toBeLessThanOrEqual(DEFAULTS.maxConnectionsPerAddress)
    expect(await refused(relay, 'connections_per_address')).toBe(36 - DEFAULTS.maxConnectionsPerAddress)

    const legitimate = await stockPeer()
    expect(await ping(legitimate, `/ip4/${OTHER_ADDRESS}/tcp/${port}/ws/p2p/${id}`)).toBe(true)
    // closing connections gives their slots back
    await Promise.all(attackers.map(async (a) => a.hangUp(relay.libp2p.peerId)))
    expect(await until(() => relay.libp2p.getConnections().filter((c) => c.remoteAddr.toString().startsWith('/ip4/127.0.0.1/')).length, 0, 20_000)).toBe(0)
    expect(await ping(attackers[0]!, `/ip4/127.0.0.1/tcp/${port}/ws/p2p/${id}`)).toBe(true)
  })
})
