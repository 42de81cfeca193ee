/**
 * The adversary suite's harness: everything around an attack, so that each test file holds only
 * its attack and its checks. A real relay node in this process (or the auralink-relay CLI as a
 * child process) in a temp dir, stock js-libp2p peers, the directory and circuit relay v2 spoken
 * as raw length-prefixed messages, /metrics read back, bounded polling, and one `cleanup()` for
 * `afterEach`.
 *
 * The attackers stay stock: peers are built only from upstream `@libp2p/*` packages, and AuraLink's
 * protocols are spoken only through `@auralink/protocol`'s encoders and decoders and
 * `@auralink/identity`'s records (the wire formats); no AuraLink networking code.
 *
 * Everything started here is tracked (vitest gives each test file its own module) and released
 * by `cleanup()`: cleanup callbacks, raw sockets, peers, relays, child processes, temp dirs.
 * Every wait is bounded.
 *
 * @example
 * ```ts
 * afterEach(cleanup)
 * it('...', async () => {
 *   const { relay, addr } = await startRelay({ directoryWriteLimit: 3 })
 *   const attacker = await stockPeer()
 *   expect(await register(attacker, addr, await generateIdentityKey(), '@flood.aura')).toBe(DirectoryError.DIRECTORY_ERROR_NONE)
 *   expect(await metric(relay, 'auralink_relay_limit_hits_total', { limit: 'directory_writes' })).toBe(0)
 * })
 * ```
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve as resolvePath } from 'node:path'
import { createRecord } from '@auralink/identity'
import {
  decodeDirectoryResponse, DIRECTORY_PROTOCOL, DirectoryError, DirectoryOp, encodeDirectoryRequest, MAX_DIRECTORY_RESPONSE_BYTES
} from '@auralink/protocol'
import { circuitRelayTransport, RELAY_V2_HOP_CODEC } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { lpStream } from '@libp2p/utils'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { pino } from 'pino'
import { createRelayNode } from '../../src/index.js'
import type { RelayNode, RelayNodeInit } from '../../src/index.js'
import type { CreateRecordInit, Ed25519PrivateKey } from '@auralink/identity'
import type { DirectoryRequestFields, DirectoryResponseFields } from '@auralink/protocol'
import type { Identify } from '@libp2p/identify'
import type { Libp2p, PrivateKey, ServiceMap } from '@libp2p/interface'
import type { ServiceFactoryMap } from 'libp2p'
import type { ChildProcess } from 'node:child_process'
import type { Socket } from 'node:net'

/** The address scripts/netns.sh puts on al0: a legitimate peer dials it, so its connections come from it, not 127.0.0.1. */
export const OTHER_ADDRESS = '10.213.0.1'
/** True inside scripts/netns.sh (where OTHER_ADDRESS and more 127.x source addresses exist). */
export const NETNS = process.env.AURALINK_NETNS === '1'
/** Circuit relay v2 status codes (the HopMessage `status` field, number 5). */
export const HOP_STATUS = { OK: 100, RESERVATION_REFUSED: 200, PERMISSION_DENIED: 202 } as const

const PING = '/ipfs/ping/1.0.0'
const ECHO = '/adversary/echo/1.0.0'
const CLI = resolvePath(import.meta.dirname, '../../dist/cli.js')

const callbacks: Array<() => void> = []
const sockets = new Set<Socket>()
const peers: Libp2p[] = []
const relays: RelayNode[] = []
const children: CliRun[] = []
const dirs: string[] = []

/** Resolves after `ms`: pacing between an attacker's steps, never a wait for a condition (use `until`). */
export const sleep = async (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Runs `fn` first thing in the next `cleanup()` (stop a loop the test started). */
export function onCleanup (fn: () => void): void {
  callbacks.push(fn)
}

/** Releases everything started since the last call; pass it to `afterEach`. */
export async function cleanup (): Promise<void> {
  for (const fn of callbacks.splice(0)) fn()
  for (const s of [...sockets]) s.destroy()
  sockets.clear()
  await Promise.all(peers.splice(0).map(async (n) => n.stop()))
  for (const r of relays.splice(0)) await r.stop()
  for (const r of children.splice(0)) {
    if (r.child.exitCode === null && r.child.signalCode === null) { r.child.kill('SIGKILL'); await r.exit }
  }
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
}

/** A new temp dir, removed by `cleanup()`. */
export async function tempDir (prefix = 'auralink-adversary-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  dirs.push(dir)
  return dir
}

/** One pino JSON line the relay logged. */
export interface LogRecord { level: number, msg: string, [field: string]: unknown }

export interface StartRelayOptions {
  /** Capture the relay's pino JSON lines from this level up in `log`. @default nothing is logged */
  log?: 'trace' | 'debug'
}

export interface StartedRelay {
  relay: RelayNode
  /** The first libp2p multiaddr, ending in /p2p/<relay peer id>. */
  addr: string
  /** The WebSocket (libp2p) port. */
  port: number
  httpPort: number
  /** The relay's peer id. */
  id: string
  /** The captured log (empty unless `log` was asked for): raw lines, and `records()` parsed. */
  log: { lines: string[], records: () => LogRecord[] }
}

/**
 * A started relay node in this process: `{ port: 0, httpPort: 0 }`, a temp data dir (unless
 * `init.dataDir` names one), a silent or capturing pino logger, then `init`. Stopped by `cleanup()`
 * (and stopping it earlier is fine).
 */
export async function startRelay (init: RelayNodeInit = {}, options: StartRelayOptions = {}): Promise<StartedRelay> {
  const dataDir = init.dataDir ?? await tempDir()
  const lines: string[] = []
  const logger = options.log === undefined ? pino({ level: 'silent' }) : pino({ level: options.log }, { write: (s: string) => { lines.push(s) } })
  const relay = await createRelayNode({ port: 0, httpPort: 0, dataDir, logger, ...init })
  relays.push(relay)
  await relay.start()
  const addr = relay.multiaddrs[0]!
  return {
    relay,
    addr,
    port: Number(/\/tcp\/(\d+)\//.exec(addr)?.[1]),
    httpPort: Number(new URL(relay.httpUrl).port),
    id: relay.libp2p.peerId.toString(),
    log: { lines, records: () => lines.map((l) => JSON.parse(l) as LogRecord) }
  }
}

export interface StockPeerOptions<T extends ServiceMap> {
  /** Addresses to listen on (a `<relay>/p2p-circuit` one needs `circuit`). @default [] */
  listen?: string[]
  /** @default a new Ed25519 key */
  privateKey?: PrivateKey
  /** Add @libp2p/circuit-relay-v2's transport, to dial and listen on /p2p-circuit addresses. @default false */
  circuit?: boolean
  /** Upstream services beside identify (kad-dht, ping). @default {} */
  services?: ServiceFactoryMap<T>
}

/**
 * A stock js-libp2p node, started: WebSockets (and circuit relay v2 with `circuit`), Noise, yamux,
 * identify, a gater that lets it dial loopback. Stopped by `cleanup()`.
 */
export async function stockPeer<T extends ServiceMap = Record<string, never>> (options: StockPeerOptions<T> = {}): Promise<Libp2p<T & { identify: Identify }>> {
  const node = await createLibp2p<T & { identify: Identify }>({
    ...(options.privateKey !== undefined ? { privateKey: options.privateKey } : {}),
    addresses: { listen: options.listen ?? [] },
    transports: options.circuit === true ? [webSockets(), circuitRelayTransport()] : [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: () => false },
    services: { identify: identify(), ...options.services } as ServiceFactoryMap<T & { identify: Identify }>
  })
  peers.push(node)
  return node
}

/** A raw TCP socket from `localAddress` to 127.0.0.1:`port`; errors ignored, destroyed by `cleanup()`. */
export function rawSocket (port: number, localAddress = '127.0.0.1'): Socket {
  const socket = connect({ host: '127.0.0.1', port, localAddress })
  sockets.add(socket)
  socket.on('error', () => {})
  socket.once('close', () => { sockets.delete(socket) })
  return socket
}

/** One directory request on a new stream, as raw length-prefixed protobuf: the decoded response; bounded at 10 s. */
export async function directory (node: Libp2p, addr: string, request: DirectoryRequestFields): Promise<DirectoryResponseFields> {
  const signal = AbortSignal.timeout(10_000)
  const stream = await node.dialProtocol(multiaddr(addr), DIRECTORY_PROTOCOL, { signal })
  const lp = lpStream(stream, { maxDataLength: MAX_DIRECTORY_RESPONSE_BYTES })
  await lp.write(encodeDirectoryRequest(request), { signal })
  const response = decodeDirectoryResponse((await lp.read({ signal })).subarray())
  await stream.close({ signal }).catch(() => { stream.abort(new Error('closed')) })
  return response
}

/** The response's error code, DIRECTORY_ERROR_NONE when it has none. */
export const errorOf = (response: DirectoryResponseFields): number => response.error ?? DirectoryError.DIRECTORY_ERROR_NONE

/**
 * REGISTER (or `op`) of a record signed by `key` for `record` (a name, or createRecord's init):
 * the error code the relay answers.
 */
export async function register (node: Libp2p, addr: string, key: Ed25519PrivateKey, record: string | CreateRecordInit, op: DirectoryOp = DirectoryOp.DIRECTORY_OP_REGISTER): Promise<number> {
  const bytes = (await createRecord(key, typeof record === 'string' ? { name: record } : record)).bytes
  return errorOf(await directory(node, addr, { op, record: bytes }))
}

/** RESOLVE of `name`: the error code the relay answers (NONE when it found it). */
export async function resolve (node: Libp2p, addr: string, name: string): Promise<number> {
  return errorOf(await directory(node, addr, { op: DirectoryOp.DIRECTORY_OP_RESOLVE, name }))
}

/** The varint field `field` of a protobuf message, or undefined. */
function varintField (bytes: Uint8Array, field: number): number | undefined {
  let i = 0
  const varint = (): number => {
    let v = 0
    for (let shift = 0; ; shift += 7) {
      const b = bytes[i++]
      if (b === undefined) throw new Error('truncated protobuf')
      v += (b & 0x7f) * 2 ** shift
      if ((b & 0x80) === 0) return v
    }
  }
  while (i < bytes.length) {
    const tag = varint()
    if ((tag & 7) === 0) {
      const v = varint()
      if (tag >>> 3 === field) return v
    } else if ((tag & 7) === 2) {
      const length = varint() // read before adding: `i += varint()` would add to the old i
      i += length
    } else {
      throw new Error(`unexpected wire type ${tag & 7}`)
    }
  }
  return undefined
}

/** One circuit relay v2 RESERVE (HopMessage { type: RESERVE }) on a new hop stream: the status the relay answers (see HOP_STATUS); bounded at 10 s. */
export async function reserve (node: Libp2p, addr: string): Promise<number | undefined> {
  const signal = AbortSignal.timeout(10_000)
  const stream = await node.dialProtocol(multiaddr(addr), RELAY_V2_HOP_CODEC, { signal })
  const lp = lpStream(stream)
  await lp.write(Uint8Array.of(0x08, 0x00), { signal })
  const status = varintField((await lp.read({ signal })).subarray(), 5)
  await stream.close({ signal }).catch(() => { stream.abort(new Error('closed')) })
  return status
}

/** A dial (a new connection with `force`), then one libp2p ping over it, bounded at 10 s: true when both worked. */
export async function ping (node: Libp2p, addr: string, options: { force?: boolean } = {}): Promise<boolean> {
  try {
    const signal = AbortSignal.timeout(10_000)
    const connection = await node.dial(multiaddr(addr), { signal, force: options.force ?? false })
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

/** Makes `node` echo every byte on the test's echo protocol, limited (relayed) connections included. */
export async function echoOn (node: Libp2p): Promise<void> {
  await node.handle(ECHO, async (stream) => {
    for await (const chunk of stream) stream.send(chunk)
    await stream.close()
  }, { runOnLimitedConnection: true })
}

/** Bytes `echoOn`'s peer echoes back through `circuit` (the dialer's open connection to it, else a new one), or the error that ended it; bounded at 10 s. */
export async function echo (dialer: Libp2p, circuit: string, size: number): Promise<number | Error> {
  const run = async (): Promise<number> => {
    const signal = AbortSignal.timeout(10_000)
    // the open relayed connection if there is one (js-libp2p dials anew rather than reuse a limited one)
    const target = multiaddr(circuit).getComponents().at(-1)?.value
    const open = dialer.getConnections().find((c) => c.status === 'open' && c.remotePeer.toString() === target)
    const connection = open ?? await dialer.dial(multiaddr(circuit), { signal })
    const stream = await connection.newStream(ECHO, { runOnLimitedConnection: true, signal })
    stream.send(new Uint8Array(size).fill(7))
    await stream.close()
    let n = 0
    for await (const c of stream) n += c.byteLength
    return n
  }
  return Promise.race([
    run().catch((err: unknown) => err as Error),
    new Promise<Error>((resolve) => setTimeout(() => { resolve(new Error('stalled')) }, 10_000))
  ])
}

/**
 * The value of `name{labels}` in the relay's metrics, 0 when it has no such line. Read from GET
 * /metrics (bounded at 5 s), or with `inProcess` from the relay object (when the HTTP port is the
 * one under attack, or the test is not about the endpoint).
 */
export async function metric (relay: RelayNode, name: string, labels: Record<string, string> = {}, options: { inProcess?: boolean } = {}): Promise<number> {
  const text = options.inProcess === true
    ? await relay.metrics.text()
    : await (await fetch(`${relay.httpUrl}/metrics`, { signal: AbortSignal.timeout(5000) })).text()
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',')
  const line = `${name}${pairs === '' ? '' : `{${pairs}}`} `
  const found = text.split('\n').find((l) => l.startsWith(line) && /^\d+$/.test(l.slice(line.length)))
  return found === undefined ? 0 : Number(found.slice(line.length))
}

/**
 * Polls `read` every 100 ms until its value is `want` (or passes `want`, a predicate) or `ms`
 * pass: the last value read, for the test to check.
 */
export async function until<T> (read: () => T | Promise<T>, want: T | ((value: T) => boolean), ms = 30_000): Promise<T> {
  const ok = typeof want === 'function' ? want as (value: T) => boolean : (v: T) => v === want
  const end = Date.now() + ms
  let v = await read()
  while (!ok(v) && Date.now() < end) {
    await sleep(100)
    v = await read()
  }
  return v
}

/** An auralink-relay child process, its stdout and stderr gathered. */
export interface CliRun {
  child: ChildProcess
  /** Everything it wrote so far, stdout and stderr together. */
  out: () => string
  /** Its exit code, once it exits. */
  exit: Promise<number | null>
  /** Polls its output for `re` (at most `ms`): the match; throws with the output if it exits or `ms` pass first. */
  waitFor: (re: RegExp, ms?: number) => Promise<RegExpExecArray>
  /** Its exit code; throws with the output if it is still running after `ms`. */
  exitWithin: (ms: number) => Promise<number | null>
  /** SIGTERM, then its exit code (bounded at 15 s). */
  stop: () => Promise<number | null>
}

/** The built CLI (relay-node/dist/cli.js) with `args`, as a child process; killed by `cleanup()` if still running. */
export function startCli (args: string[]): CliRun {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout!.on('data', (d) => { out += String(d) })
  child.stderr!.on('data', (d) => { out += String(d) })
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => { resolve(code) }))
  const exitWithin = async (ms: number): Promise<number | null> => {
    let timer: NodeJS.Timeout | undefined
    try {
      return await Promise.race([exit, new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`did not exit within ${ms} ms:\n${out}`)) }, ms) })])
    } finally {
      clearTimeout(timer)
    }
  }
  const run: CliRun = {
    child,
    out: () => out,
    exit,
    waitFor: async (re, ms = 30_000) => {
      const end = Date.now() + ms
      while (Date.now() < end) {
        const m = re.exec(out)
        if (m != null) return m
        if (child.exitCode !== null) break
        await sleep(50)
      }
      throw new Error(`no ${re} in output:\n${out}`)
    },
    exitWithin,
    stop: async () => {
      child.kill('SIGTERM')
      return exitWithin(15_000)
    }
  }
  children.push(run)
  return run
}
