import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRecord, generateIdentityKey, peerIdOf, verifyRecord } from '@auralink/identity'
import {
  decodeDirectoryResponse, DIRECTORY_PROTOCOL, DirectoryError, DirectoryOp, encodeDirectoryRequest, MAX_DIRECTORY_RESPONSE_BYTES
} from '@auralink/protocol'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { noise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { lpStream } from '@libp2p/utils'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { createRelayNode } from '../../src/index.js'
import type { RelayNode, RelayNodeInit } from '../../src/index.js'
import type { AuraIdRecord, Ed25519PrivateKey } from '@auralink/identity'
import type { DirectoryResponseFields } from '@auralink/protocol'
import type { KadDHT } from '@libp2p/kad-dht'
import type { Libp2p } from '@libp2p/interface'

// A real relay node in this process; the attacker is a stock js-libp2p node whose only DHT code is
// upstream @libp2p/kad-dht speaking the relays' protocol (the records it puts are signed with
// @auralink/identity: a record is data). Loopback only; every wait is bounded.
const E = DirectoryError
const KAD = '/auralink/kad/1.0.0'
const encoder = new TextEncoder()
const dhtKey = (name: string): Uint8Array => encoder.encode(`/auraid/${name}`)

/** Polls `fn` until it returns true, at most `ms`. */
async function until (fn: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await fn()) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`${what}: not within ${ms} ms`)
}

describe('the relays\' Kad-DHT against a stock js-libp2p attacker', () => {
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

  const startRelay = async (init: RelayNodeInit = {}): Promise<string> => {
    dir = await mkdtemp(join(tmpdir(), 'auralink-adversary-dht-'))
    relay = await createRelayNode({ port: 0, httpPort: 0, dataDir: dir, logger: pino({ level: 'silent' }), dhtRepublishInterval: 0, ...init })
    await relay.start()
    return relay.multiaddrs[0]!
  }

  /** A stock libp2p node with upstream kad-dht on the relays' protocol; `listen` makes it a DHT server others can dial. */
  const attackerNode = async (listen = false): Promise<Libp2p<{ dht: KadDHT }>> => {
    const node = await createLibp2p({
      addresses: { listen: listen ? ['/ip4/127.0.0.1/tcp/0/ws'] : [] },
      transports: [webSockets()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionGater: { denyDialMultiaddr: () => false },
      services: {
        identify: identify(),
        ping: ping(),
        dht: kadDHT({
          protocol: KAD,
          clientMode: !listen,
          peerInfoMapper: passthroughMapper,
          allowQueryWithZeroPeers: true,
          // the attacker accepts anything, its own records included
          validators: { auraid: async () => {} },
          selectors: { auraid: () => 0 }
        })
      }
    })
    nodes.push(node)
    return node
  }

  /** The attacker's stock dht.put: true when the relay stored it (its PUT_VALUE echo came back). */
  const put = async (attacker: Libp2p<{ dht: KadDHT }>, name: string, value: Uint8Array): Promise<boolean> => {
    let stored = false
    for await (const e of attacker.services.dht.put(dhtKey(name), value, { signal: AbortSignal.timeout(10_000) })) {
      if (e.name === 'PEER_RESPONSE' && e.messageName === 'PUT_VALUE' && e.from.equals(relay!.libp2p.peerId)) stored = true
    }
    return stored
  }

  /** A legitimate peer: stock libp2p speaking the directory protocol. */
  const legitPeer = async (): Promise<Libp2p> => {
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
  const request = async (node: Libp2p, addr: string, req: Parameters<typeof encodeDirectoryRequest>[0]): Promise<DirectoryResponseFields> => {
    const signal = AbortSignal.timeout(10_000)
    const stream = await node.dialProtocol(multiaddr(addr), DIRECTORY_PROTOCOL, { signal })
    const lp = lpStream(stream, { maxDataLength: MAX_DIRECTORY_RESPONSE_BYTES })
    await lp.write(encodeDirectoryRequest(req), { signal })
    const response = decodeDirectoryResponse((await lp.read({ signal })).subarray())
    await stream.close({ signal }).catch(() => { stream.abort(new Error('closed')) })
    return response
  }
  const register = async (node: Libp2p, addr: string, record: AuraIdRecord, op = DirectoryOp.DIRECTORY_OP_REGISTER): Promise<number> =>
    (await request(node, addr, { op, record: record.bytes })).error ?? E.DIRECTORY_ERROR_NONE
  /** RESOLVE: the key the relay answers, or the error code. */
  const resolve = async (node: Libp2p, addr: string, name: string): Promise<string | number> => {
    const response = await request(node, addr, { op: DirectoryOp.DIRECTORY_OP_RESOLVE, name })
    if ((response.error ?? E.DIRECTORY_ERROR_NONE) !== E.DIRECTORY_ERROR_NONE) return response.error!
    return (await verifyRecord(response.records![0]!)).peerId.toString()
  }
  const refused = async (reason: string): Promise<number> => {
    const m = new RegExp(`^auralink_dht_put_refused_total\\{reason="${reason}"\\} (\\d+)$`, 'm').exec(await relay!.metrics.text())
    return m === null ? 0 : Number(m[1])
  }
  /** The relay in the attacker's routing table, so that its stock put reaches it. */
  const attach = async (attacker: Libp2p<{ dht: KadDHT }>, addr: string): Promise<void> => {
    await attacker.dial(multiaddr(addr), { signal: AbortSignal.timeout(10_000) })
    await until(() => (attacker.services.dht as unknown as { routingTable: { size: number } }).routingTable.size > 0, 10_000, 'the relay is in the attacker\'s routing table')
  }
  /** A legitimate peer registers and resolves a fresh name (while an attack runs). */
  const legitimate = async (addr: string, name: string): Promise<void> => {
    const peer = await legitPeer()
    const key = await generateIdentityKey()
    expect(await register(peer, addr, await createRecord(key, { name }))).toBe(E.DIRECTORY_ERROR_NONE)
    expect(await resolve(peer, addr, name)).toBe(peerIdString(key))
  }

  it('PUT_VALUE of 50 fresh names from a peer that is not a relay is refused: RESOLVE answers none, /healthz names unchanged; a legitimate peer registers and resolves meanwhile', async () => {
    const addr = await startRelay()
    const attacker = await attackerNode()
    await attach(attacker, addr)
    const key = await generateIdentityKey()
    const names = Array.from({ length: 50 }, (_, i) => `@planted-${i}.aura`)
    const attack = async (): Promise<boolean[]> => {
      const stored: boolean[] = []
      for (const name of names) stored.push(await put(attacker, name, (await createRecord(key, { name })).bytes))
      return stored
    }
    const [stored] = await Promise.all([attack(), legitimate(addr, '@legit-during-put.aura')])
    expect(stored.filter(Boolean)).toEqual([])
    expect(await refused('not_relay')).toBe(50)
    const peer = await legitPeer()
    for (const name of names.slice(0, 10)) expect(await resolve(peer, addr, name)).toBe(E.DIRECTORY_ERROR_NOT_FOUND)
    const health = await (await fetch(`${relay!.httpUrl}/healthz`, { signal: AbortSignal.timeout(5000) })).json() as { names: number }
    expect(health.names).toBe(1)
  })

  it('PUT_VALUE at sequence 1000 of a held public and a held unlisted name, then republish(): the holder keeps both (RESOLVE answers its key, UPDATE works); a look-alike PUT is refused', async () => {
    const addr = await startRelay()
    const holderKey = await generateIdentityKey()
    const holder = await legitPeer()
    const pub = await createRecord(holderKey, { name: '@held-public.aura' })
    const unl = await createRecord(holderKey, { name: '@held-unlisted.aura', visibility: 'unlisted' })
    expect(await register(holder, addr, pub)).toBe(E.DIRECTORY_ERROR_NONE)
    expect(await register(holder, addr, unl)).toBe(E.DIRECTORY_ERROR_NONE)
    const attacker = await attackerNode()
    await attach(attacker, addr)
    const thief = await generateIdentityKey()
    const attack = async (): Promise<boolean[]> => [
      await put(attacker, '@held-public.aura', (await createRecord(thief, { name: '@held-public.aura', sequence: 1000 })).bytes),
      await put(attacker, '@held-unlisted.aura', (await createRecord(thief, { name: '@held-unlisted.aura', sequence: 1000, visibility: 'unlisted' })).bytes),
      await put(attacker, '@he1d-public.aura', (await createRecord(thief, { name: '@he1d-public.aura' })).bytes)
    ]
    const [stored] = await Promise.all([attack(), legitimate(addr, '@legit-during-takeover.aura')])
    expect(stored).toEqual([false, false, false])
    const result = await relay!.libp2p.services.directory.republish()
    expect(result.released).toBe(0)
    expect(await resolve(holder, addr, '@held-public.aura')).toBe(peerIdString(holderKey))
    expect(await resolve(holder, addr, '@held-unlisted.aura')).toBe(peerIdString(holderKey))
    expect(await resolve(holder, addr, '@he1d-public.aura')).toBe(E.DIRECTORY_ERROR_NOT_FOUND)
    expect(await register(holder, addr, await createRecord(holderKey, { name: '@held-public.aura', sequence: 2 }), DirectoryOp.DIRECTORY_OP_UPDATE)).toBe(E.DIRECTORY_ERROR_NONE)
    expect(await register(holder, addr, await createRecord(holderKey, { name: '@held-unlisted.aura', sequence: 2, visibility: 'unlisted' }), DirectoryOp.DIRECTORY_OP_UPDATE)).toBe(E.DIRECTORY_ERROR_NONE)
    expect(await refused('not_relay')).toBe(3)
  })

  it('a relay in the bootstrap list: its PUT of a name held here by another key (or a look-alike of one) is refused, the first key stored for a name sticks, names past --directory-max-names-per-key are refused; its own fresh names are stored', async () => {
    const attacker = await attackerNode(true)
    const attackerAddr = `${attacker.getMultiaddrs()[0]!.toString()}`
    const addr = await startRelay({ bootstrap: [attackerAddr], directoryMaxNamesPerKey: 3 })
    await until(() => (attacker.services.dht as unknown as { routingTable: { size: number } }).routingTable.size > 0, 15_000, 'the relay dialled its bootstrap relay')
    const holderKey = await generateIdentityKey()
    const holder = await legitPeer()
    expect(await register(holder, addr, await createRecord(holderKey, { name: '@alice.aura' }))).toBe(E.DIRECTORY_ERROR_NONE)
    const thief = await generateIdentityKey()
    const attack = async (): Promise<Record<string, boolean>> => {
      const out: Record<string, boolean> = {}
      const p = async (k: Ed25519PrivateKey, name: string, sequence = 1): Promise<void> => { out[`${name}#${sequence}`] = await put(attacker, name, (await createRecord(k, { name, sequence })).bytes) }
      await p(thief, '@alice.aura', 1000) // held here by another key
      await p(thief, '@a1ice.aura') // a look-alike of it
      await p(thief, '@first.aura') // fresh: stored
      await p(await generateIdentityKey(), '@first.aura', 1000) // another key for it: the first one sticks
      await p(thief, '@first.aura', 2) // the same key, newer: replaces
      for (const n of ['@second', '@third', '@fourth', '@fifth']) await p(thief, `${n}.aura`) // quota 3
      return out
    }
    const [stored] = await Promise.all([attack(), legitimate(addr, '@legit-during-relay.aura')])
    expect(stored).toEqual({
      '@alice.aura#1000': false,
      '@a1ice.aura#1': false,
      '@first.aura#1': true,
      '@first.aura#1000': false,
      '@first.aura#2': true,
      '@second.aura#1': true,
      '@third.aura#1': true,
      '@fourth.aura#1': false,
      '@fifth.aura#1': false
    })
    expect(await refused('taken')).toBe(2)
    expect(await refused('look_alike')).toBe(1)
    expect(await refused('quota')).toBe(2)
    expect(await refused('not_relay')).toBe(0)
    expect(await resolve(holder, addr, '@alice.aura')).toBe(peerIdString(holderKey))
    expect(await resolve(holder, addr, '@first.aura')).toBe(peerIdString(thief))
  })

  it('a relay past --dht-put-rate-limit gets its PUTs refused (reason rate) while a legitimate peer is served', async () => {
    const attacker = await attackerNode(true)
    const addr = await startRelay({ bootstrap: [attacker.getMultiaddrs()[0]!.toString()], dhtPutRateLimit: 5 })
    await until(() => (attacker.services.dht as unknown as { routingTable: { size: number } }).routingTable.size > 0, 15_000, 'the relay dialled its bootstrap relay')
    const attack = async (): Promise<number> => {
      let n = 0
      for (let i = 0; i < 12; i++) if (await put(attacker, `@rate-${i}.aura`, (await createRecord(await generateIdentityKey(), { name: `@rate-${i}.aura` })).bytes)) n++
      return n
    }
    const [stored] = await Promise.all([attack(), legitimate(addr, '@legit-during-rate.aura')])
    expect(stored).toBeGreaterThanOrEqual(5)
    expect(stored).toBeLessThan(12)
    expect(await refused('rate')).toBe(12 - stored)
  })
})

function peerIdString (key: Ed25519PrivateKey): string {
  return peerIdOf(key).toString()
}
