import { createRecord, generateIdentityKey, peerIdOf, verifyRecord } from '@auralink/identity'
import { DirectoryError, DirectoryOp } from '@auralink/protocol'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, directory, errorOf, metric, register, startRelay, stockPeer, until } from './harness.js'
import type { RelayNode } from '../../src/index.js'
import type { Ed25519PrivateKey } from '@auralink/identity'
import type { KadDHT } from '@libp2p/kad-dht'
import type { Libp2p } from '@libp2p/interface'

// A real relay node in this process; the attacker is a stock js-libp2p node whose only DHT code is
// upstream @libp2p/kad-dht speaking the relays' protocol (the records it puts are signed with
// @auralink/identity: a record is data). Loopback only; every wait is bounded.
const E = DirectoryError
const KAD = '/auralink/kad/1.0.0'
const encoder = new TextEncoder()
const dhtKey = (name: string): Uint8Array => encoder.encode(`/auraid/${name}`)

/** A stock libp2p node with upstream kad-dht on the relays' protocol; `listen` makes it a DHT server others can dial. */
const attackerNode = async (listen = false): Promise<Libp2p<{ dht: KadDHT }>> => stockPeer({
  listen: listen ? ['/ip4/127.0.0.1/tcp/0/ws'] : [],
  services: {
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
const routingTableSize = (attacker: Libp2p<{ dht: KadDHT }>): number =>
  (attacker.services.dht as unknown as { routingTable: { size: number } }).routingTable.size

/** The attacker's stock dht.put: true when the relay stored it (its PUT_VALUE echo came back). */
const put = async (relay: RelayNode, attacker: Libp2p<{ dht: KadDHT }>, name: string, value: Uint8Array): Promise<boolean> => {
  let stored = false
  for await (const e of attacker.services.dht.put(dhtKey(name), value, { signal: AbortSignal.timeout(10_000) })) {
    if (e.name === 'PEER_RESPONSE' && e.messageName === 'PUT_VALUE' && e.from.equals(relay.libp2p.peerId)) stored = true
  }
  return stored
}
/** RESOLVE: the key the relay answers, or the error code. */
const resolveKey = async (node: Libp2p, addr: string, name: string): Promise<string | number> => {
  const response = await directory(node, addr, { op: DirectoryOp.DIRECTORY_OP_RESOLVE, name })
  if (errorOf(response) !== E.DIRECTORY_ERROR_NONE) return response.error!
  return (await verifyRecord(response.records![0]!)).peerId.toString()
}
/** `auralink_dht_put_refused_total{reason}`, read in-process. */
const refused = async (relay: RelayNode, reason: string): Promise<number> =>
  metric(relay, 'auralink_dht_put_refused_total', { reason }, { inProcess: true })
/** The relay in the attacker's routing table, so that its stock put reaches it. */
const attach = async (attacker: Libp2p<{ dht: KadDHT }>, addr: string): Promise<void> => {
  await attacker.dial(multiaddr(addr), { signal: AbortSignal.timeout(10_000) })
  expect(await until(() => routingTableSize(attacker) > 0, true, 10_000), 'the relay is in the attacker\'s routing table').toBe(true)
}
/** A legitimate peer registers and resolves a fresh name (while an attack runs). */
const legitimate = async (addr: string, name: string): Promise<void> => {
  const peer = await stockPeer()
  const key = await generateIdentityKey()
  expect(await register(peer, addr, key, name)).toBe(E.DIRECTORY_ERROR_NONE)
  expect(await resolveKey(peer, addr, name)).toBe(peerIdString(key))
}
const peerIdString = (key: Ed25519PrivateKey): string => peerIdOf(key).toString()

describe('the relays\' Kad-DHT against a stock js-libp2p attacker', () => {
  afterEach(cleanup)

  it('PUT_VALUE of 50 fresh names from a peer that is not a relay is refused: RESOLVE answers none, /healthz names unchanged; a legitimate peer registers and resolves meanwhile', async () => {
    const { relay, addr } = await startRelay({ dhtRepublishIntervalMs: 0 })
    const attacker = await attackerNode()
    await attach(attacker, addr)
    const key = await generateIdentityKey()
    const names = Array.from({ length: 50 }, (_, i) => `@planted-${i}.aura`)
    const attack = async (): Promise<boolean[]> => {
      const stored: boolean[] = []
      for (const name of names) stored.push(await put(relay, attacker, name, (await createRecord(key, { name })).bytes))
      return stored
    }
    const [stored] = await Promise.all([attack(), legitimate(addr, '@legit-during-put.aura')])
    expect(stored.filter(Boolean)).toEqual([])
    expect(await refused(relay, 'not_relay')).toBe(50)
    const peer = await stockPeer()
    for (const name of names.slice(0, 10)) expect(await resolveKey(peer, addr, name)).toBe(E.DIRECTORY_ERROR_NOT_FOUND)
    const health = await (await fetch(`${relay.httpUrl}/healthz`, { signal: AbortSignal.timeout(5000) })).json() as { names: number }
    expect(health.names).toBe(1)
  })

  it('PUT_VALUE at sequence 1000 of a held public and a held unlisted name, then republish(): the holder keeps both (RESOLVE answers its key, UPDATE works); a look-alike PUT is refused', async () => {
    const { relay, addr } = await startRelay({ dhtRepublishIntervalMs: 0 })
    const holderKey = await generateIdentityKey()
    const holder = await stockPeer()
    expect(await register(holder, addr, holderKey, '@held-public.aura')).toBe(E.DIRECTORY_ERROR_NONE)
    expect(await register(holder, addr, holderKey, { name: '@held-unlisted.aura', visibility: 'unlisted' })).toBe(E.DIRECTORY_ERROR_NONE)
    const attacker = await attackerNode()
    await attach(attacker, addr)
    const thief = await generateIdentityKey()
    const attack = async (): Promise<boolean[]> => [
      await put(relay, attacker, '@held-public.aura', (await createRecord(thief, { name: '@held-public.aura', sequence: 1000 })).bytes),
      await put(relay, attacker, '@held-unlisted.aura', (await createRecord(thief, { name: '@held-unlisted.aura', sequence: 1000, visibility: 'unlisted' })).bytes),
      await put(relay, attacker, '@he1d-public.aura', (await createRecord(thief, { name: '@he1d-public.aura' })).bytes)
    ]
    const [stored] = await Promise.all([attack(), legitimate(addr, '@legit-during-takeover.aura')])
    expect(stored).toEqual([false, false, false])
    const result = await relay.libp2p.services.directory.republish()
    expect(result.released).toBe(0)
    expect(await resolveKey(holder, addr, '@held-public.aura')).toBe(peerIdString(holderKey))
    expect(await resolveKey(holder, addr, '@held-unlisted.aura')).toBe(peerIdString(holderKey))
    expect(await resolveKey(holder, addr, '@he1d-public.aura')).toBe(E.DIRECTORY_ERROR_NOT_FOUND)
    expect(await register(holder, addr, holderKey, { name: '@held-public.aura', sequence: 2 }, DirectoryOp.DIRECTORY_OP_UPDATE)).toBe(E.DIRECTORY_ERROR_NONE)
    expect(await register(holder, addr, holderKey, { name: '@held-unlisted.aura', sequence: 2, visibility: 'unlisted' }, DirectoryOp.DIRECTORY_OP_UPDATE)).toBe(E.DIRECTORY_ERROR_NONE)
    expect(await refused(relay, 'not_relay')).toBe(3)
  })

  it('a relay in the bootstrap list: its PUT of a name held here by another key (or a look-alike of one) is refused, the first key stored for a name sticks, names past --directory-max-names-per-key are refused; its own fresh names are stored', async () => {
    const attacker = await attackerNode(true)
    const attackerAddr = `${attacker.getMultiaddrs()[0]!.toString()}`
    const { relay, addr } = await startRelay({ dhtRepublishIntervalMs: 0, bootstrap: [attackerAddr], directoryMaxNamesPerKey: 3 })
    expect(await until(() => routingTableSize(attacker) > 0, true, 15_000), 'the relay dialled its bootstrap relay').toBe(true)
    const holderKey = await generateIdentityKey()
    const holder = await stockPeer()
    expect(await register(holder, addr, holderKey, '@alice.aura')).toBe(E.DIRECTORY_ERROR_NONE)
    const thief = await generateIdentityKey()
    const attack = async (): Promise<Record<string, boolean>> => {
      const out: Record<string, boolean> = {}
      const p = async (k: Ed25519PrivateKey, name: string, sequence = 1): Promise<void> => { out[`${name}#${sequence}`] = await put(relay, attacker, name, (await createRecord(k, { name, sequence })).bytes) }
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
    expect(await refused(relay, 'taken')).toBe(2)
    expect(await refused(relay, 'look_alike')).toBe(1)
    expect(await refused(relay, 'quota')).toBe(2)
    expect(await refused(relay, 'not_relay')).toBe(0)
    expect(await resolveKey(holder, addr, '@alice.aura')).toBe(peerIdString(holderKey))
    expect(await resolveKey(holder, addr, '@first.aura')).toBe(peerIdString(thief))
  })

  it('a relay past --dht-put-rate-limit gets its PUTs refused (reason rate) while a legitimate peer is served', async () => {
    const attacker = await attackerNode(true)
    const { relay, addr } = await startRelay({ dhtRepublishIntervalMs: 0, bootstrap: [attacker.getMultiaddrs()[0]!.toString()], dhtPutRateLimit: 5 })
    expect(await until(() => routingTableSize(attacker) > 0, true, 15_000), 'the relay dialled its bootstrap relay').toBe(true)
    const attack = async (): Promise<number> => {
      let n = 0
      for (let i = 0; i < 12; i++) if (await put(relay, attacker, `@rate-${i}.aura`, (await createRecord(await generateIdentityKey(), { name: `@rate-${i}.aura` })).bytes)) n++
      return n
    }
    const [stored] = await Promise.all([attack(), legitimate(addr, '@legit-during-rate.aura')])
    expect(stored).toBeGreaterThanOrEqual(5)
    expect(stored).toBeLessThan(12)
    expect(await refused(relay, 'rate')).toBe(12 - stored)
  })
})
