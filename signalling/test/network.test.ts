import { createUnregister, generateIdentityKey, peerIdOf } from '@auralink/identity'
import { DirectoryError } from '@auralink/protocol'
import { beforeEach, describe, expect, it } from 'vitest'
import {
  auraIdDhtKey, auraIdDhtSelector, auraIdDhtValidator, compareAuraIdRecords, dhtNetwork
} from '../src/index.js'
import { DAY, hex, makeDirectory, ops, record, signedRecord, somePeer } from './helpers.js'
import type { AuraIdNetwork, DirectoryConflictEvent, DirectoryNetworkEvent } from '../src/index.js'
import type { Harness } from './helpers.js'
import type { Ed25519PrivateKey } from '@auralink/identity'
import type { PeerId } from '@libp2p/interface'

const E = DirectoryError

/**
 * A shared in-memory "DHT" for several directories: each name keeps every value published, and
 * lookup answers the best by the DHT selector as the answer of one remote node (with the
 * directory's own held record, a tie of one against one: the selector's rule decides).
 * `hold` delays every publish until released (two writes racing before either lands).
 */
class FakeNetwork {
  readonly values = new Map<string, Uint8Array[]>()
  lookups = 0
  publishes = 0
  failLookups = false
  private held: Array<() => void> | undefined

  hold (): void { this.held = [] }
  release (): void { for (const go of this.held?.splice(0) ?? []) go(); this.held = undefined }

  readonly network: AuraIdNetwork = {
    publish: async (name, bytes) => {
      this.publishes++
      if (this.held !== undefined) await new Promise<void>((resolve) => this.held!.push(resolve))
      const list = this.values.get(name) ?? []
      list.push(bytes)
      this.values.set(name, list)
      return { peers: 1 }
    },
    // one remote node that answers the selector's pick of everything published
    lookup: async (name) => {
      this.lookups++
      if (this.failLookups) throw new Error('no DHT peers answered')
      const list = this.values.get(name)
      if (list === undefined || list.length === 0) return []
      return [{ from: 'fake-node', value: list[await auraIdDhtSelector(auraIdDhtKey(name), list)]! }]
    }
  }
}

/** Resolves once the directory's background publishes of `name` have reached `net`. */
async function published (net: FakeNetwork, name: string, count = 1): Promise<void> {
  for (let i = 0; i < 100 && (net.values.get(name)?.length ?? 0) < count; i++) await new Promise((resolve) => setTimeout(resolve, 5))
  expect(net.values.get(name)?.length ?? 0).toBeGreaterThanOrEqual(count)
}

describe('auraIdDhtValidator and auraIdDhtSelector', () => {
  let alice: Ed25519PrivateKey
  beforeEach(async () => { alice = await generateIdentityKey() })

  it('auraIdDhtValidator(/auraid/@alice.aura, record) accepts a valid public or unlisted record for that name', async () => {
    await auraIdDhtValidator(auraIdDhtKey('@alice.aura'), await record(alice, '@alice.aura', Date.now()))
    await auraIdDhtValidator(auraIdDhtKey('@alice.aura'), await record(alice, '@alice.aura', Date.now(), { visibility: 'unlisted' }))
  })

  it('auraIdDhtValidator refuses a private record, a record for another name, a bad key, a forged, expired, truncated or oversized record', async () => {
    const key = auraIdDhtKey('@alice.aura')
    const now = Date.now()
    const good = await record(alice, '@alice.aura', now)
    await expect(auraIdDhtValidator(key, await record(alice, '@alice.aura', now, { visibility: 'private' }))).rejects.toThrow(expect.objectContaining({ name: 'InvalidDhtRecordError', message: expect.stringMatching(/private/) }))
    await expect(auraIdDhtValidator(key, await record(alice, '@alicia.aura', now))).rejects.toThrow(expect.objectContaining({ name: 'InvalidDhtRecordError', message: expect.stringMatching(/@alicia\.aura.*@alice\.aura/) }))
    for (const bad of ['/auraid/@alice.aura/x', '/ipns/@alice.aura', 'auraid/@alice.aura']) {
      await expect(auraIdDhtValidator(new TextEncoder().encode(bad), good)).rejects.toThrow(expect.objectContaining({ name: 'InvalidDhtRecordError' }))
    }
    await expect(auraIdDhtValidator(new TextEncoder().encode('/auraid/@Alice.aura'), good)).rejects.toThrow(expect.objectContaining({ name: 'InvalidAuraIdError' }))
    const forged = good.slice()
    forged[forged.length - 1]! ^= 1
    await expect(auraIdDhtValidator(key, forged)).rejects.toThrow(expect.objectContaining({ name: 'InvalidSignatureError' }))
    const expired = await record(alice, '@alice.aura', now - 40 * DAY, { validity: now - DAY })
    await expect(auraIdDhtValidator(key, expired)).rejects.toThrow(expect.objectContaining({ name: 'RecordExpiredError' }))
    await expect(auraIdDhtValidator(key, good.subarray(0, 10))).rejects.toThrow(expect.objectContaining({ name: 'MalformedRecordError' }))
    await expect(auraIdDhtValidator(key, new Uint8Array(11 * 1024))).rejects.toThrow(expect.objectContaining({ name: 'RecordTooLargeError' }))
  })

  it('auraIdDhtSelector picks the higher sequence, then the later validity, then the smaller bytes, whatever the order; never an invalid value while a valid one is there', async () => {
    const now = Date.now()
    const key = auraIdDhtKey('@alice.aura')
    const mallory = await generateIdentityKey()
    const seq1 = await record(alice, '@alice.aura', now, { sequence: 1, validity: now + 30 * DAY })
    const seq2 = await record(alice, '@alice.aura', now, { sequence: 2, validity: now + 10 * DAY })
    const later = await record(mallory, '@alice.aura', now, { sequence: 2, validity: now + 20 * DAY })
    const junk = new Uint8Array([1, 2, 3])
    expect(await auraIdDhtSelector(key, [seq1, seq2])).toBe(1)
    expect(await auraIdDhtSelector(key, [seq2, seq1])).toBe(0)
    expect(await auraIdDhtSelector(key, [seq1, seq2, later])).toBe(2)
    expect(await auraIdDhtSelector(key, [later, junk, seq1])).toBe(0)
    expect(await auraIdDhtSelector(key, [junk, seq1])).toBe(1)
    // same sequence and validity by two keys: both orders pick the same one
    const a = await record(alice, '@alice.aura', now, { validity: now + DAY })
    const b = await record(mallory, '@alice.aura', now, { validity: now + DAY })
    const ab = await auraIdDhtSelector(key, [a, b])
    const ba = await auraIdDhtSelector(key, [b, a])
    expect([a, b][ab]).toBe([b, a][ba])
    expect(compareAuraIdRecords({ sequence: 1, validity: 5, bytes: a }, { sequence: 1, validity: 5, bytes: a })).toBe(0)
  })

  it('auraIdDhtKey("@alice.aura") is the UTF-8 of /auraid/@alice.aura and refuses a bad name', () => {
    expect(new TextDecoder().decode(auraIdDhtKey('@alice.aura'))).toBe('/auraid/@alice.aura')
    expect(() => auraIdDhtKey('alice')).toThrow(expect.objectContaining({ name: 'InvalidAuraIdError' }))
  })
})

describe('dhtNetwork() over a libp2p Kad-DHT', () => {
  let peers: PeerId[] = []
  beforeEach(async () => { peers = await Promise.all([somePeer(), somePeer(), somePeer()]) })

  it('lookup() asks each of the closest nodes that counts (GET_VALUE) once and adds this node\'s own stored value; publish() counts PUT_VALUE answers only', async () => {
    const keys: string[] = []
    const asked: string[] = []
    const net = dhtNetwork({
      async * getClosestPeers (key) {
        keys.push(new TextDecoder().decode(key))
        yield { name: 'PEER_RESPONSE' }
        for (const id of [...peers, peers[0]!]) yield { name: 'FINAL_PEER', peer: { id } }
      },
      async * put () {
        yield { name: 'PEER_RESPONSE', messageName: 'FIND_NODE' }
        yield { name: 'PEER_RESPONSE', messageName: 'PUT_VALUE' }
        yield { name: 'QUERY_ERROR' }
        yield { name: 'PEER_RESPONSE', messageName: 'PUT_VALUE' }
      }
    }, {
      getValue: async (peer) => {
        asked.push(peer.toString())
        if (peer.equals(peers[1]!)) throw new Error('no answer')
        return Uint8Array.of(asked.length)
      },
      counts: (peer) => !peer.equals(peers[2]!),
      records: {
        get: async () => ({ value: Uint8Array.of(9), receivedAt: Date.now() }),
        entries: async function * () {},
        put: async () => {}
      }
    })
    const answers = await net.lookup('@alice.aura')
    expect(answers).toEqual([{ from: 'self', self: true, value: Uint8Array.of(9) }, { from: peers[0]!.toString(), value: Uint8Array.of(1) }])
    expect(asked).toEqual([peers[0]!.toString(), peers[1]!.toString()])
    expect(keys).toEqual(['/auraid/@alice.aura'])
    expect(await net.publish('@alice.aura', Uint8Array.of(1))).toEqual({ peers: 2 })
  })

  it('lookup() and publish() give up after their timeouts with NetworkLookupError / NetworkPublishError naming the name', async () => {
    const stall = async function * (_key: Uint8Array, options?: { signal?: AbortSignal }): AsyncGenerator<{ name: string }> {
      await new Promise((resolve, reject) => options?.signal?.addEventListener('abort', () => { reject(options.signal?.reason) }))
      yield { name: 'never' }
    }
    const net = dhtNetwork({ getClosestPeers: stall, put: async function * (k, _v, o) { yield * stall(k, o) } }, { getValue: async () => undefined, lookupTimeoutMs: 50, publishTimeoutMs: 50 })
    await expect(net.lookup('@alice.aura')).rejects.toThrow(expect.objectContaining({ name: 'NetworkLookupError', message: expect.stringMatching(/@alice\.aura.*50 ms/) }))
    await expect(net.publish('@alice.aura', Uint8Array.of(1))).rejects.toThrow(expect.objectContaining({ name: 'NetworkPublishError', message: expect.stringMatching(/@alice\.aura.*50 ms/) }))
  })

  it('dhtNetwork() refuses a dht without getClosestPeers/put, no getValue and a timeout that is not > 0, naming it', () => {
    const dht = { getClosestPeers: async function * () {}, put: async function * () {} }
    expect(() => dhtNetwork({} as never, { getValue: async () => undefined })).toThrow(TypeError)
    expect(() => dhtNetwork(dht, {} as never)).toThrow(/init.getValue must be a function/)
    expect(() => dhtNetwork(dht, { getValue: async () => undefined, lookupTimeoutMs: 0 })).toThrow(/lookupTimeoutMs must be a number > 0, got 0/)
  })
})

describe('auraIdDirectory({ network }): names across directories', () => {
  let net: FakeNetwork
  let a: Harness
  let b: Harness
  let alice: Ed25519PrivateKey
  let mallory: Ed25519PrivateKey
  let events: { a: DirectoryNetworkEvent[], conflicts: DirectoryConflictEvent[] }

  beforeEach(async () => {
    net = new FakeNetwork()
    // the network checks validity against the real clock: the harness clocks start at now
    const now = Date.now()
    a = makeDirectory({ network: net.network, republishIntervalMs: 0 })
    b = makeDirectory({ network: net.network, republishIntervalMs: 0 })
    a.clock.now = now
    b.clock.now = now
    await a.dir.start()
    await b.dir.start()
    alice = await generateIdentityKey()
    mallory = await generateIdentityKey()
    events = { a: [], conflicts: [] }
    a.dir.addEventListener('network', (e) => { events.a.push(e.detail) })
    for (const h of [a, b]) h.dir.addEventListener('conflict', (e) => { events.conflicts.push(e.detail) })
  })
  const rec = async (key: Ed25519PrivateKey, name: string, extra: Parameters<typeof record>[3] = {}): Promise<Uint8Array> => record(key, name, Date.now(), extra)

  it('handle(REGISTER) of a public or unlisted record publishes it; a private one is never published', async () => {
    const c = ops(a.dir, await somePeer())
    expect((await c.register(await rec(alice, '@alice.aura'))).error).toBe(E.DIRECTORY_ERROR_NONE)
    expect((await c.register(await rec(alice, '@alice-u.aura', { visibility: 'unlisted' }))).error).toBe(E.DIRECTORY_ERROR_NONE)
    expect((await c.register(await rec(alice, '@alice-p.aura', { visibility: 'private' }))).error).toBe(E.DIRECTORY_ERROR_NONE)
    await published(net, '@alice.aura')
    await published(net, '@alice-u.aura')
    await a.dir.stop() // waits for publishes under way
    expect([...net.values.keys()].sort()).toEqual(['@alice-u.aura', '@alice.aura'])
    expect(events.a.filter((e) => e.op === 'publish').map((e) => e.outcome)).toEqual(['ok', 'ok'])
  })

  it('handle(RESOLVE) of a name held at another directory answers the network\'s record; of a name nowhere, NOT_FOUND', async () => {
    const bytes = await rec(alice, '@alice.aura')
    await ops(a.dir, await somePeer()).register(bytes)
    await published(net, '@alice.aura')
    const res = await ops(b.dir, await somePeer()).resolve('@alice.aura')
    expect(res.error).toBe(E.DIRECTORY_ERROR_NONE)
    expect(hex(res.records?.[0])).toBe(hex(bytes))
    expect(await b.dir.get('@alice.aura')).toBeUndefined() // answered, not held
    const miss = await ops(b.dir, await somePeer()).resolve('@no-one-here.aura')
    expect(miss.error).toBe(E.DIRECTORY_ERROR_NOT_FOUND)
    expect(miss.message).toMatch(/nor in the relay network/)
  })

  it('handle(RESOLVE) never answers what the network returns when it does not verify for the name (forged, another name, private)', async () => {
    const c = ops(b.dir, await somePeer())
    const forged = (await rec(alice, '@alice.aura')).slice()
    forged[forged.length - 1]! ^= 1
    net.values.set('@alice.aura', [forged])
    net.values.set('@bob.aura', [await rec(alice, '@bobby.aura')])
    net.values.set('@carol.aura', [await rec(alice, '@carol.aura', { visibility: 'private' })])
    net.values.set('@dave.aura', [await signedRecord(alice, Date.now(), { name: '@dave.aura', sequence: 0 })])
    for (const name of ['@alice.aura', '@bob.aura', '@carol.aura', '@dave.aura']) {
      expect((await c.resolve(name)).error, name).toBe(E.DIRECTORY_ERROR_NOT_FOUND)
    }
  })

  it('handle(REGISTER) of a name another key holds at another directory gets NAME_TAKEN, whatever the visibility asked; the same key may register it at both', async () => {
    await ops(a.dir, await somePeer()).register(await rec(alice, '@alice.aura'))
    await published(net, '@alice.aura')
    const c = ops(b.dir, await somePeer())
    for (const visibility of ['public', 'private'] as const) {
      const res = await c.register(await rec(mallory, '@alice.aura', { visibility, sequence: 9 }))
      expect(res.error).toBe(E.DIRECTORY_ERROR_NAME_TAKEN)
      expect(res.message).toMatch(/held by another key in the relay network until/)
    }
    expect(await b.dir.size()).toBe(0)
    expect((await c.register(await rec(alice, '@alice.aura', { sequence: 2 }))).error).toBe(E.DIRECTORY_ERROR_NONE)
  })

  it('two keys racing for one name at two directories: both accepted; after republish() the selector\'s choice holds everywhere, the loser is released and cannot renew', async () => {
    net.hold() // neither publish lands before both writes are done
    const now = Date.now()
    const early = await rec(alice, '@race.aura', { validity: now + 10 * DAY })
    const late = await rec(mallory, '@race.aura', { validity: now + 20 * DAY })
    const [ra, rb] = await Promise.all([ops(a.dir, await somePeer()).register(early), ops(b.dir, await somePeer()).register(late)])
    expect([ra.error, rb.error]).toEqual([E.DIRECTORY_ERROR_NONE, E.DIRECTORY_ERROR_NONE])
    net.release()
    await published(net, '@race.aura', 2)
    // b's record wins (same sequence, later validity): a finds out at its republish
    expect(await b.dir.republish()).toEqual({ checked: 1, published: 1, released: 0 })
    expect(await a.dir.republish()).toEqual({ checked: 1, published: 0, released: 1 })
    expect(events.conflicts).toEqual([{ name: '@race.aura', loser: peerIdOf(alice.publicKey), winner: peerIdOf(mallory.publicKey), during: 'republish' }])
    for (const h of [a, b]) expect(hex((await ops(h.dir, await somePeer()).resolve('@race.aura')).records?.[0])).toBe(hex(late))
    expect(await a.dir.holdsName(peerIdOf(alice.publicKey))).toBe(false)
    const renew = await ops(a.dir, await somePeer()).register(await rec(alice, '@race.aura', { sequence: 5 }))
    expect(renew.error).toBe(E.DIRECTORY_ERROR_NAME_TAKEN)
  })

  it('handle(UPDATE) by the loser of a race finds out at once: NAME_TAKEN, and the name is released there', async () => {
    net.hold()
    const now = Date.now()
    await ops(a.dir, await somePeer()).register(await rec(alice, '@race.aura', { validity: now + 10 * DAY }))
    await ops(b.dir, await somePeer()).register(await rec(mallory, '@race.aura', { sequence: 3 }))
    net.release()
    await published(net, '@race.aura', 2)
    const res = await ops(a.dir, await somePeer()).update(await rec(alice, '@race.aura', { sequence: 2, validity: now + 10 * DAY }))
    expect(res.error).toBe(E.DIRECTORY_ERROR_NAME_TAKEN)
    expect(res.message).toMatch(/released here/)
    expect(events.conflicts.map((c) => c.during)).toEqual(['write'])
    expect(await a.dir.get('@race.aura')).toBeUndefined()
    // the winner updates as usual
    expect((await ops(b.dir, await somePeer()).update(await rec(mallory, '@race.aura', { sequence: 4 }))).error).toBe(E.DIRECTORY_ERROR_NONE)
  })

  it('handle(UNREGISTER): the copy still in the network is not answered by this directory nor held against another key here', async () => {
    const c = ops(a.dir, await somePeer())
    await c.register(await rec(alice, '@alice.aura'))
    await published(net, '@alice.aura')
    expect((await c.unregister(await createUnregister(alice, '@alice.aura'))).error).toBe(E.DIRECTORY_ERROR_NONE)
    expect((await c.resolve('@alice.aura')).error).toBe(E.DIRECTORY_ERROR_NOT_FOUND)
    expect((await c.register(await rec(mallory, '@alice.aura'))).error).toBe(E.DIRECTORY_ERROR_NONE)
  })

  it('a failed network lookup does not block a REGISTER (the next republish checks again) and RESOLVE answers NOT_FOUND', async () => {
    net.failLookups = true
    const c = ops(a.dir, await somePeer())
    expect((await c.register(await rec(alice, '@alice.aura'))).error).toBe(E.DIRECTORY_ERROR_NONE)
    expect((await c.resolve('@elsewhere.aura')).error).toBe(E.DIRECTORY_ERROR_NOT_FOUND)
    expect(events.a.filter((e) => e.op === 'lookup').map((e) => e.outcome)).toEqual(['error', 'error'])
  })

  it('the republish timer runs every republishIntervalMs and stop() ends it', async () => {
    const h = makeDirectory({ network: net.network, republishIntervalMs: 20 })
    h.clock.now = Date.now()
    await h.dir.start()
    await ops(h.dir, await somePeer()).register(await rec(alice, '@alice.aura'))
    for (let i = 0; i < 100 && net.publishes < 3; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    expect(net.publishes).toBeGreaterThanOrEqual(3)
    await h.dir.stop()
    const after = net.publishes
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(net.publishes).toBe(after)
    await h.dir.stop() // idempotent
  })

  it('auraIdDirectory() refuses a network without lookup()/publish() and a negative republishIntervalMs, naming them', () => {
    expect(() => makeDirectory({ network: {} as AuraIdNetwork })).toThrow(/network must have lookup\(\) and publish\(\)/)
    expect(() => makeDirectory({ network: net.network, republishIntervalMs: -1 })).toThrow(/republishIntervalMs must be a number >= 0, got -1/)
  })

  it('without a network nothing changes: republish() is all zeros', async () => {
    const h = makeDirectory()
    expect(await h.dir.republish()).toEqual({ checked: 0, published: 0, released: 0 })
  })
})
