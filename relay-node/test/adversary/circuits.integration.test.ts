import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRecord, generateIdentityKey } from '@auralink/identity'
import {
  decodeDirectoryResponse, DIRECTORY_PROTOCOL, DirectoryError, DirectoryOp, encodeDirectoryRequest, MAX_DIRECTORY_RESPONSE_BYTES
} from '@auralink/protocol'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { lpStream } from '@libp2p/utils'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { createRelayNode } from '../../src/index.js'
import type { RelayNode, RelayNodeInit } from '../../src/index.js'
import type { DirectoryResponseFields } from '@auralink/protocol'
import type { Libp2p, PrivateKey } from '@libp2p/interface'

// The anonymous-circuit cap one free name away (issue 13, item 6), as a stranger tries it: stock
// js-libp2p peers (upstream @libp2p/* only, the directory spoken with raw protocol messages) and a
// real relay node in this process, on 127.0.0.1. Every wait is bounded; every node is stopped.

const E = DirectoryError
/** Long enough that the checks made while the name is young finish well inside it on a busy machine. */
const NAMED_MIN_AGE = 10

describe('anonymous circuits against a real relay node: a fresh name buys nothing (stock js-libp2p peers)', () => {
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

  const startRelay = async (init: RelayNodeInit): Promise<string> => {
    dir = await mkdtemp(join(tmpdir(), 'auralink-circuits-'))
    relay = await createRelayNode({ port: 0, httpPort: 0, dataDir: dir, logLevel: 'silent', ...init })
    await relay.start()
    return relay.multiaddrs[0]!
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
  const metric = async (name: string, labels: string): Promise<number> => {
    const text = await (await fetch(`${relay!.httpUrl}/metrics`, { signal: AbortSignal.timeout(5000) })).text()
    const m = new RegExp(`^${name}${labels.replace(/[{}]/g, '\\$&')} (\\d+)$`, 'm').exec(text)
    return m === null ? 0 : Number(m[1])
  }
  /** Polls `read` every 100 ms until it returns `want` or `ms` pass; returns the last value read. */
  const until = async <T>(read: () => Promise<T> | T, want: T, ms = 30_000): Promise<T> => {
    const end = Date.now() + ms
    let v = await read()
    while (v !== want && Date.now() < end) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      v = await read()
    }
    return v
  }
  /** One raw directory request on a new stream: the response. */
  const directory = async (node: Libp2p, relayAddr: string, request: Parameters<typeof encodeDirectoryRequest>[0]): Promise<DirectoryResponseFields> => {
    const signal = AbortSignal.timeout(10_000)
    const stream = await node.dialProtocol(multiaddr(relayAddr), DIRECTORY_PROTOCOL, { signal })
    const lp = lpStream(stream, { maxDataLength: MAX_DIRECTORY_RESPONSE_BYTES })
    await lp.write(encodeDirectoryRequest(request), { signal })
    const response = decodeDirectoryResponse((await lp.read({ signal })).subarray())
    await stream.close({ signal }).catch(() => { stream.abort(new Error('closed')) })
    return response
  }
  const register = async (node: Libp2p, relayAddr: string, key: Parameters<typeof createRecord>[0], name: string): Promise<number> => {
    const record = (await createRecord(key, { name })).bytes
    return (await directory(node, relayAddr, { op: DirectoryOp.DIRECTORY_OP_REGISTER, record })).error ?? E.DIRECTORY_ERROR_NONE
  }
  const resolve = async (node: Libp2p, relayAddr: string, name: string): Promise<number> =>
    (await directory(node, relayAddr, { op: DirectoryOp.DIRECTORY_OP_RESOLVE, name })).error ?? E.DIRECTORY_ERROR_NONE
  const echoOn = async (node: Libp2p): Promise<void> => {
    await node.handle('/adversary/echo/1.0.0', async (stream) => {
      for await (const chunk of stream) stream.send(chunk)
      await stream.close()
    }, { runOnLimitedConnection: true })
  }
  /** Bytes echoed back through the circuit (the dialer's open one, else a new one), or the error that ended it; bounded at 10 s. */
  const echo = async (dialer: Libp2p, circuit: string, size: number): Promise<number | Error> => {
    const run = async (): Promise<number> => {
      const signal = AbortSignal.timeout(10_000)
      const target = multiaddr(circuit).getComponents().at(-1)?.value
      const open = dialer.getConnections().find((c) => c.status === 'open' && c.remotePeer.toString() === target)
      const connection = open ?? await dialer.dial(multiaddr(circuit), { signal })
      const stream = await connection.newStream('/adversary/echo/1.0.0', { runOnLimitedConnection: true, signal })
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

  it(`a listener that registers a fresh name still gets --max-anonymous-circuits and --relay-data-limit-anonymous until its name is --named-min-age (${NAMED_MIN_AGE} s) old; then the normal limits`, async () => {
    const addr = await startRelay({ maxAnonymousCircuits: 1, relayDataLimitAnonymous: 16384, relayDataLimit: 131072, namedMinAge: NAMED_MIN_AGE })
    const key = await generateIdentityKey()
    const listener = await peer([`${addr}/p2p-circuit`], key)
    await echoOn(listener)
    const circuit = `${addr}/p2p-circuit/p2p/${listener.peerId.toString()}`
    // the attack: one free REGISTER, then circuits as if named
    expect(await register(listener, addr, key, '@fresh-listener.aura')).toBe(E.DIRECTORY_ERROR_NONE)
    // a legitimate peer is served by the directory meanwhile: registers its own name, resolves the listener's
    const legitimate = await peer()
    const legitimateKey = await generateIdentityKey()
    expect(await register(legitimate, addr, legitimateKey, '@legitimate-peer.aura')).toBe(E.DIRECTORY_ERROR_NONE)
    expect(await resolve(legitimate, addr, '@fresh-listener.aura')).toBe(E.DIRECTORY_ERROR_NONE)
    const first = await peer()
    expect(await echo(first, circuit, 1000)).toBe(1000)
    expect(await metric('auralink_relay_circuits', '{kind="anonymous"}')).toBe(1)
    // still anonymous: a second circuit while the first is open is refused, and counted
    const second = await peer()
    await expect(second.dial(multiaddr(circuit), { signal: AbortSignal.timeout(10_000) })).rejects.toThrow(/PERMISSION_DENIED/)
    expect(await metric('auralink_relay_limit_hits_total', '{limit="anonymous_circuits"}')).toBe(1)
    // and the first circuit has the anonymous data limit: 16 KiB each way is over 16 KiB
    expect(await echo(first, circuit, 16384)).not.toBe(16384)
    expect(await until(async () => metric('auralink_relay_circuits', '{kind="anonymous"}'), 0)).toBe(0)
    // once the name is old enough (waited for, not slept), the listener's circuits are named
    const names = relay!.libp2p.services.directory
    expect(await until(async () => names.holdsName(listener.peerId, { minAgeMs: NAMED_MIN_AGE * 1000 }), true, 2 * NAMED_MIN_AGE * 1000 + 10_000)).toBe(true)
    const third = await peer()
    expect(await echo(third, circuit, 16384)).toBe(16384)
    // outside the anonymous cap: a second one at once is served too
    const fourth = await peer()
    expect(await echo(fourth, circuit, 1000)).toBe(1000)
    expect(await metric('auralink_relay_circuits', '{kind="anonymous"}')).toBe(0)
    expect(await metric('auralink_relay_limit_hits_total', '{limit="anonymous_circuits"}')).toBe(1)
  })

  it('a dialer that registers a fresh name gets no more than anonymous circuits to an anonymous listener until its name is old', async () => {
    const addr = await startRelay({ maxAnonymousCircuits: 0, namedMinAge: 3600 })
    const listener = await peer([`${addr}/p2p-circuit`])
    await echoOn(listener)
    const circuit = `${addr}/p2p-circuit/p2p/${listener.peerId.toString()}`
    const key = await generateIdentityKey()
    const dialer = await peer([], key)
    expect(await register(dialer, addr, key, '@fresh-dialer.aura')).toBe(E.DIRECTORY_ERROR_NONE)
    await expect(dialer.dial(multiaddr(circuit), { signal: AbortSignal.timeout(10_000) })).rejects.toThrow(/PERMISSION_DENIED/)
    expect(await metric('auralink_relay_limit_hits_total', '{limit="anonymous_circuits"}')).toBe(1)
    // the name is held (holdsName with no age: true, the rule before, which let this circuit through): only its age keeps it anonymous
    expect(await relay!.libp2p.services.directory.holdsName(dialer.peerId)).toBe(true)
  })
})
