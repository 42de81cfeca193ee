import { afterEach, describe, expect, it } from 'vitest'
import { DEFAULTS } from '../../src/index.js'
import { cleanup, metric, NETNS, OTHER_ADDRESS, ping, rawSocket, startRelay, stockPeer, until } from './harness.js'
import type { RelayNode } from '../../src/index.js'
import type { Socket } from 'node:net'

// Descriptor exhaustion (issue 13, item 5) and the exposed HTTP port (item 10) as a stranger
// does it: raw sockets with partial HTTP requests on the WebSocket port and on the HTTP port,
// against a real relay node in this process with its default limits, while a stock js-libp2p
// peer (upstream @libp2p/* only) connects and /healthz is asked. Attackers come from 127.x
// addresses, the legitimate peer from 10.213.0.1 (scripts/netns.sh puts it on al0), so
// per-address limits tell them apart. Every wait is bounded; every socket and node is closed in
// afterEach.

const TOKEN = 'metrics-token-for-the-test-0123456789'

/** A raw socket that sent a partial request: when it closed (ms after it was opened, or undefined) and what it was answered. */
interface Partial { socket: Socket, closedAfter?: number, answer: string }

/** The relay's counter `auralink_relay_connections_refused_total{listener, reason}`, read in-process (the HTTP port may be the one under attack). */
const refused = async (relay: RelayNode, listener: string, reason: string): Promise<number> =>
  metric(relay, 'auralink_relay_connections_refused_total', { listener, reason }, { inProcess: true })

/** `count` sockets from `from` to `port`, each sending the start of a request and never its end; resolves once all are connected (bounded). */
const partials = async (port: number, count: number, from: string): Promise<Partial[]> => {
  return Promise.all(Array.from({ length: count }, async () => {
    const opened = Date.now()
    const socket = rawSocket(port, from)
    const p: Partial = { socket, answer: '' }
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

/** A new stock peer dials the relay from the legitimate address and pings over the connection, bounded at 10 s: true when it worked. */
const served = async (port: number, id: string): Promise<boolean> => {
  const node = await stockPeer()
  try {
    return await ping(node, `/ip4/${OTHER_ADDRESS}/tcp/${port}/ws/p2p/${id}`)
  } finally {
    await node.stop()
  }
}
/** GET /healthz at `base`: the status, or the error's cause (ECONNREFUSED). */
const healthz = async (base: string): Promise<number | string> => {
  try {
    return (await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(5000) })).status
  } catch (err) {
    return ((err as Error).cause as Error | undefined)?.message ?? (err as Error).message
  }
}

describe.skipIf(!NETNS)('HTTP listeners against partial requests (needs scripts/netns.sh for more source addresses; skipped outside it)', () => {
  afterEach(cleanup)

  it('partial HTTP requests on the WebSocket port from one address: past --max-sockets-per-address (64) closed at once, the rest after --headers-timeout-ms; a stock peer from another address connects and /healthz answers meanwhile', async () => {
    const { relay, port, id } = await startRelay({ host: '0.0.0.0' }, { log: 'trace' })
    const cap = DEFAULTS.maxSocketsPerAddress
    const attack = await partials(port, cap + 36, '127.0.0.1')
    expect(await until(() => open(attack), (n) => n <= cap, 5000)).toBe(cap)
    expect(await refused(relay, 'websocket', 'sockets_per_address')).toBe(36)

    expect(await served(port, id)).toBe(true)
    expect(await healthz(relay.httpUrl)).toBe(200)

    // the rest go after the headers timeout (10 s), not at the old 60 s or never
    expect(await until(() => open(attack), (n) => n === 0, DEFAULTS.headersTimeoutMs + 10_000)).toBe(0)
    const late = attack.filter((p) => (p.closedAfter ?? 0) >= DEFAULTS.headersTimeoutMs - 1000)
    expect(late.length).toBe(cap)
    expect(await refused(relay, 'websocket', 'headers_timeout')).toBe(cap)
  })

  it('sockets with partial requests on the WebSocket port from 17 addresses: past --max-sockets (1024) closed at once and counted; all gone after --headers-timeout-ms, then a stock peer connects', async () => {
    const { relay, port, id } = await startRelay({ host: '0.0.0.0' }, { log: 'trace' })
    const per = DEFAULTS.maxSocketsPerAddress
    const attack: Partial[] = []
    for (let a = 2; a < 19; a++) attack.push(...await partials(port, per, `127.0.0.${a}`))
    expect(attack.length).toBeGreaterThan(DEFAULTS.maxSockets)
    expect(await until(() => open(attack), (n) => n <= DEFAULTS.maxSockets, 5000)).toBe(DEFAULTS.maxSockets)
    expect(await refused(relay, 'websocket', 'max_sockets')).toBe(attack.length - DEFAULTS.maxSockets)
    expect(await until(() => open(attack), (n) => n === 0, DEFAULTS.headersTimeoutMs + 10_000)).toBe(0)
    expect(await until(async () => served(port, id), (ok) => ok, 10_000)).toBe(true)
  })

  it('partial requests on the HTTP port: past --http-max-connections-per-address (8) closed at once, the rest answered 408 after --headers-timeout-ms; /healthz answers another address meanwhile', async () => {
    const { relay, httpPort } = await startRelay({ host: '0.0.0.0', httpHost: '0.0.0.0' }, { log: 'trace' })
    const cap = DEFAULTS.httpMaxConnectionsPerAddress
    const attack = await partials(httpPort, cap + 32, '127.0.0.1')
    expect(await until(() => open(attack), (n) => n <= cap, 5000)).toBe(cap)
    expect(await refused(relay, 'http', 'sockets_per_address')).toBe(32)
    expect(await healthz(`http://${OTHER_ADDRESS}:${httpPort}`)).toBe(200)

    expect(await until(() => open(attack), (n) => n === 0, DEFAULTS.headersTimeoutMs + 10_000)).toBe(0)
    const timedOut = attack.filter((p) => p.answer.startsWith('HTTP/1.1 408'))
    expect(timedOut.length).toBe(cap)
    expect(await refused(relay, 'http', 'headers_timeout')).toBe(cap)
  })

  it('partial requests on the HTTP port from 9 addresses: past --http-max-connections (64) closed at once and counted; /healthz answers once they time out', async () => {
    const { relay, httpPort } = await startRelay({ host: '0.0.0.0', httpHost: '0.0.0.0' }, { log: 'trace' })
    const per = DEFAULTS.httpMaxConnectionsPerAddress
    const attack: Partial[] = []
    for (let a = 2; a < 11; a++) attack.push(...await partials(httpPort, per, `127.0.0.${a}`))
    expect(await until(() => open(attack), (n) => n <= DEFAULTS.httpMaxConnections, 5000)).toBe(DEFAULTS.httpMaxConnections)
    expect(await refused(relay, 'http', 'max_sockets')).toBe(attack.length - DEFAULTS.httpMaxConnections)
    expect(await until(() => open(attack), (n) => n === 0, DEFAULTS.headersTimeoutMs + 10_000)).toBe(0)
    expect(await healthz(`http://${OTHER_ADDRESS}:${httpPort}`)).toBe(200)
  })

  it('createRelayNode({ host: "0.0.0.0" }) keeps the HTTP port on 127.0.0.1 (--http-host): /healthz is not reachable at another address, while the WebSocket port is', async () => {
    const { relay, port, httpPort, id } = await startRelay({ host: '0.0.0.0' }, { log: 'trace' })
    expect(relay.httpUrl).toBe(`http://127.0.0.1:${httpPort}`)
    expect(await healthz(relay.httpUrl)).toBe(200)
    expect(await healthz(`http://${OTHER_ADDRESS}:${httpPort}`)).toMatch(/ECONNREFUSED/)
    expect(await served(port, id)).toBe(true)
  })

  it('GET /metrics with --metrics-token: 401 with WWW-Authenticate without the token or with another, 200 with it; /healthz stays open; the token is in no log line', async () => {
    const { relay, log } = await startRelay({ host: '0.0.0.0', metricsToken: TOKEN }, { log: 'trace' })
    const get = async (path: string, authorization?: string): Promise<Response> =>
      fetch(`${relay.httpUrl}${path}`, { signal: AbortSignal.timeout(5000), ...(authorization !== undefined ? { headers: { authorization } } : {}) })

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
    expect(log.lines.length).toBeGreaterThan(0)
    for (const line of log.lines) expect(line).not.toContain(TOKEN)
  })
})
