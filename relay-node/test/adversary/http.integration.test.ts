import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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
import type { Libp2p } from '@libp2p/interface'
import type { Socket } from 'node:net'

// Descriptor exhaustion (issue 13, item 5) and the exposed HTTP port (item 10) as a stranger
// does it: raw sockets with partial HTTP requests on the WebSocket port and on the HTTP port,
// against a real relay node in this process with its default limits, while a stock js-libp2p
// peer (upstream @libp2p/* only) connects and /healthz is asked. Attackers come from 127.x
// addresses, the legitimate peer from 10.213.0.1 (scripts/netns.sh puts it on al0), so
// per-address limits tell them apart. Every wait is bounded; every socket and node is closed in
// afterEach.

const OTHER_ADDRESS = '10.213.0.1'
const NETNS = process.env.AURALINK_NETNS === '1'
const PING = '/ipfs/ping/1.0.0'
const TOKEN = 'metrics-token-for-the-test-0123456789'

const sleep = async (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** A raw socket that sent a partial request: when it closed (ms after it was opened, or undefined) and what it was answered. */
interface Partial { socket: Socket, closedAfter?: number, answer: string }

describe.skipIf(!NETNS)('HTTP listeners against partial requests (needs scripts/netns.sh for more source addresses; skipped outside it)', () => {
  const sockets: Socket[] = []
  const nodes: Libp2p[] = []
  let relay: RelayNode | undefined
  let dir: string | undefined
  let lines: string[] = []
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy()
    await Promise.all(nodes.splice(0).map(async (n) => n.stop()))
    await relay?.stop()
    relay = undefined
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
    dir = undefined
  })

  const startRelay = async (init: RelayNodeInit = {}): Promise<{ relay: RelayNode, port: number, httpPort: number, id: string }> => {
    dir = await mkdtemp(join(tmpdir(), 'auralink-http-'))
    lines = []
    const logger = pino({ level: 'trace' }, { write: (s: string) => { lines.push(s) } })
    relay = await createRelayNode({ host: '0.0.0.0', port: 0, httpPort: 0, dataDir: dir, logger, ...init })
    await relay.start()
    const port = Number(/\/tcp\/(\d+)\//.exec(relay.multiaddrs[0]!)?.[1])
    const httpPort = Number(new URL(relay.httpUrl).port)
    return { relay, port, httpPort, id: relay.libp2p.peerId.toString() }
  }
  /** The relay's counter `auralink_relay_connections_refused_total{listener, reason}`, read in-process (the HTTP port may be the one under attack). */
  const refused = async (listener: string, reason: string): Promise<number> => {
    const m = new RegExp(`^auralink_relay_connections_refused_total\\{listener="${listener}",reason="${reason}"\\} (\\d+)$`, 'm').exec(await relay!.metrics.text())
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
  /** `count` sockets from `from` to `port`, each sending the start of a request and never its end; resolves once all are connected (bounded). */
  const partials = async (port: number, count: number, from: string): Promise<Partial[]> => {
    return Promise.all(Array.from({ length: count }, async () => {
      const opened = Date.now()
      const socket = connect({ host: '127.0.0.1', port, localAddress: from })
      sockets.push(socket)
      const p: Partial = { socket, answer: '' }
      socket.on('error', () => {})
      socket.on('data', (d: Buffer) => { p.answer += d.toString('latin1') })
      socket.once('close', () => { p.closedAfter = Date.now() - opened })
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 5000)
        socket.once('connect', () => {
          socket.write('GET /healthz HTTP/1.1\r\nHost: relay\r\nX-Slow: ')
          clearTimeout(timer)
          resolve()
        })
        socket.once('close', () => { clearTimeout(timer); resolve() })
      })
      return p
    }))
  }
  const open = (ps: Partial[]): number => ps.filter((p) => p.closedAfter === undefined).length
  const peer = async (): Promise<Libp2p> => {
    const node = await createLibp2p({
      transports: [webSockets()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionGater: { denyDialMultiaddr: () => false },
      services: { identify: identify() }
    })
    nodes.push(node)
    return node
  }
  /** Dials from the legitimate address and pings over the connection, bounded at 10 s: true when it worked. */
  const served = async (port: number, id: string): Promise<boolean> => {
    try {
      const signal = AbortSignal.timeout(10_000)
      const node = await peer()
      const connection = await node.dial(multiaddr(`/ip4/${OTHER_ADDRESS}/tcp/${port}/ws/p2p/${id}`), { signal })
      const stream = await connection.newStream(PING, { signal })
      stream.send(randomBytes(32))
      let echoed = 0
      for await (const chunk of stream) {
        echoed += chunk.byteLength
        if (echoed >= 32) break
      }
      await stream.close({ signal }).catch(() => {})
      await node.stop()
      return echoed === 32
    } catch {
      return false
    }
  }
  const healthz = async (base: string): Promise<number | string> => {
    try {
      return (await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(5000) })).status
    } catch (err) {
      return ((err as Error).cause as Error | undefined)?.message ?? (err as Error).message
    }
  }

  it('partial HTTP requests on the WebSocket port from one address: past --max-sockets-per-address (64) closed at once, the rest after --headers-timeout-ms; a stock peer from another address connects and /healthz answers meanwhile', async () => {
    const { port, id } = await startRelay()
    const cap = DEFAULTS.maxSocketsPerAddress
    const attack = await partials(port, cap + 36, '127.0.0.1')
    expect(await until(() => open(attack), (n) => n <= cap, 5000)).toBe(cap)
    expect(await refused('websocket', 'sockets_per_address')).toBe(36)

    expect(await served(port, id)).toBe(true)
    expect(await healthz(relay!.httpUrl)).toBe(200)

    // the rest go after the headers timeout (10 s), not at the old 60 s or never
    expect(await until(() => open(attack), (n) => n === 0, DEFAULTS.headersTimeoutMs + 10_000)).toBe(0)
    const late = attack.filter((p) => (p.closedAfter ?? 0) >= DEFAULTS.headersTimeoutMs - 1000)
    expect(late.length).toBe(cap)
    expect(await refused('websocket', 'headers_timeout')).toBe(cap)
  })

  it('sockets with partial requests on the WebSocket port from 17 addresses: past --max-sockets (1024) closed at once and counted; all gone after --headers-timeout-ms, then a stock peer connects', async () => {
    const { port, id } = await startRelay()
    const per = DEFAULTS.maxSocketsPerAddress
    const attack: Partial[] = []
    for (let a = 2; a < 19; a++) attack.push(...await partials(port, per, `127.0.0.${a}`))
    expect(attack.length).toBeGreaterThan(DEFAULTS.maxSockets)
    expect(await until(() => open(attack), (n) => n <= DEFAULTS.maxSockets, 5000)).toBe(DEFAULTS.maxSockets)
    expect(await refused('websocket', 'max_sockets')).toBe(attack.length - DEFAULTS.maxSockets)
    expect(await until(() => open(attack), (n) => n === 0, DEFAULTS.headersTimeoutMs + 10_000)).toBe(0)
    expect(await until(async () => served(port, id), (ok) => ok, 10_000)).toBe(true)
  })

  it('partial requests on the HTTP port: past --http-max-connections-per-address (8) closed at once, the rest answered 408 after --headers-timeout-ms; /healthz answers another address meanwhile', async () => {
    const { httpPort } = await startRelay({ httpHost: '0.0.0.0' })
    const cap = DEFAULTS.httpMaxConnectionsPerAddress
    const attack = await partials(httpPort, cap + 32, '127.0.0.1')
    expect(await until(() => open(attack), (n) => n <= cap, 5000)).toBe(cap)
    expect(await refused('http', 'sockets_per_address')).toBe(32)
    expect(await healthz(`http://${OTHER_ADDRESS}:${httpPort}`)).toBe(200)

    expect(await until(() => open(attack), (n) => n === 0, DEFAULTS.headersTimeoutMs + 10_000)).toBe(0)
    const timedOut = attack.filter((p) => p.answer.startsWith('HTTP/1.1 408'))
    expect(timedOut.length).toBe(cap)
    expect(await refused('http', 'headers_timeout')).toBe(cap)
  })

  it('partial requests on the HTTP port from 9 addresses: past --http-max-connections (64) closed at once and counted; /healthz answers once they time out', async () => {
    const { httpPort } = await startRelay({ httpHost: '0.0.0.0' })
    const per = DEFAULTS.httpMaxConnectionsPerAddress
    const attack: Partial[] = []
    for (let a = 2; a < 11; a++) attack.push(...await partials(httpPort, per, `127.0.0.${a}`))
    expect(await until(() => open(attack), (n) => n <= DEFAULTS.httpMaxConnections, 5000)).toBe(DEFAULTS.httpMaxConnections)
    expect(await refused('http', 'max_sockets')).toBe(attack.length - DEFAULTS.httpMaxConnections)
    expect(await until(() => open(attack), (n) => n === 0, DEFAULTS.headersTimeoutMs + 10_000)).toBe(0)
    expect(await healthz(`http://${OTHER_ADDRESS}:${httpPort}`)).toBe(200)
  })

  it('createRelayNode({ host: "0.0.0.0" }) keeps the HTTP port on 127.0.0.1 (--http-host): /healthz is not reachable at another address, while the WebSocket port is', async () => {
    const { port, httpPort, id } = await startRelay()
    expect(relay!.httpUrl).toBe(`http://127.0.0.1:${httpPort}`)
    expect(await healthz(relay!.httpUrl)).toBe(200)
    expect(await healthz(`http://${OTHER_ADDRESS}:${httpPort}`)).toMatch(/ECONNREFUSED/)
    expect(await served(port, id)).toBe(true)
  })

  it('GET /metrics with --metrics-token: 401 with WWW-Authenticate without the token or with another, 200 with it; /healthz stays open; the token is in no log line', async () => {
    await startRelay({ metricsToken: TOKEN })
    const get = async (path: string, authorization?: string): Promise<Response> =>
      fetch(`${relay!.httpUrl}${path}`, { signal: AbortSignal.timeout(5000), ...(authorization !== undefined ? { headers: { authorization } } : {}) })

    const none = await get('/metrics')
    expect(none.status).toBe(401)
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="auralink-relay"')
    const wrong = await get('/metrics', `Bearer ${TOKEN.slice(0, -1)}x`)
    expect(wrong.status).toBe(401)
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Bearer realm="auralink-relay", error="invalid_token"$/)
    expect(await (await get('/metrics', 'Basic dXNlcjpwYXNz')).status).toBe(401)
    const right = await get('/metrics', `Bearer ${TOKEN}`)
    expect(right.status).toBe(200)
    expect(await right.text()).toMatch(/^auralink_relay_connections /m)

    const health = await get('/healthz')
    expect(health.status).toBe(200)
    expect(await health.text()).not.toContain(TOKEN)
    expect(lines.length).toBeGreaterThan(0)
    for (const line of lines) expect(line).not.toContain(TOKEN)
  })
})
