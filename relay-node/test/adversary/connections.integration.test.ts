import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { createRelayNode, DEFAULTS } from '../../src/index.js'
import type { RelayNode, RelayNodeInit } from '../../src/index.js'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import type { Socket } from 'node:net'

// Connection squatting (issue 13, item 3) as a stranger does it: raw sockets that finish the
// WebSocket upgrade and then say nothing, and stock js-libp2p peers (upstream @libp2p/* only)
// that open more connections than they need, against a real relay node in this process with
// its default limits. The relay listens on 0.0.0.0; attackers come from 127.0.0.1, the
// legitimate peer dials 10.213.0.1 (which scripts/netns.sh puts on al0), so its connections
// come from that address and per-address limits tell them apart. Every wait is bounded; every
// node and socket is closed in afterEach.

/** The address scripts/netns.sh gives al0: the legitimate peer's destination and so its source. */
const OTHER_ADDRESS = '10.213.0.1'
const NETNS = process.env.AURALINK_NETNS === '1'
/** The relay answers libp2p's ping protocol: 32 bytes echoed. */
const PING = '/ipfs/ping/1.0.0'

const sleep = async (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

describe.skipIf(!NETNS)('connection limits against a real relay node (needs scripts/netns.sh for a second source address; skipped outside it)', () => {
  const nodes: Libp2p[] = []
  const sockets: Socket[] = []
  const stops: Array<() => void> = []
  let relay: RelayNode | undefined
  let dir: string | undefined
  afterEach(async () => {
    for (const stop of stops.splice(0)) stop()
    for (const s of sockets.splice(0)) s.destroy()
    await Promise.all(nodes.splice(0).map(async (n) => n.stop()))
    await relay?.stop()
    relay = undefined
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
    dir = undefined
  })

  const startRelay = async (init: RelayNodeInit = {}): Promise<{ relay: RelayNode, port: number, id: string }> => {
    dir = await mkdtemp(join(tmpdir(), 'auralink-connections-'))
    relay = await createRelayNode({ host: '0.0.0.0', port: 0, httpPort: 0, dataDir: dir, logger: pino({ level: 'silent' }), ...init })
    await relay.start()
    const port = Number(/\/tcp\/(\d+)\//.exec(relay.multiaddrs[0]!)?.[1])
    return { relay, port, id: relay.libp2p.peerId.toString() }
  }
  const peer = async (privateKey?: PrivateKey): Promise<Libp2p> => {
    const node = await createLibp2p({
      ...(privateKey !== undefined ? { privateKey } : {}),
      transports: [webSockets()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionGater: { denyDialMultiaddr: () => false },
      services: { identify: identify() }
    })
    nodes.push(node)
    return node
  }
  const metric = async (labels: string): Promise<number> => {
    const text = await (await fetch(`${relay!.httpUrl}/metrics`, { signal: AbortSignal.timeout(5000) })).text()
    const m = new RegExp(`^auralink_relay_connections_refused_total${labels.replace(/[{}]/g, '\\$&')} (\\d+)$`, 'm').exec(text)
    return m === null ? 0 : Number(m[1])
  }
  /** Polls `read` every 100 ms until `ok(value)` or `ms` pass; returns the last value read. */
  const until = async <T>(read: () => Promise<T> | T, ok: (v: T) => boolean, ms = 20_000): Promise<T> => {
    const end = Date.now() + ms
    let v = await read()
    while (!ok(v) && Date.now() < end) {
      await sleep(100)
      v = await read()
    }
    return v
  }
  /** A dial (a new connection with `force`), then one ping over that connection, bounded at 10 s: true when both worked. */
  const dialAndPing = async (node: Libp2p, addr: string, force = false): Promise<boolean> => {
    try {
      const signal = AbortSignal.timeout(10_000)
      const connection = await node.dial(multiaddr(addr), { signal, force })
      const stream = await connection.newStream(PING, { signal })
      stream.send(randomBytes(32))
      let echoed = 0
      for await (const chunk of stream) {
        echoed += chunk.byteLength
        if (echoed >= 32) break
      }
      await stream.close({ signal }).catch(() => {})
      return echoed === 32
    } catch {
      return false
    }
  }

  /**
   * `count` raw sockets from 127.0.0.1, each sending a WebSocket upgrade and then nothing, each
   * opened again 250 ms after the relay closes it, until the test ends. `upgraded` counts the
   * 101 answers.
   */
  const squat = (port: number, count: number): { upgraded: () => number } => {
    let upgraded = 0
    let stopped = false
    stops.push(() => { stopped = true })
    const open = (): void => {
      if (stopped) return
      const socket = connect({ host: '127.0.0.1', port, localAddress: '127.0.0.1' })
      sockets.push(socket)
      socket.on('error', () => {})
      socket.once('connect', () => {
        socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`)
      })
      socket.once('data', (d: Buffer) => { if (d.toString('latin1').startsWith('HTTP/1.1 101')) upgraded++ })
      socket.once('close', () => {
        sockets.splice(sockets.indexOf(socket), 1)
        setTimeout(open, 250)
      })
    }
    for (let i = 0; i < count; i++) open()
    return { upgraded: () => upgraded }
  }

  it('twelve sockets that finish the WebSocket upgrade and never start Noise, renewed as they close: a stock peer from another address still connects 15 times out of 15; /metrics counts pending_per_address and handshake_timeout', async () => {
    const { port, id } = await startRelay()
    const attack = squat(port, 12)
    // the squatters are in place: their upgrades answered, their sockets waiting in the handshake
    expect(await until(() => attack.upgraded(), (n) => n >= 12, 10_000)).toBeGreaterThanOrEqual(12)

    const legitimate = await peer()
    const results: boolean[] = []
    for (let i = 0; i < 15; i++) {
      results.push(await dialAndPing(legitimate, `/ip4/${OTHER_ADDRESS}/tcp/${port}/ws/p2p/${id}`))
      await legitimate.hangUp(multiaddr(`/ip4/${OTHER_ADDRESS}/tcp/${port}/ws/p2p/${id}`)).catch(() => {})
      // a user's client, not a flood: at most 4 connects a second (--inbound-connection-rate is 10)
      await sleep(250)
    }
    expect(results.filter(Boolean).length).toBe(15)

    // at most --max-pending-connections-per-address (4) of the squatters hold a handshake slot; the rest are refused
    expect(await until(async () => metric('{listener="libp2p",reason="pending_per_address"}'), (n) => n > 0)).toBeGreaterThan(0)
    // and those that do are closed after --handshake-timeout-ms (5 s)
    expect(await until(async () => metric('{listener="libp2p",reason="handshake_timeout"}'), (n) => n >= DEFAULTS.maxPendingConnectionsPerAddress)).toBeGreaterThanOrEqual(DEFAULTS.maxPendingConnectionsPerAddress)
  })

  it('dial(relay, { force: true }) eight times with one peer id: the relay keeps --max-connections-per-peer (4), refuses the rest and counts them; another peer connects', async () => {
    const { relay, port, id } = await startRelay()
    const key = await generateKeyPair('Ed25519')
    const attacker = await peer(key)
    const results: boolean[] = []
    for (let i = 0; i < 8; i++) {
      results.push(await dialAndPing(attacker, `/ip4/127.0.0.1/tcp/${port}/ws/p2p/${id}`, true))
      await sleep(200) // under --inbound-connection-rate (10 a second), so only the per-peer cap answers
    }
    expect(results.filter(Boolean).length).toBe(DEFAULTS.maxConnectionsPerPeer)
    expect(relay.libp2p.getConnections(attacker.peerId).length).toBeLessThanOrEqual(DEFAULTS.maxConnectionsPerPeer)
    expect(await metric('{listener="libp2p",reason="connections_per_peer"}')).toBe(8 - DEFAULTS.maxConnectionsPerPeer)

    const legitimate = await peer()
    expect(await dialAndPing(legitimate, `/ip4/${OTHER_ADDRESS}/tcp/${port}/ws/p2p/${id}`)).toBe(true)
  })

  it('nine peer ids from one address, four connections each: the relay keeps --max-connections-per-address (32), refuses the rest and counts them; a peer from another address connects', async () => {
    const { relay, port, id } = await startRelay()
    const attackers = await Promise.all(Array.from({ length: 9 }, async () => peer()))
    let ok = 0
    for (const attacker of attackers) {
      for (let i = 0; i < 4; i++) {
        if (await dialAndPing(attacker, `/ip4/127.0.0.1/tcp/${port}/ws/p2p/${id}`, true)) ok++
        await sleep(150) // under --inbound-connection-rate (10 a second)
      }
    }
    expect(ok).toBe(DEFAULTS.maxConnectionsPerAddress)
    const fromLoopback = relay.libp2p.getConnections().filter((c) => c.remoteAddr.toString().startsWith('/ip4/127.0.0.1/'))
    expect(fromLoopback.length).toBeLessThanOrEqual(DEFAULTS.maxConnectionsPerAddress)
    expect(await metric('{listener="libp2p",reason="connections_per_address"}')).toBe(36 - DEFAULTS.maxConnectionsPerAddress)

    const legitimate = await peer()
    expect(await dialAndPing(legitimate, `/ip4/${OTHER_ADDRESS}/tcp/${port}/ws/p2p/${id}`)).toBe(true)
    // closing connections gives their slots back
    await Promise.all(attackers.map(async (a) => a.hangUp(relay.libp2p.peerId)))
    expect(await until(() => relay.libp2p.getConnections().filter((c) => c.remoteAddr.toString().startsWith('/ip4/127.0.0.1/')).length, (n) => n === 0)).toBe(0)
    expect(await dialAndPing(attackers[0]!, `/ip4/127.0.0.1/tcp/${port}/ws/p2p/${id}`)).toBe(true)
  })
})
