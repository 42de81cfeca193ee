import { createRecord, generateIdentityKey, verifyRecord } from '@auralink/identity'
import {
  decodeDirectoryResponse, DIRECTORY_PROTOCOL, DirectoryError, DirectoryOp, encodeDirectoryRequest, MAX_DIRECTORY_REQUEST_BYTES
} from '@auralink/protocol'
import { noise } from '@libp2p/noise'
import { lpStream } from '@libp2p/utils'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { MemoryDatastore } from 'datastore-core'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { auraIdDirectory } from '../src/index.js'
import type { DirectoryRequestFields } from '@auralink/protocol'
import type { Libp2p } from '@libp2p/interface'

// Real libp2p nodes over WebSockets on 127.0.0.1: the directory serves its protocol, and a
// client (raw frames, not the mesh client) sends good and bad requests.
describe('auraIdDirectory over /auralink/directory/1.0.0', () => {
  const nodes: Libp2p[] = []
  afterEach(async () => { await Promise.all(nodes.splice(0).map(async (n) => n.stop())) })

  async function setup (): Promise<{ server: Libp2p, client: Libp2p }> {
    const base = { transports: [webSockets()], connectionEncrypters: [noise()], streamMuxers: [yamux()], connectionGater: { denyDialMultiaddr: () => false } }
    const server = await createLibp2p({ ...base, addresses: { listen: ['/ip4/127.0.0.1/tcp/0/ws'] }, services: { directory: auraIdDirectory({ datastore: new MemoryDatastore() }) } })
    const client = await createLibp2p(base)
    nodes.push(server, client)
    await client.dial(server.getMultiaddrs()[0]!)
    return { server, client }
  }

  async function request (client: Libp2p, server: Libp2p, req: DirectoryRequestFields): Promise<ReturnType<typeof decodeDirectoryResponse>> {
    const stream = await client.dialProtocol(server.peerId, DIRECTORY_PROTOCOL)
    const lp = lpStream(stream)
    await lp.write(encodeDirectoryRequest(req))
    const res = decodeDirectoryResponse((await lp.read({ signal: AbortSignal.timeout(5000) })).subarray())
    await stream.close()
    return res
  }

  it('answers REGISTER and RESOLVE over real streams, and keeps serving after garbage and an over-limit frame', async () => {
    const { server, client } = await setup()
    const key = await generateIdentityKey()
    const record = await createRecord(key, { name: '@alice.aura' })
    expect((await request(client, server, { op: DirectoryOp.DIRECTORY_OP_REGISTER, record: record.bytes })).error).toBe(DirectoryError.DIRECTORY_ERROR_NONE)

    // garbage: a valid length prefix around bytes that are not a request
    const s1 = await client.dialProtocol(server.peerId, DIRECTORY_PROTOCOL)
    const lp1 = lpStream(s1)
    await lp1.write(new Uint8Array([0xff, 0xff, 0xff, 0x07, 0x01]))
    expect(decodeDirectoryResponse((await lp1.read({ signal: AbortSignal.timeout(5000) })).subarray()).error).toBe(DirectoryError.DIRECTORY_ERROR_BAD_REQUEST)

    // a length prefix over the limit: refused before the body is read
    const s2 = await client.dialProtocol(server.peerId, DIRECTORY_PROTOCOL)
    const lp2 = lpStream(s2, { maxDataLength: 1024 * 1024 })
    await lp2.write(new Uint8Array(MAX_DIRECTORY_REQUEST_BYTES + 100)).catch(() => {})
    const reply = await lp2.read({ signal: AbortSignal.timeout(5000) }).then((b) => decodeDirectoryResponse(b.subarray()).error, () => 'stream closed')
    expect([DirectoryError.DIRECTORY_ERROR_TOO_LARGE, 'stream closed']).toContain(reply)

    const res = await request(client, server, { op: DirectoryOp.DIRECTORY_OP_RESOLVE, name: '@alice.aura' })
    expect(res.error).toBe(DirectoryError.DIRECTORY_ERROR_NONE)
    expect((await verifyRecord(res.records[0]!)).peerId.toString()).toBe(record.peerId.toString())
  })
})
