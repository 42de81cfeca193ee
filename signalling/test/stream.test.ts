import { createRecord, generateIdentityKey, verifyRecord } from '@auralink/identity'
import {
  DIRECTORY_PROTOCOL, DirectoryError, DirectoryOp, encodeDirectoryRequest, MAX_DIRECTORY_REQUEST_BYTES
} from '@auralink/protocol'
import { noise } from '@libp2p/noise'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { MemoryDatastore } from 'datastore-core'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { auraIdDirectory } from '../src/index.js'
import { directoryRequest, rawExchange, streamEnded } from './request.js'
import type { AuraIdDirectory, AuraIdDirectoryInit, DirectoryOperationEvent } from '../src/index.js'
import type { Libp2p } from '@libp2p/interface'

const E = DirectoryError

/** A length prefix (unsigned varint) for `n`. */
function varint (n: number): Uint8Array {
  const out: number[] = []
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80)
    n = Math.floor(n / 128)
  }
  out.push(n)
  return Uint8Array.from(out)
}

async function waitFor (what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

// Real libp2p nodes over WebSockets on 127.0.0.1: one serves the directory, the other sends
// good and bad requests as raw frames (not the mesh client).
describe('auraIdDirectory over /auralink/directory/1.0.0 (real libp2p)', () => {
  const nodes: Libp2p[] = []
  afterEach(async () => { await Promise.all(nodes.splice(0).map(async (n) => n.stop())) })

  async function setup (init: Partial<AuraIdDirectoryInit> = {}): Promise<{ server: Libp2p<{ directory: AuraIdDirectory }>, client: Libp2p, events: DirectoryOperationEvent[] }> {
    const base = { transports: [webSockets()], connectionEncrypters: [noise()], streamMuxers: [yamux()], connectionGater: { denyDialMultiaddr: () => false } }
    const server = await createLibp2p({
      ...base,
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0/ws'] },
      services: { directory: auraIdDirectory({ datastore: new MemoryDatastore(), ...init }) }
    })
    nodes.push(server)
    const client = await createLibp2p(base)
    nodes.push(client)
    const events: DirectoryOperationEvent[] = []
    server.services.directory.addEventListener('operation', (e) => { events.push(e.detail) })
    await client.dial(server.getMultiaddrs()[0]!, { signal: AbortSignal.timeout(5000) })
    return { server, client, events }
  }

  function openDirectoryStreams (server: Libp2p): number {
    return server.getConnections().flatMap((c) => c.streams).filter((s) => s.protocol === DIRECTORY_PROTOCOL).length
  }

  it('answers REGISTER and then RESOLVE on a new stream with the registered record', async () => {
    const { server, client, events } = await setup()
    const key = await generateIdentityKey()
    const record = await createRecord(key, { name: '@alice.aura' })
    const reg = await directoryRequest(client, server.peerId, { op: DirectoryOp.DIRECTORY_OP_REGISTER, record: record.bytes })
    expect(reg.error).toBe(E.DIRECTORY_ERROR_NONE)
    const res = await directoryRequest(client, server.peerId, { op: DirectoryOp.DIRECTORY_OP_RESOLVE, name: '@alice.aura' })
    expect(res.error).toBe(E.DIRECTORY_ERROR_NONE)
    expect((await verifyRecord(res.records[0]!)).peerId.equals(record.peerId)).toBe(true)
    expect(await server.services.directory.size()).toBe(1)
    expect(events.map((e) => `${e.op}:${e.outcome}`)).toEqual(['register:ok', 'resolve:ok'])
    expect(events[0]!.peer?.equals(client.peerId)).toBe(true)
    // the server closes its side of every stream it answered
    await waitFor('the server to close its directory streams', () => openDirectoryStreams(server) === 0)
  })

  it('answers garbage with BAD_REQUEST and an over-limit length prefix with TOO_LARGE, then serves the next request', async () => {
    const { server, client, events } = await setup()
    await directoryRequest(client, server.peerId, { op: DirectoryOp.DIRECTORY_OP_REGISTER, record: (await createRecord(await generateIdentityKey(), { name: '@alice.aura' })).bytes })

    // a valid length prefix around bytes that are not a DirectoryRequest
    const garbage = Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02])
    const bad = await rawExchange(client, server.peerId, Uint8Array.from([...varint(garbage.length), ...garbage]))
    expect(bad.outcome).toMatchObject({ response: { error: E.DIRECTORY_ERROR_BAD_REQUEST } })
    await bad.stream.close()

    // a length prefix over MAX_DIRECTORY_REQUEST_BYTES, followed by that many bytes: refused before the body is read
    const big = await rawExchange(client, server.peerId, Uint8Array.from([...varint(MAX_DIRECTORY_REQUEST_BYTES + 1), ...new Uint8Array(MAX_DIRECTORY_REQUEST_BYTES + 1)]))
    expect(big.outcome).toMatchObject({ response: { error: E.DIRECTORY_ERROR_TOO_LARGE } })
    await big.stream.close()

    // a length prefix that never ends
    const endless = await rawExchange(client, server.peerId, new Uint8Array(16).fill(0xff))
    expect(endless.outcome).toMatchObject({ response: { error: E.DIRECTORY_ERROR_TOO_LARGE } })
    await endless.stream.close()

    // a request cut short: the client closes its writable end mid-message
    const request = encodeDirectoryRequest({ op: DirectoryOp.DIRECTORY_OP_RESOLVE, name: '@alice.aura' })
    const cut = await rawExchange(client, server.peerId, Uint8Array.from([...varint(request.length), ...request.subarray(0, 4)]), { closeWrite: true })
    expect(cut.outcome).toMatchObject({ response: { error: E.DIRECTORY_ERROR_BAD_REQUEST } })

    const res = await directoryRequest(client, server.peerId, { op: DirectoryOp.DIRECTORY_OP_RESOLVE, name: '@alice.aura' })
    expect(res.error).toBe(E.DIRECTORY_ERROR_NONE)
    expect(events.map((e) => `${e.op}:${e.outcome}`)).toEqual([
      'register:ok', 'invalid:bad_request', 'invalid:too_large', 'invalid:too_large', 'invalid:bad_request', 'resolve:ok'
    ])
    await waitFor('the server to close its directory streams', () => openDirectoryStreams(server) === 0)
  })

  it('aborts a stream that sends no complete request within requestTimeoutMs, while serving others', async () => {
    const { server, client } = await setup({ requestTimeoutMs: 400 })
    const started = Date.now()
    const silent = await client.dialProtocol(server.peerId, DIRECTORY_PROTOCOL)
    const half = await client.dialProtocol(server.peerId, DIRECTORY_PROTOCOL)
    half.send(Uint8Array.from([...varint(20), 1, 2, 3]))
    expect((await directoryRequest(client, server.peerId, { op: DirectoryOp.DIRECTORY_OP_RESOLVE, name: '@nobody-here.aura' })).error).toBe(E.DIRECTORY_ERROR_NOT_FOUND)
    expect(await streamEnded(silent, 5000)).toBe('reset')
    expect(await streamEnded(half, 5000)).toBe('reset')
    expect(Date.now() - started).toBeGreaterThanOrEqual(350)
    await waitFor('the server to drop its directory streams', () => openDirectoryStreams(server) === 0)
  })

  it('directory.stop() aborts the streams it is serving and unhandles the protocol; start() serves again', async () => {
    const { server, client } = await setup()
    const waiting = await client.dialProtocol(server.peerId, DIRECTORY_PROTOCOL)
    await waitFor('the server to accept the stream', () => openDirectoryStreams(server) === 1)
    await server.services.directory.stop()
    expect(await streamEnded(waiting, 5000)).toBe('reset')
    await expect(client.dialProtocol(server.peerId, DIRECTORY_PROTOCOL, { signal: AbortSignal.timeout(5000) })).rejects.toThrow()
    await server.services.directory.start()
    expect((await directoryRequest(client, server.peerId, { op: DirectoryOp.DIRECTORY_OP_SEARCH, prefix: 'al' })).error).toBe(E.DIRECTORY_ERROR_NONE)
  })
})
