import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { createHttpServer } from '../src/http.js'
import { createRelayNode, DataDirError, InvalidStateError, KEY_FILE, RelayMetrics } from '../src/index.js'
import type { RelayNode } from '../src/index.js'
import type { Server } from 'node:http'

interface LogLine { msg: string, level: number, [k: string]: unknown }

function capture (): { logger: pino.Logger, lines: LogLine[] } {
  const lines: LogLine[] = []
  const logger = pino({ level: 'info' }, { write: (s: string) => { lines.push(JSON.parse(s) as LogLine) } })
  return { logger, lines }
}

describe('createRelayNode', () => {
  const nodes: RelayNode[] = []
  const servers: Server[] = []
  const dirs: string[] = []
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async (n) => n.stop()))
    for (const s of servers.splice(0)) s.close()
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
  })
  const tmp = async (): Promise<string> => { const d = await mkdtemp(join(tmpdir(), 'auralink-node-')); dirs.push(d); return d }
  const make = async (init: Parameters<typeof createRelayNode>[0]): Promise<RelayNode> => {
    const n = await createRelayNode({ port: 0, httpPort: 0, logger: capture().logger, ...init })
    nodes.push(n)
    return n
  }

  it('createRelayNode({ dataDir }) returns { libp2p, datastore, metrics, http, config, multiaddrs, httpUrl, start, stop } and listens only after start()', async () => {
    const dataDir = await tmp()
    const relay = await make({ dataDir })
    expect(relay.http.listening).toBe(false)
    expect(relay.httpUrl).toBe('')
    expect(relay.multiaddrs).toEqual([])
    expect(relay.config).toMatchObject({ host: '127.0.0.1', dataDir, maxReservations: 128 })
    await relay.start()
    expect(relay.http.listening).toBe(true)
    expect(relay.multiaddrs).toHaveLength(1)
    expect(relay.multiaddrs[0]).toMatch(new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/\\d+/ws/p2p/${relay.libp2p.peerId.toString()}$`))
    expect(relay.httpUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(relay.libp2p.services.relay.reservations.size).toBe(0)
  })

  it('GET /healthz answers 200 { status: "ok", peerId, uptimeSeconds, reservations } and /metrics names every AuraLink metric', async () => {
    const relay = await make({ dataDir: await tmp() })
    await relay.start()
    const health = await fetch(`${relay.httpUrl}/healthz`)
    expect(health.status).toBe(200)
    expect(health.headers.get('content-type')).toBe('application/json')
    const body = await health.json() as Record<string, unknown>
    expect(body).toMatchObject({ status: 'ok', peerId: relay.libp2p.peerId.toString(), reservations: 0, connections: 0, names: 0 })
    expect(typeof body.uptimeSeconds).toBe('number')
    relay.metrics.directoryOperation('register', 'ok')
    relay.metrics.error('relay')
    const text = await (await fetch(`${relay.httpUrl}/metrics`)).text()
    expect(text).toMatch(/^auralink_relay_reservations 0$/m)
    expect(text).toMatch(/^auralink_relay_connections 0$/m)
    expect(text).toMatch(/^auralink_directory_names 0$/m)
    expect(text).toMatch(/^auralink_directory_operations_total\{op="register",outcome="ok"\} 1$/m)
    expect(text).toMatch(/^auralink_errors_total\{kind="relay"\} 1$/m)
    expect(text).toContain('process_cpu_seconds_total')
    expect((await fetch(`${relay.httpUrl}/healthz`, { method: 'POST' })).status).toBe(405)
  })

  it('start() and stop() are idempotent, and start() after stop() rejects with InvalidStateError', async () => {
    const { logger, lines } = capture()
    const relay = await make({ dataDir: await tmp(), logger })
    await Promise.all([relay.start(), relay.start()])
    await relay.start()
    await Promise.all([relay.stop(), relay.stop()])
    await relay.stop()
    expect(relay.http.listening).toBe(false)
    expect(relay.libp2p.status).toBe('stopped')
    await expect(relay.start()).rejects.toThrow(InvalidStateError)
    await expect(relay.start()).rejects.toHaveProperty('name', 'InvalidStateError')
    // one info line per lifecycle change, in order, each once
    expect(lines.filter((l) => l.level === 30).map((l) => l.msg)).toEqual(['starting', 'http listening', 'listening', 'stopping', 'stopped'])
  })

  it('stop() before start() releases the datastore so another node can open the same data dir', async () => {
    const dataDir = await tmp()
    const a = await make({ dataDir })
    await a.stop()
    const b = await make({ dataDir })
    await b.start()
    expect(b.libp2p.peerId.equals(a.libp2p.peerId)).toBe(true)
  })

  it('createRelayNode() stores an Ed25519 key in <dataDir>/relay.key (0600, libp2p protobuf) and keeps the PeerId across restarts', async () => {
    const dataDir = await tmp()
    const a = await make({ dataDir })
    await a.start()
    const peerId = a.libp2p.peerId.toString()
    await a.stop()
    const file = join(dataDir, KEY_FILE)
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    const key = privateKeyFromProtobuf(await readFile(file))
    expect(key.type).toBe('Ed25519')
    expect(key.publicKey.equals(a.libp2p.peerId.publicKey)).toBe(true)
    const b = await make({ dataDir })
    expect(b.libp2p.peerId.toString()).toBe(peerId)
  })

  it('createRelayNode() rejects with DataDirError naming the path and the OS reason when the data dir is under a file', async () => {
    const dir = await tmp()
    await writeFile(join(dir, 'file'), 'x')
    const bad = join(dir, 'file', 'relay')
    const err = await createRelayNode({ dataDir: bad, logger: capture().logger }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(DataDirError)
    expect((err as Error).name).toBe('DataDirError')
    expect((err as Error).message).toBe(`cannot use data dir ${bad}: a part of the path is a file (ENOTDIR)`)
  })

  it.each([
    [{ port: 70000 }, 'init.port: 70000 is not a port'],
    [{ port: -1 }, 'init.port: -1 is not a whole number'],
    [{ httpPort: 1.5 }, 'init.httpPort: 1.5 is not a whole number'],
    [{ maxReservations: 'lots' }, 'init.maxReservations: "lots" is not a whole number'],
    [{ host: '' }, 'init.host: "" is not a non-empty string'],
    [{ logLevel: 'loud' }, 'init.logLevel: "loud" is not a log level'],
    [{ announce: ['nope'] }, 'init.announce: "nope" is not a multiaddr'],
    [{ colour: 'blue' }, 'init.colour: unknown setting']
  ])('createRelayNode(%j) rejects with TypeError naming the setting and the value, before touching the disk', async (init, message) => {
    const dataDir = join(await tmp(), 'never-made')
    const err = await createRelayNode({ dataDir, logger: capture().logger, ...init } as Parameters<typeof createRelayNode>[0]).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TypeError)
    expect((err as Error).message).toContain(message)
    await expect(stat(dataDir)).rejects.toThrow(/ENOENT/)
  })

  it('createRelayNode() rejects with DataDirError naming the key file when relay.key is corrupt', async () => {
    const dataDir = await tmp()
    await writeFile(join(dataDir, KEY_FILE), 'not a key')
    await expect(createRelayNode({ dataDir, logger: capture().logger })).rejects.toThrow(DataDirError)
    await expect(createRelayNode({ dataDir, logger: capture().logger })).rejects.toThrow(`cannot read the relay key ${join(dataDir, KEY_FILE)}`)
  })

  it('start() rejects with PortInUseError naming host:port, and leaves the data dir usable', async () => {
    const dataDir = await tmp()
    const first = await make({ dataDir: await tmp() })
    await first.start()
    const port = Number(new URL(first.httpUrl).port)
    const second = await make({ dataDir, httpPort: port })
    const err = await second.start().catch((e: unknown) => e)
    expect((err as Error).name).toBe('PortInUseError')
    expect((err as Error).message).toContain(`HTTP port 127.0.0.1:${port} is in use`)
    await second.stop()
    const third = await make({ dataDir })
    await third.start()
  })
})

describe('createHttpServer', () => {
  it('GET /healthz answers 503 { status: "unavailable" } while the relay is not serving', async () => {
    const metrics = new RelayMetrics({ reservations: () => 0, connections: () => 0, names: async () => 0 })
    const server = createHttpServer(metrics, { ready: () => false, health: async () => ({ peerId: 'x' }) })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const { port } = server.address() as { port: number }
      const res = await fetch(`http://127.0.0.1:${port}/healthz`)
      expect(res.status).toBe(503)
      expect(await res.json()).toEqual({ status: 'unavailable' })
      expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404)
    } finally {
      server.closeAllConnections()
      server.close()
    }
  })

  it('GET /healthz answers 500 and counts auralink_errors_total{kind="http"} when the health source throws', async () => {
    const metrics = new RelayMetrics({ reservations: () => 0, connections: () => 0, names: async () => 0 })
    const server = createHttpServer(metrics, { ready: () => true, health: async () => { throw new Error('boom') } })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const { port } = server.address() as { port: number }
      const res = await fetch(`http://127.0.0.1:${port}/healthz`)
      expect(res.status).toBe(500)
      expect(await metrics.text()).toMatch(/^auralink_errors_total\{kind="http"\} 1$/m)
    } finally {
      server.closeAllConnections()
      server.close()
    }
  })
})
