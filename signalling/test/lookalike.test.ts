import { AURAID_SKELETON_VERSION, auraIdSkeleton, generateIdentityKey, peerIdOf } from '@auralink/identity'
import { DirectoryError } from '@auralink/protocol'
import { defaultLogger } from '@libp2p/logger'
import { Key } from 'interface-datastore'
import { beforeEach, describe, expect, it } from 'vitest'
import { DirectoryStore } from '../src/store.js'
import { expectRefusedUnchanged, hex, makeDirectory, ops, record } from './helpers.js'
import type { Harness } from './helpers.js'
import type { Ed25519PrivateKey } from '@auralink/identity'

const E = DirectoryError
const EMPTY = new Uint8Array(0)

describe('auraIdDirectory: look-alikes', () => {
  let h: Harness
  let c: ReturnType<typeof ops>
  let alice: Ed25519PrivateKey
  let mallory: Ed25519PrivateKey

  beforeEach(async () => {
    h = makeDirectory({ maxWritesPerMinute: 1000, maxRequestsPerMinute: 1000 })
    c = ops(h.dir, peerIdOf(await generateIdentityKey()))
    alice = await generateIdentityKey()
    mallory = await generateIdentityKey()
  })
  const rec = async (key: Ed25519PrivateKey, name: string, extra: Parameters<typeof record>[3] = {}): Promise<Uint8Array> => record(key, name, h.clock.now, extra)

  it('handle(REGISTER) of @alic3, @a-lice, @a_lice, @b8b, @rnary beside names another key holds answers NAME_TAKEN naming the held name, directory unchanged', async () => {
    for (const held of ['@alice.aura', '@bob.aura', '@mary.aura']) {
      expect((await c.register(await rec(alice, held))).error).toBe(E.DIRECTORY_ERROR_NONE)
    }
    const cases: Array<[string, string]> = [
      ['@alic3.aura', '@alice.aura'], ['@a-lice.aura', '@alice.aura'], ['@a_lice.aura', '@alice.aura'],
      ['@al-ice.aura', '@alice.aura'], ['@a1ic3.aura', '@alice.aura'], ['@b8b.aura', '@bob.aura'],
      ['@b0b.aura', '@bob.aura'], ['@6ob.aura', '@bob.aura'], ['@rnary.aura', '@mary.aura'], ['@rn4ry.aura', '@mary.aura']
    ]
    for (const [lookAlike, of] of cases) {
      const res = await expectRefusedUnchanged(h, E.DIRECTORY_ERROR_NAME_TAKEN, async () => c.register(await rec(mallory, lookAlike)))
      expect(res.message).toBe(`${lookAlike} looks like ${of}, which another key holds`)
    }
  })

  it('handle(REGISTER) by the key that holds @alice.aura accepts its own look-alike @a-lice.aura', async () => {
    expect((await c.register(await rec(alice, '@alice.aura'))).error).toBe(E.DIRECTORY_ERROR_NONE)
    expect((await c.register(await rec(alice, '@a-lice.aura'))).error).toBe(E.DIRECTORY_ERROR_NONE)
    expect((await c.resolve('@a-lice.aura')).error).toBe(E.DIRECTORY_ERROR_NONE)
  })

  it('handle(REGISTER) of honest names near held ones (@rob beside @bob, @alicia beside @alice, @ann beside @anna) answers NONE', async () => {
    for (const held of ['@alice.aura', '@bob.aura', '@anna.aura']) await c.register(await rec(alice, held))
    for (const name of ['@rob.aura', '@alicia.aura', '@ann.aura']) {
      const res = await c.register(await rec(mallory, name))
      expect(res.error, `${name}: ${res.message ?? ''}`).toBe(E.DIRECTORY_ERROR_NONE)
    }
  })

  it('handle(REGISTER) of a look-alike of an unlisted or private name answers NAME_TAKEN without naming it', async () => {
    await c.register(await rec(alice, '@carol-x.aura', { visibility: 'private' }))
    await c.register(await rec(alice, '@dave-y.aura', { visibility: 'unlisted' }))
    for (const [lookAlike, hidden] of [['@car0lx.aura', '@carol-x.aura'], ['@dav3y.aura', '@dave-y.aura']] as const) {
      const res = await expectRefusedUnchanged(h, E.DIRECTORY_ERROR_NAME_TAKEN, async () => c.register(await rec(mallory, lookAlike)))
      expect(res.message).toBe(`${lookAlike} looks like an unlisted name, which another key holds`)
      expect(res.message).not.toContain(hidden)
    }
  })

  it('handle(REGISTER) of a look-alike answers NONE once the held name is past validity + grace', async () => {
    await c.register(await rec(alice, '@alice.aura', { validity: h.clock.now + 2 * 86_400_000 }))
    expect((await c.register(await rec(mallory, '@a-lice.aura'))).error).toBe(E.DIRECTORY_ERROR_NAME_TAKEN)
    h.clock.now += 10 * 86_400_000
    expect((await c.register(await rec(mallory, '@a-lice.aura'))).error).toBe(E.DIRECTORY_ERROR_NONE)
  })
})

describe('DirectoryStore: the skeleton index migration', () => {
  /** Writes `name` held by `key` as a store of the rule-1 era did, with the rule-1 skeleton given. */
  async function putOld (h: Harness, key: Ed25519PrivateKey, name: string, oldSkeleton: string): Promise<Uint8Array> {
    const bytes = await record(key, name, h.clock.now)
    await h.datastore.put(new Key(`/auraid/name/${name}`), bytes)
    await h.datastore.put(new Key(`/auraid/key/${peerIdOf(key).toString()}/${name}`), EMPTY)
    await h.datastore.put(new Key(`/auraid/skeleton/${oldSkeleton}/${name}`), EMPTY)
    return bytes
  }

  async function skeletonEntries (h: Harness): Promise<string[]> {
    const out: string[] = []
    for await (const key of h.datastore.queryKeys({ prefix: '/auraid/skeleton/' })) out.push(key.toString())
    return out.sort()
  }

  it('start() on a store indexed under rule 1 rebuilds the index under the current rule, keeps both holders of names now alike, and refuses new look-alikes', async () => {
    const h = makeDirectory({ maxWritesPerMinute: 1000 })
    const c = ops(h.dir, peerIdOf(await generateIdentityKey()))
    const alice = await generateIdentityKey()
    const bob = await generateIdentityKey()
    const mallory = await generateIdentityKey()
    // rule 1: `@alice` -> allce, `@a-lice` -> a-llce (not alike then), `@bob-smith` -> bob-smlth
    const aliceBytes = await putOld(h, alice, '@alice.aura', 'allce')
    const aLiceBytes = await putOld(h, bob, '@a-lice.aura', 'a-llce')
    await putOld(h, alice, '@bob-smith.aura', 'bob-smlth')
    await h.datastore.put(new Key('/auraid/skeleton/gone/@gone.aura'), EMPTY) // an entry whose name is not stored
    await h.datastore.put(new Key('/auraid/meta/layout'), Uint8Array.of(2))

    // before the migration the stale index lets a look-alike through: the attack the migration closes
    const before = makeDirectory({ maxWritesPerMinute: 1000 })
    for await (const { key, value } of h.datastore.query({})) await before.datastore.put(key, value)
    const early = await ops(before.dir, peerIdOf(await generateIdentityKey())).register(await record(mallory, '@bob_smith.aura', h.clock.now))
    expect(early.error).toBe(E.DIRECTORY_ERROR_NONE)

    await h.dir.start()
    try {
      expect(await skeletonEntries(h)).toEqual([
        `/auraid/skeleton/${auraIdSkeleton('@a-lice.aura')}/@a-lice.aura`,
        `/auraid/skeleton/${auraIdSkeleton('@alice.aura')}/@alice.aura`,
        `/auraid/skeleton/${auraIdSkeleton('@bob-smith.aura')}/@bob-smith.aura`
      ].sort())
      expect(auraIdSkeleton('@a-lice.aura')).toBe(auraIdSkeleton('@alice.aura'))
      expect([...await h.datastore.get(new Key('/auraid/meta/skeleton-version'))]).toEqual([AURAID_SKELETON_VERSION])
      // no data dropped: both holders still resolve and can renew
      expect(hex((await c.resolve('@alice.aura')).records?.[0])).toBe(hex(aliceBytes))
      expect(hex((await c.resolve('@a-lice.aura')).records?.[0])).toBe(hex(aLiceBytes))
      expect((await c.update(await record(alice, '@alice.aura', h.clock.now, { sequence: 2 }))).error).toBe(E.DIRECTORY_ERROR_NONE)
      expect((await c.update(await record(bob, '@a-lice.aura', h.clock.now, { sequence: 2 }))).error).toBe(E.DIRECTORY_ERROR_NONE)
      // new look-alikes are refused, naming a held name
      const late = await expectRefusedUnchanged(h, E.DIRECTORY_ERROR_NAME_TAKEN, async () => c.register(await record(mallory, '@bob_smith.aura', h.clock.now)))
      expect(late.message).toBe('@bob_smith.aura looks like @bob-smith.aura, which another key holds')
      const third = await expectRefusedUnchanged(h, E.DIRECTORY_ERROR_NAME_TAKEN, async () => c.register(await record(mallory, '@al1ce.aura', h.clock.now)))
      expect(third.message).toMatch(/^@al1ce\.aura looks like @(alice|a-lice)\.aura, which another key holds$/)
    } finally {
      await h.dir.stop()
    }
  })

  it('start() on a store whose skeleton index is current leaves the datastore as it is', async () => {
    const h = makeDirectory()
    const c = ops(h.dir, peerIdOf(await generateIdentityKey()))
    await h.dir.start()
    await c.register(await record(await generateIdentityKey(), '@alice.aura', h.clock.now))
    await h.dir.stop()
    const entries: string[] = []
    for await (const { key } of h.datastore.query({})) entries.push(key.toString())
    const again = makeDirectory()
    for await (const { key, value } of h.datastore.query({})) await again.datastore.put(key, value)
    await again.dir.start()
    await again.dir.stop()
    const after: string[] = []
    for await (const { key } of again.datastore.query({})) after.push(key.toString())
    expect(after.sort()).toEqual(entries.sort())
    expect(entries).toContain(`/auraid/skeleton/${auraIdSkeleton('@alice.aura')}/@alice.aura`)
  })

  it('reindexSkeletons() resolves to the number of names indexed, then to 0 once the version is stored', async () => {
    const h = makeDirectory()
    await putOld(h, await generateIdentityKey(), '@alice.aura', 'allce')
    await putOld(h, await generateIdentityKey(), '@rnary.aura', 'm-ary')
    const store = new DirectoryStore(h.datastore, defaultLogger().forComponent('test:store'))
    expect(await store.reindexSkeletons()).toBe(2)
    expect(await store.namesWithSkeleton(auraIdSkeleton('@mary.aura'))).toEqual(['@rnary.aura'])
    expect(await store.reindexSkeletons()).toBe(0)
  })
})
