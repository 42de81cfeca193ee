import { auraIdSkeleton, createRecord, createUnregister, generateIdentityKey, peerIdOf, verifyRecord } from '@auralink/identity'
import { DirectoryError } from '@auralink/protocol'
import { defaultLogger } from '@libp2p/logger'
import { MemoryDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import { beforeEach, describe, expect, it } from 'vitest'
import { auraIdDhtKey, auraIdDhtPolicy, chooseByMajority, dhtRecordStore } from '../src/index.js'
import { base32, decodeDhtRecord, encodeDhtRecord } from '../src/dht-records.js'
import { DirectoryStore } from '../src/store.js'
import { DAY, makeDirectory, ops, record, T0 } from './helpers.js'
import type { AuraIdDhtPolicy, AuraIdNetwork, AuraIdNetworkAnswer, DhtLocalRecords, DhtPutRefusedEvent } from '../src/index.js'
import type { Harness } from './helpers.js'
import type { AuraIdRecord, CreateRecordInit, Ed25519PrivateKey } from '@auralink/identity'
import type { PeerId } from '@libp2p/interface'

const E = DirectoryError
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

describe('chooseByMajority', () => {
  let a: Ed25519PrivateKey
  let b: Ed25519PrivateKey
  beforeEach(async () => { [a, b] = await Promise.all([generateIdentityKey(), generateIdentityKey()]) })
  const rec = async (key: Ed25519PrivateKey, extra: Partial<CreateRecordInit> = {}): Promise<AuraIdRecord> =>
    createRecord(key, { name: '@alice.aura', now: T0, ...extra })

  it('chooseByMajority() picks the key most nodes answered, even against a far higher sequence; within it, its best record', async () => {
    const a1 = await rec(a)
    const a2 = await rec(a, { sequence: 2 })
    const b1000 = await rec(b, { sequence: 1000 })
    const choice = chooseByMajority([{ from: 'n1', record: b1000 }, { from: 'n2', record: a1 }, { from: 'n3', record: a2 }])!
    expect(hex(choice.record.bytes)).toBe(hex(a2.bytes))
    expect([choice.nodes, choice.answered, choice.nodesOf(b1000.peerId), choice.nodesOf(peerIdOf(await generateIdentityKey()))]).toEqual([2, 3, 1, 0])
  })

  it('chooseByMajority() counts each node once (its first answer) and breaks a tie by compareAuraIdRecords, whatever the order', async () => {
    const a1 = await rec(a)
    const b2 = await rec(b, { sequence: 2 })
    // n1 answers twice: only its first answer (a1) counts, so a and b tie 1-1 and b's higher sequence wins
    for (const answers of [[{ from: 'n1', record: a1 }, { from: 'n1', record: a1 }, { from: 'n2', record: b2 }], [{ from: 'n2', record: b2 }, { from: 'n1', record: a1 }]]) {
      expect(hex(chooseByMajority(answers)!.record.bytes)).toBe(hex(b2.bytes))
    }
    expect(chooseByMajority([])).toBeUndefined()
  })
})

describe('dht-records: kad-dht\'s record store and wire format', () => {
  it('base32() and encodeDhtRecord() match what @libp2p/kad-dht and @libp2p/record write; decodeDhtRecord() reads it back', () => {
    const key = new TextEncoder().encode('/auraid/@alice.aura')
    expect(base32(key)).toBe('f5qxk4tbnfsc6qdbnruwgzjomf2xeyi')
    expect([base32(Uint8Array.of(0xff)), base32(new Uint8Array(0))]).toEqual(['74', ''])
    const received = new Date(Date.UTC(2025, 0, 2, 3, 4, 5, 678))
    const bytes = encodeDhtRecord(key, Uint8Array.of(1, 2, 3), received)
    expect(hex(bytes)).toBe('0a132f6175726169642f40616c6963652e6175726112030102032a1e323032352d30312d30325430333a30343a30352e3637383030303030305a')
    expect(decodeDhtRecord(bytes)).toEqual({ key, value: Uint8Array.of(1, 2, 3), receivedAt: received.getTime() })
    expect(() => decodeDhtRecord(Uint8Array.of(0x0a, 0x05, 1))).toThrow(RangeError)
  })

  it('dhtRecordStore() put/get/entries round-trip under /dht/record/<base32 key>; a damaged entry is absent', async () => {
    const ds = new MemoryDatastore()
    const store = dhtRecordStore(ds)
    const key = auraIdDhtKey('@alice.aura')
    expect(await store.get(key)).toBeUndefined()
    await store.put(key, Uint8Array.of(7))
    expect((await store.get(key))?.value).toEqual(Uint8Array.of(7))
    expect(await ds.has(new Key(`/dht/record/${base32(key)}`, false))).toBe(true)
    await ds.put(new Key('/dht/record/junk', false), Uint8Array.of(0xff, 0xff))
    const all = []
    for await (const e of store.entries()) all.push(e.value)
    expect(all).toEqual([Uint8Array.of(7)])
  })
})

describe('auraIdDhtPolicy(): what a relay\'s DHT node stores', () => {
  let h: Harness
  let records: DhtLocalRecords
  let relay: PeerId
  let stranger: PeerId
  let remote: PeerId | undefined
  let refusals: DhtPutRefusedEvent[]
  let alice: Ed25519PrivateKey
  let mallory: Ed25519PrivateKey
  const policy = (extra: { maxNamesPerKey?: number, putsPerMinute?: number } = {}): AuraIdDhtPolicy => auraIdDhtPolicy({
    datastore: h.datastore,
    records,
    isRelay: (peer) => peer.equals(relay),
    remotePeer: () => remote,
    onRefuse: (detail) => { refusals.push(detail) },
    log: defaultLogger().forComponent('test:dht-policy'),
    now: () => h.clock.now,
    ...extra
  })
  const put = async (p: AuraIdDhtPolicy, key: Ed25519PrivateKey, name: string, extra: Parameters<typeof record>[3] = {}, from = relay): Promise<string> => {
    const bytes = await record(key, name, h.clock.now, extra)
    try {
      await p.checkPut(from, auraIdDhtKey(name), bytes)
      await records.put(auraIdDhtKey(name), bytes) // kad-dht stores what the validator let through
      return 'stored'
    } catch (err) {
      expect((err as Error).name).toBe('DhtPutRefusedError')
      return (err as { reason: string }).reason
    }
  }

  beforeEach(async () => {
    h = makeDirectory()
    // kad-dht dates what it stores by the wall clock: the policy's clock follows it here
    h.clock.now = Date.now()
    await h.dir.start()
    records = dhtRecordStore(h.datastore)
    ;[relay, stranger] = await Promise.all([generateIdentityKey(), generateIdentityKey()]).then((keys) => keys.map(peerIdOf))
    ;[alice, mallory] = await Promise.all([generateIdentityKey(), generateIdentityKey()])
    remote = undefined
    refusals = []
  })

  it('checkPut() from a peer that is not a relay is refused (not_relay), whatever the record; the event names the peer', async () => {
    const p = policy()
    expect(await put(p, mallory, '@fresh.aura', {}, stranger)).toBe('not_relay')
    expect(refusals).toEqual([{ reason: 'not_relay', peer: stranger }])
    expect(await put(p, mallory, '@fresh.aura')).toBe('stored')
  })

  it('checkPut() refuses what a REGISTER here would refuse: a name held by another key (taken), a look-alike of one (look_alike), a withdrawn copy (withdrawn), a forged record (invalid)', async () => {
    const p = policy()
    expect((await ops(h.dir, relay).register(await record(alice, '@alice.aura', h.clock.now))).error).toBe(E.DIRECTORY_ERROR_NONE)
    expect(await put(p, mallory, '@alice.aura', { sequence: 1000 })).toBe('taken')
    expect(await put(p, mallory, '@a1ice.aura')).toBe('look_alike')
    expect(await put(p, alice, '@alice.aura', { sequence: 2 })).toBe('stored') // its holder's newer record
    const bob = await generateIdentityKey()
    const old = await record(bob, '@bob.aura', h.clock.now)
    expect((await ops(h.dir, relay).register(old)).error).toBe(E.DIRECTORY_ERROR_NONE)
    expect((await ops(h.dir, relay).unregister(await createUnregister(bob, '@bob.aura', { now: h.clock.now + 1000 }))).error).toBe(E.DIRECTORY_ERROR_NONE)
    await expect(p.checkPut(relay, auraIdDhtKey('@bob.aura'), old)).rejects.toThrow(expect.objectContaining({ reason: 'withdrawn' }))
    const forged = await record(mallory, '@forged.aura', h.clock.now)
    forged[forged.length - 1]! ^= 1
    await expect(p.checkPut(relay, auraIdDhtKey('@forged.aura'), forged)).rejects.toThrow(expect.objectContaining({ reason: 'invalid' }))
    await expect(p.checkPut(relay, auraIdDhtKey('@other.aura'), await record(mallory, '@forged.aura', h.clock.now))).rejects.toThrow(expect.objectContaining({ reason: 'invalid' }))
    expect(refusals.map((r) => [r.reason, r.name])).toEqual([['taken', '@alice.aura'], ['look_alike', '@a1ice.aura'], ['withdrawn', '@bob.aura'], ['invalid', undefined], ['invalid', undefined]])
  })

  it('checkPut(): the first key stored for a name sticks until its record ends; the same key\'s newer record replaces it, an older one is stale', async () => {
    const p = policy()
    const end = h.clock.now + 2 * DAY
    expect(await put(p, alice, '@carol.aura', { sequence: 5, validity: end })).toBe('stored')
    expect(await put(p, mallory, '@carol.aura', { sequence: 1000 })).toBe('taken')
    expect(await put(p, mallory, '@car0l.aura')).toBe('look_alike')
    expect(await put(p, alice, '@carol.aura', { sequence: 4, validity: end })).toBe('stale')
    expect(await put(p, alice, '@carol.aura', { sequence: 6, validity: end })).toBe('stored')
    h.clock.now = end + 1
    expect(await put(p, mallory, '@carol.aura', { sequence: 1 })).toBe('stored')
  })

  it('checkPut(): a key has at most maxNamesPerKey names among held names and stored records, counted from the store at first use (quota)', async () => {
    // two records stored before this policy existed (a restart), and one name held here
    for (const name of ['@one.aura', '@two.aura']) await records.put(auraIdDhtKey(name), await record(mallory, name, h.clock.now))
    expect((await ops(h.dir, relay).register(await record(mallory, '@three.aura', h.clock.now))).error).toBe(E.DIRECTORY_ERROR_NONE)
    const p = policy({ maxNamesPerKey: 4 })
    expect(await put(p, mallory, '@four.aura')).toBe('stored')
    expect(await put(p, mallory, '@five.aura')).toBe('quota')
    expect(await put(p, mallory, '@one.aura', { sequence: 2 })).toBe('stored') // a name it has already
    expect(await put(p, alice, '@five.aura')).toBe('stored')
  })

  it('checkPut() past putsPerMinute from one relay is refused (rate) until its bucket refills', async () => {
    const p = policy({ putsPerMinute: 2 })
    expect([await put(p, mallory, '@rate1.aura'), await put(p, mallory, '@rate2.aura'), await put(p, alice, '@rate3.aura')]).toEqual(['stored', 'stored', 'rate'])
    h.clock.now += 30_000
    expect(await put(p, alice, '@rate3.aura')).toBe('stored')
  })

  it('validator() applies the policy only inside an inbound DHT stream (remotePeer set); outside it only verifies', async () => {
    const p = policy()
    const bytes = await record(mallory, '@outside.aura', Date.now())
    await p.validator(auraIdDhtKey('@outside.aura'), bytes)
    remote = stranger
    await expect(p.validator(auraIdDhtKey('@outside.aura'), bytes)).rejects.toThrow(expect.objectContaining({ name: 'DhtPutRefusedError', reason: 'not_relay' }))
    remote = undefined
    await expect(p.validator(auraIdDhtKey('@outside.aura'), Uint8Array.of(1))).rejects.toThrow(expect.objectContaining({ name: 'MalformedRecordError' }))
  })

  it('auraIdDhtPolicy() refuses missing components and a negative limit, naming them', () => {
    expect(() => auraIdDhtPolicy({} as never)).toThrow(/init.datastore, init.records, init.isRelay/)
    expect(() => policy({ putsPerMinute: -1 })).toThrow(/putsPerMinute must be a number >= 0, got -1/)
  })
})

/** A network whose nodes answer what the test sets; `answers` per name. */
function fakeNetwork (answers: Map<string, AuraIdNetworkAnswer[]>, adopted: string[]): AuraIdNetwork {
  return {
    publish: async () => ({ peers: 1 }),
    lookup: async (name) => answers.get(name) ?? [],
    adopt: async (name, bytes) => { adopted.push(`${name}=${(await verifyRecord(bytes, { allowExpired: true })).peerId.toString()}`) }
  }
}

describe('auraIdDirectory({ network }): a held name against the majority of answering nodes', () => {
  let answers: Map<string, AuraIdNetworkAnswer[]>
  let adopted: string[]
  let h: Harness
  let alice: Ed25519PrivateKey
  let mallory: Ed25519PrivateKey
  let peer: PeerId
  beforeEach(async () => {
    answers = new Map()
    adopted = []
    h = makeDirectory({ network: fakeNetwork(answers, adopted), republishIntervalMs: 0 })
    h.clock.now = Date.now()
    await h.dir.start()
    ;[alice, mallory] = await Promise.all([generateIdentityKey(), generateIdentityKey()])
    peer = peerIdOf(alice)
  })

  it('republish() keeps a held name when fewer answering nodes hold another key\'s record, even at sequence 1000 (this node\'s own answer is the held record)', async () => {
    const held = await record(alice, '@alice.aura', h.clock.now)
    expect((await ops(h.dir, peer).register(held)).error).toBe(E.DIRECTORY_ERROR_NONE)
    const theft = await record(mallory, '@alice.aura', h.clock.now, { sequence: 1000 })
    answers.set('@alice.aura', [{ from: 'n1', value: theft }, { from: 'n2', value: held }, { from: 'self', self: true, value: theft }])
    expect(await h.dir.republish()).toEqual({ checked: 1, published: 1, released: 0 })
    expect((await h.dir.get('@alice.aura'))?.peerId.equals(peer)).toBe(true)
    expect((await ops(h.dir, peer).update(await record(alice, '@alice.aura', h.clock.now, { sequence: 2 }))).error).toBe(E.DIRECTORY_ERROR_NONE)
  })

  it('republish() releases a held name when more answering nodes hold another key\'s record, and stores the winner in this node (adopt)', async () => {
    const held = await record(alice, '@alice.aura', h.clock.now, { sequence: 9 })
    expect((await ops(h.dir, peer).register(held)).error).toBe(E.DIRECTORY_ERROR_NONE)
    const other = await record(mallory, '@alice.aura', h.clock.now)
    // this node's own answer is the held record: three nodes against it and one more
    answers.set('@alice.aura', [{ from: 'n1', value: other }, { from: 'n2', value: other }, { from: 'n3', value: other }, { from: 'n4', value: held }])
    expect(await h.dir.republish()).toEqual({ checked: 1, published: 0, released: 1 })
    expect(adopted).toEqual([`@alice.aura=${peerIdOf(mallory).toString()}`])
    expect((await ops(h.dir, peer).update(await record(alice, '@alice.aura', h.clock.now, { sequence: 10 }))).error).toBe(E.DIRECTORY_ERROR_NOT_FOUND)
  })

  it('republish() never releases a held name to a record that looks like another name a third key holds here', async () => {
    expect((await ops(h.dir, peer).register(await record(alice, '@alice.aura', h.clock.now))).error).toBe(E.DIRECTORY_ERROR_NONE)
    // bob's @a1ice is held too, as a store kept from before the look-alike rule knew the pair would hold it
    const bobs = await createRecord(await generateIdentityKey(), { name: '@a1ice.aura', now: h.clock.now })
    await new DirectoryStore(h.datastore, defaultLogger().forComponent('test')).put(bobs, auraIdSkeleton('@a1ice.aura'), undefined)
    const other = await record(mallory, '@alice.aura', h.clock.now)
    answers.set('@alice.aura', [{ from: 'n1', value: other }, { from: 'n2', value: other }])
    expect((await h.dir.republish()).released).toBe(0)
  })

  it('handle(RESOLVE) and handle(REGISTER) of a name not held here follow the majority of answering nodes, not the highest sequence; answers that do not verify do not count', async () => {
    const a = await record(alice, '@dana.aura', h.clock.now)
    const m = await record(mallory, '@dana.aura', h.clock.now, { sequence: 1000 })
    const junk = Uint8Array.of(1, 2, 3)
    answers.set('@dana.aura', [{ from: 'n1', value: a }, { from: 'n2', value: a }, { from: 'n3', value: m }, { from: 'n4', value: junk }, { from: 'n5', value: junk }])
    const res = await ops(h.dir, peer).resolve('@dana.aura')
    expect((await verifyRecord(res.records![0]!)).peerId.equals(peerIdOf(alice))).toBe(true)
    expect((await ops(h.dir, peer).register(await record(mallory, '@dana.aura', h.clock.now, { sequence: 1001 }))).error).toBe(E.DIRECTORY_ERROR_NAME_TAKEN)
  })
})
