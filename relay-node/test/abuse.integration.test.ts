import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRecord, generateIdentityKey } from '@auralink/identity'
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
import { afterEach, describe, expect, it } from 'vitest'
import { createRelayNode } from '../src/index.js'
import type { RelayNode, RelayNodeInit } from '../src/index.js'
import type { Libp2p, PrivateKey } from '@libp2p/interface'

const E = DirectoryError
/** Circuit relay v2 status codes (the HopMessage `status` field, number 5). */
const OK = 100
const PERMISSION_DENIED = 202

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
      const length = varint()
      i += length
    } else {
      throw new Error(`unexpected wire type ${tag & 7}`)
    }
  }
  return undefined
}

// A real relay node in this process and real libp2p peers, on 127.0.0.1 only; every wait is bounded.
describe('relay abuse limits against real libp2p peers', () => {
  const nodes: Libp2p[] = []
  let relay: RelayNode | undefined
  let dir: string | undefined
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async (n) => n.stop()))
    await relay?.stop()
    relay = undefined
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
    dir = undefined
  })

  let lines: Array<{ level: number, msg: string, limit?: string }> = []
  const startRelay = async (init: RelayNodeInit): Promise<{ relay: RelayNode, addr: string }> => {
    dir = await mkdtemp(join(tmpdir(), 'auralink-abuse-'))
    lines = []
    const logger = pino({ level: 'debug' }, { write: (s: string) => { lines.push(JSON.parse(s) as typeof lines[number]) } })
    relay = await createRelayNode({ port: 0, httpPort: 0, dataDir: dir, logger, ...init })
    await relay.start()
    return { relay, addr: relay.multiaddrs[0]! }
  }
  const peer = async (listen: string[] = [], privateKey?: PrivateKey): Promise<Libp2p> => {
    const node = await createLibp2p({
      ...(privateKey !== undefined ? { privateKey } : {}),
      addresses: { listen },
      transports: [webSockets(), circuitRelayTransport()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionGater: { denyDialMultiaddr: () => false },
      services: { identify: identify() }
    })
    nodes.push(node)
    return node
  }
  const limitHits = async (limit: string): Promise<number> => {
    const text = await (await fetch(`${relay!.httpUrl}/metrics`, { signal: AbortSignal.timeout(5000) })).text()
    const m = new RegExp(`^auralink_relay_limit_hits_total\\{limit="${limit}"\\} (\\d+)$`, 'm').exec(text)
    return m === null ? 0 : Number(m[1])
  }
  /** One circuit relay v2 RESERVE on a new hop stream: the status the relay answers. */
  const reserve = async (node: Libp2p, relayAddr: string): Promise<number | undefined> => {
    const signal = AbortSignal.timeout(5000)
    const stream = await node.dialProtocol(multiaddr(relayAddr), RELAY_V2_HOP_CODEC, { signal })
    const lp = lpStream(stream)
    await lp.write(Uint8Array.of(0x08, 0x00), { signal }) // HopMessage { type: RESERVE }
    const status = varintField((await lp.read({ signal })).subarray(), 5)
    await stream.close({ signal }).catch(() => { stream.abort(new Error('closed')) })
    return status
  }
  const register = async (node: Libp2p, relayAddr: string, key: Parameters<typeof createRecord>[0], name: string): Promise<number> => {
    const signal = AbortSignal.timeout(5000)
    const stream = await node.dialProtocol(multiaddr(relayAddr), DIRECTORY_PROTOCOL, { signal })
    const lp = lpStream(stream, { maxDataLength: MAX_DIRECTORY_RESPONSE_BYTES })
    const record = (await createRecord(key, { name })).bytes
    await lp.write(encodeDirectoryRequest({ op: DirectoryOp.DIRECTORY_OP_REGISTER, record }), { signal })
    const response = decodeDirectoryResponse((await lp.read({ signal })).subarray())
    await stream.close({ signal }).catch(() => { stream.abort(new Error('closed')) })
    return response.error ?? E.DIRECTORY_ERROR_NONE
  }
  const circuitsOpen = async (count: number): Promise<void> => {
    const want = new RegExp(`^auralink_relay_circuits\\{kind="all"\\} ${count}$`, 'm')
    const until = Date.now() + 5000
    while (!want.test(await relay!.metrics.text()) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 100))
    expect(await relay!.metrics.text()).toMatch(want)
  }
  const echoOn = async (node: Libp2p): Promise<void> => {
    await node.handle('/abuse/echo/1.0.0', async (stream) => {
      for await (const chunk of stream) stream.send(chunk)
      await stream.close()
    }, { runOnLimitedConnection: true })
  }
  /** Bytes echoed back through the circuit (the dialer's open one, else a new one), or the error that ended it; bounded at 10 s. */
  const echo = async (dialer: Libp2p, circuit: string, size: number): Promise<number | Error> => {
    const run = async (): Promise<number> => {
      const signal = AbortSignal.timeout(10_000)
      // the open relayed connection if there is one (js-libp2p dials anew rather than reuse a limited one)
      const target = multiaddr(circuit).getComponents().at(-1)?.value
      const open = dialer.getConnections().find((c) => c.status === 'open' && c.remotePeer.toString() === target)
      const connection = open ?? await dialer.dial(multiaddr(circuit), { signal })
      const stream = await connection.newStream('/abuse/echo/1.0.0', { runOnLimitedConnection: true, signal })
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

  it('a flood of RESERVE requests from one peer gets PERMISSION_DENIED past --reservation-rate-limit; another peer still reserves; /metrics counts the hits', async () => {
    const { addr } = await startRelay({ reservationRateLimit: 3 })
    const flooder = await peer()
    const statuses: Array<number | undefined> = []
    for (let i = 0; i < 8; i++) statuses.push(await reserve(flooder, addr))
    expect(statuses).toEqual([OK, OK, OK, PERMISSION_DENIED, PERMISSION_DENIED, PERMISSION_DENIED, PERMISSION_DENIED, PERMISSION_DENIED])
    // a second, stock peer reserves as js-libp2p does (listening on the circuit) and is served
    const other = await peer([`${addr}/p2p-circuit`])
    expect(other.getMultiaddrs().map(String)).toContain(`${addr}/p2p-circuit/p2p/${other.peerId.toString()}`)
    expect(await reserve(other, addr)).toBe(OK)
    expect(await limitHits('reservation_rate')).toBe(5)
    // one debug line per refusal, no info line
    expect(lines.filter((l) => l.msg === 'limit hit').map((l) => [l.level, l.limit])).toEqual(new Array(5).fill([20, 'reservation_rate']))
    expect(lines.filter((l) => l.level >= 30).map((l) => l.msg)).toEqual(['starting', 'http listening', 'listening'])
    expect(relay!.libp2p.services.relay.reservations.size).toBe(2)
  })

  it('a flood of directory REGISTERs from one peer gets RATE_LIMITED past --directory-write-limit; another peer registers normally; /metrics counts the hits', async () => {
    const { addr } = await startRelay({ directoryWriteLimit: 3 })
    const flooder = await peer()
    const codes: number[] = []
    for (let i = 0; i < 6; i++) codes.push(await register(flooder, addr, await generateIdentityKey(), `@flood-${i}.aura`))
    expect(codes).toEqual([E.DIRECTORY_ERROR_NONE, E.DIRECTORY_ERROR_NONE, E.DIRECTORY_ERROR_NONE, E.DIRECTORY_ERROR_RATE_LIMITED, E.DIRECTORY_ERROR_RATE_LIMITED, E.DIRECTORY_ERROR_RATE_LIMITED])
    const other = await peer()
    expect(await register(other, addr, await generateIdentityKey(), '@other-peer.aura')).toBe(E.DIRECTORY_ERROR_NONE)
    expect(await limitHits('directory_writes')).toBe(3)
    expect(await relay!.libp2p.services.directory.size()).toBe(4)
  })

  it('--max-anonymous-circuits 1 and --relay-data-limit-anonymous 16384: circuits with no named end are refused past 1 and cut past 16 KiB; once the listener holds a name they get the normal limits', async () => {
    // namedMinAge 0: a name counts at once here (test/adversary/circuits.integration.test.ts tests the age)
    const { addr } = await startRelay({ maxAnonymousCircuits: 1, relayDataLimitAnonymous: 16384, relayDataLimit: 131072, namedMinAge: 0 })
    const key = await generateIdentityKey()
    const listener = await peer([`${addr}/p2p-circuit`], key)
    await echoOn(listener)
    const circuit = `${addr}/p2p-circuit/p2p/${listener.peerId.toString()}`
    const first = await peer()
    expect(await echo(first, circuit, 1000)).toBe(1000)
    // a second anonymous circuit while the first is open: refused, and the dialer sees why
    const second = await peer()
    await expect(second.dial(multiaddr(circuit), { signal: AbortSignal.timeout(10_000) })).rejects.toThrow(/PERMISSION_DENIED/)
    expect(await limitHits('anonymous_circuits')).toBe(1)
    // anonymous: 16 KiB each way is over 16 KiB (both directions count together)
    const cut = await echo(first, circuit, 16384)
    expect(cut).not.toBe(16384)
    // the cut circuit no longer counts
    const until = Date.now() + 5000
    while (!/^auralink_relay_circuits\{kind="anonymous"\} 0$/m.test(await relay!.metrics.text()) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 100))
    expect(await relay!.metrics.text()).toMatch(/^auralink_relay_circuits\{kind="anonymous"\} 0$/m)
    // the listener registers a name at this relay: its circuits are no longer anonymous
    expect(await register(listener, addr, key, '@named-listener.aura')).toBe(E.DIRECTORY_ERROR_NONE)
    const third = await peer()
    expect(await echo(third, circuit, 16384)).toBe(16384)
    expect(relay!.libp2p.services.relay.reservations.size).toBe(1)
  })

  it('--max-circuits-per-peer 1 and --circuit-rate-limit 2: a second circuit to a busy peer and a third new circuit in a minute from one source get PERMISSION_DENIED', async () => {
    const { addr } = await startRelay({ maxCircuitsPerPeer: 1, circuitRateLimit: 2 })
    const listener = await peer([`${addr}/p2p-circuit`])
    await echoOn(listener)
    const circuit = multiaddr(`${addr}/p2p-circuit/p2p/${listener.peerId.toString()}`)
    const [d1, d2] = [await peer(), await peer()]
    const signal = (): AbortSignal => AbortSignal.timeout(10_000)
    const c1 = await d1.dial(circuit, { signal: signal() })
    await circuitsOpen(1)
    await expect(d2.dial(circuit, { signal: signal() })).rejects.toThrow(/PERMISSION_DENIED/)
    expect(await limitHits('circuits_per_peer')).toBe(1)
    await c1.close()
    await circuitsOpen(0)
    await (await d1.dial(circuit, { signal: signal() })).close()
    await circuitsOpen(0)
    await expect(d1.dial(circuit, { signal: signal() })).rejects.toThrow(/PERMISSION_DENIED/)
    expect(await limitHits('circuit_rate')).toBe(1)
    // another source is still served
    expect(await echo(d2, circuit.toString(), 100)).toBe(100)
  })
})
