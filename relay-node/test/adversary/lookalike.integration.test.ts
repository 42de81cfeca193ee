import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRecord, generateIdentityKey } from '@auralink/identity'
import {
  decodeAuraIdRecord, decodeDirectoryResponse, decodeSignedAuraIdRecord, DIRECTORY_PROTOCOL, DirectoryError, DirectoryOp,
  encodeDirectoryRequest, MAX_DIRECTORY_RESPONSE_BYTES
} from '@auralink/protocol'
import { RELAY_V2_HOP_CODEC } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { lpStream } from '@libp2p/utils'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { createRelayNode } from '../../src/index.js'
import type { RelayNode } from '../../src/index.js'
import type { DirectoryRequestMessage, DirectoryResponseFields } from '@auralink/protocol'
import type { Libp2p } from '@libp2p/interface'

// Issue 13 item 7: look-alikes of a held name. The relay is a real relay node with default
// settings, in this process; the attacker is a stock js-libp2p node built only from upstream
// @libp2p/* packages, speaking the directory protocol over a raw length-prefixed stream (the
// protobuf bytes come from @auralink/protocol's encoders: that is the wire format). Loopback only;
// every wait is bounded.

const E = DirectoryError
/** Circuit relay v2: HopMessage { type: RESERVE }, and the status OK. */
const RESERVE = Uint8Array.of(0x08, 0x00)
const STATUS_OK = 100

describe('look-alikes of a held name (stock js-libp2p attacker against a default relay)', () => {
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

  const peer = async (): Promise<Libp2p> => {
    const node = await createLibp2p({
      addresses: { listen: [] },
      transports: [webSockets()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionGater: { denyDialMultiaddr: () => false },
      services: { identify: identify() }
    })
    nodes.push(node)
    return node
  }
  /** One directory request on a new stream: the decoded response; bounded at 10 s. */
  const ask = async (node: Libp2p, addr: string, request: Partial<DirectoryRequestMessage>): Promise<DirectoryResponseFields> => {
    const signal = AbortSignal.timeout(10_000)
    const stream = await node.dialProtocol(multiaddr(addr), DIRECTORY_PROTOCOL, { signal })
    const lp = lpStream(stream, { maxDataLength: MAX_DIRECTORY_RESPONSE_BYTES })
    await lp.write(encodeDirectoryRequest({ op: 0, record: new Uint8Array(0), name: '', prefix: '', limit: 0, unregister: new Uint8Array(0), ...request } as DirectoryRequestMessage), { signal })
    const response = decodeDirectoryResponse((await lp.read({ signal })).subarray())
    await stream.close({ signal }).catch(() => { stream.abort(new Error('closed')) })
    return response
  }
  const register = async (node: Libp2p, addr: string, name: string, key?: Parameters<typeof createRecord>[0]): Promise<DirectoryResponseFields> =>
    ask(node, addr, { op: DirectoryOp.DIRECTORY_OP_REGISTER, record: (await createRecord(key ?? await generateIdentityKey(), { name })).bytes })
  const resolvedName = (res: DirectoryResponseFields): string | undefined => {
    const bytes = res.records?.[0]
    return bytes === undefined ? undefined : decodeAuraIdRecord(decodeSignedAuraIdRecord(bytes).payload).name
  }
  /** One circuit relay v2 RESERVE on a new hop stream: the status field (5) the relay answers. */
  const reserve = async (node: Libp2p, addr: string): Promise<number | undefined> => {
    const signal = AbortSignal.timeout(10_000)
    const stream = await node.dialProtocol(multiaddr(addr), RELAY_V2_HOP_CODEC, { signal })
    const lp = lpStream(stream)
    await lp.write(RESERVE, { signal })
    const reply = (await lp.read({ signal })).subarray()
    await stream.close({ signal }).catch(() => { stream.abort(new Error('closed')) })
    // HopMessage: field 1 type (varint), ... field 5 status (varint); walk the top-level fields
    for (let i = 0; i < reply.length;) {
      let tag = 0
      for (let s = 0; ; s += 7) { const b = reply[i++]!; tag += (b & 0x7f) * 2 ** s; if ((b & 0x80) === 0) break }
      if ((tag & 7) === 0) {
        let v = 0
        for (let s = 0; ; s += 7) { const b = reply[i++]!; v += (b & 0x7f) * 2 ** s; if ((b & 0x80) === 0) break }
        if (tag >>> 3 === 5) return v
      } else {
        let len = 0
        for (let s = 0; ; s += 7) { const b = reply[i++]!; len += (b & 0x7f) * 2 ** s; if ((b & 0x80) === 0) break }
        i += len
      }
    }
    return undefined
  }

  it('REGISTER of @alic3, @a-lice, @a_lice, @al1ce, @b8b, @b0b, @rnary beside held names answers NAME_TAKEN naming the held name; the holder still registers, resolves and reserves', async () => {
    dir = await mkdtemp(join(tmpdir(), 'auralink-lookalike-'))
    relay = await createRelayNode({ port: 0, httpPort: 0, dataDir: dir, logger: pino({ level: 'silent' }) })
    await relay.start()
    const addr = relay.multiaddrs[0]!

    const legit = await peer()
    const legitKey = await generateIdentityKey()
    for (const name of ['@alice.aura', '@bob.aura', '@mary.aura']) {
      const res = await register(legit, addr, name, legitKey)
      expect(res.error, `${name}: ${res.message ?? ''}`).toBe(E.DIRECTORY_ERROR_NONE)
    }

    // the attack: look-alikes of the held names, each under a fresh key (so the per-key quota is not what stops it)
    const attacker = await peer()
    const attempts: Array<[string, string]> = [
      ['@alic3.aura', '@alice.aura'], ['@a-lice.aura', '@alice.aura'], ['@a_lice.aura', '@alice.aura'], ['@al1ce.aura', '@alice.aura'],
      ['@b8b.aura', '@bob.aura'], ['@b0b.aura', '@bob.aura'], ['@rnary.aura', '@mary.aura']
    ]
    for (const [lookAlike, held] of attempts) {
      const res = await register(attacker, addr, lookAlike)
      expect(res.error, `${lookAlike}: ${res.message ?? ''}`).toBe(E.DIRECTORY_ERROR_NAME_TAKEN)
      expect(res.message).toBe(`${lookAlike} looks like ${held}, which another key holds`)
      expect((await ask(attacker, addr, { op: DirectoryOp.DIRECTORY_OP_RESOLVE, name: lookAlike })).error).toBe(E.DIRECTORY_ERROR_NOT_FOUND)
    }

    // the legitimate peer is served: registers another name, and both its names resolve (from a third peer too)
    expect((await register(legit, addr, '@carol.aura', legitKey)).error).toBe(E.DIRECTORY_ERROR_NONE)
    const other = await peer()
    for (const name of ['@alice.aura', '@carol.aura']) {
      const res = await ask(other, addr, { op: DirectoryOp.DIRECTORY_OP_RESOLVE, name })
      expect(res.error, res.message ?? '').toBe(E.DIRECTORY_ERROR_NONE)
      expect(resolvedName(res)).toBe(name)
    }
    expect(await reserve(legit, addr)).toBe(STATUS_OK)

    const metrics = await relay.metrics.text()
    expect(metrics).toMatch(new RegExp(`^auralink_directory_operations_total\\{op="register",outcome="name_taken"\\} ${attempts.length}$`, 'm'))
    expect(await relay.libp2p.services.directory.size()).toBe(4)
  })
})
