import { createUnregister, generateIdentityKey, verifyRecord } from '@auralink/identity'
import { DirectoryError, encodeSignedUnregister, encodeUnregisterPayload } from '@auralink/protocol'
import { beforeEach, describe, expect, it } from 'vitest'
import { expectRefusedUnchanged, hex, makeDirectory, ops, record, somePeer } from './helpers.js'
import type { Harness } from './helpers.js'
import type { Ed25519PrivateKey } from '@auralink/identity'

const E = DirectoryError

describe('auraIdDirectory: SEARCH and UNREGISTER', () => {
  let h: Harness
  let c: ReturnType<typeof ops>
  let alice: Ed25519PrivateKey
  let mallory: Ed25519PrivateKey

  beforeEach(async () => {
    h = makeDirectory()
    c = ops(h.dir, await somePeer())
    alice = await generateIdentityKey()
    mallory = await generateIdentityKey()
  })
  const rec = async (key: Ed25519PrivateKey, name: string, extra: Parameters<typeof record>[3] = {}): Promise<Uint8Array> => record(key, name, h.clock.now, extra)
  const names = async (prefix: string, limit = 0): Promise<string[]> => {
    const res = await c.search(prefix, limit)
    expect(res.error, res.message ?? '').toBe(E.DIRECTORY_ERROR_NONE)
    return Promise.all((res.records ?? []).map(async (b) => (await verifyRecord(b, { now: h.clock.now })).name))
  }

  it('handle(SEARCH) returns public, unexpired records whose names start with the prefix, sorted by name', async () => {
    await c.register(await rec(alice, '@alice.aura'))
    await c.register(await rec(alice, '@alina.aura', { visibility: 'unlisted' }))
    await c.register(await rec(alice, '@alfred.aura', { visibility: 'private' }))
    await c.register(await rec(mallory, '@albert.aura'))
    await c.register(await rec(mallory, '@alpha-x.aura', { validity: h.clock.now + 1000 }))
    await c.register(await rec(mallory, '@bob-x.aura'))
    h.clock.now += 1000
    expect(await names('al')).toEqual(['@albert.aura', '@alice.aura'])
    expect(await names('@al')).toEqual(['@albert.aura', '@alice.aura'])
    expect(await names('@alice.au')).toEqual(['@alice.aura'])
    expect(await names('alice.aura')).toEqual(['@alice.aura'])
    expect(await names('b')).toEqual(['@bob-x.aura'])
    expect(await names('zz')).toEqual([])
    // unlisted and private ones still resolve by exact name
    expect((await c.resolve('@alina.aura')).error).toBe(E.DIRECTORY_ERROR_NONE)
    expect((await c.resolve('@alfred.aura')).error).toBe(E.DIRECTORY_ERROR_NONE)
  })

  it('handle(SEARCH) gives at most min(limit || maxSearchResults, maxSearchResults) results, the first by name', async () => {
    h = makeDirectory({ maxSearchResults: 3, maxNamesPerKey: 10 })
    c = ops(h.dir, await somePeer())
    // registered out of order: the datastore's order must not matter
    for (const n of ['@user-e.aura', '@user-b.aura', '@user-d.aura', '@user-a.aura', '@user-c.aura']) await c.register(await rec(alice, n))
    expect(await names('user')).toEqual(['@user-a.aura', '@user-b.aura', '@user-c.aura'])
    expect(await names('user', 2)).toEqual(['@user-a.aura', '@user-b.aura'])
    expect(await names('user', 1000)).toEqual(['@user-a.aura', '@user-b.aura', '@user-c.aura'])
    expect(await names('user-d')).toEqual(['@user-d.aura'])
  })

  it('handle(SEARCH) follows visibility changes and unregisters', async () => {
    await c.register(await rec(alice, '@alice.aura'))
    expect(await names('ali')).toEqual(['@alice.aura'])
    await c.update(await rec(alice, '@alice.aura', { sequence: 2, visibility: 'private' }))
    expect(await names('ali')).toEqual([])
    await c.update(await rec(alice, '@alice.aura', { sequence: 3 }))
    expect(await names('ali')).toEqual(['@alice.aura'])
    await c.unregister(await createUnregister(alice, '@alice.aura', { now: h.clock.now }))
    expect(await names('ali')).toEqual([])
  })

  it('handle(SEARCH) with an empty prefix or one with illegal characters answers BAD_REQUEST', async () => {
    await c.register(await rec(alice, '@alice.aura'))
    for (const bad of ['', '@', 'A', '@Al', 'a b', 'al*', '../', 'al/x', '@alice.aurax', '@alice.b', 'a'.repeat(33)]) {
      await expectRefusedUnchanged(h, E.DIRECTORY_ERROR_BAD_REQUEST, async () => c.search(bad))
    }
  })

  it('handle(UNREGISTER) with the holder\'s proof releases the name for anyone', async () => {
    await c.register(await rec(alice, '@alice.aura'))
    await c.register(await rec(alice, '@alice-2.aura'))
    const res = await c.unregister(await createUnregister(alice, '@alice.aura', { now: h.clock.now }))
    expect(res.error).toBe(E.DIRECTORY_ERROR_NONE)
    expect((await c.resolve('@alice.aura')).error).toBe(E.DIRECTORY_ERROR_NOT_FOUND)
    expect(await h.dir.size()).toBe(1)
    // no grace after an unregister: another key takes it, look-alikes included
    expect((await c.register(await rec(mallory, '@a1ice.aura'))).error).toBe(E.DIRECTORY_ERROR_NONE)
  })

  it('handle(REGISTER) after an unregister refuses the holder\'s withdrawn record and older ones (STALE_SEQUENCE, a replay), and takes a new one the holder signs', async () => {
    const older = await rec(alice, '@alice.aura', { sequence: 1 })
    await c.register(older)
    h.clock.now += 1000
    const last = await rec(alice, '@alice.aura', { sequence: 2 })
    expect((await c.update(last)).error).toBe(E.DIRECTORY_ERROR_NONE)
    h.clock.now += 1000
    expect((await c.unregister(await createUnregister(alice, '@alice.aura', { now: h.clock.now }))).error).toBe(E.DIRECTORY_ERROR_NONE)
    // anyone who kept copies replays them
    for (const replay of [last, older]) {
      const res = await expectRefusedUnchanged(h, E.DIRECTORY_ERROR_STALE_SEQUENCE, async () => c.register(replay))
      expect(res.message).toMatch(/unregistered by this key .* a replay/)
    }
    expect((await c.resolve('@alice.aura')).error).toBe(E.DIRECTORY_ERROR_NOT_FOUND)
    // the holder, later, signs a new record (a client that forgot its sequence starts again at 1)
    h.clock.now += 1000
    expect((await c.register(await rec(alice, '@alice.aura', { sequence: 1 }))).error).toBe(E.DIRECTORY_ERROR_NONE)
  })

  it('handle(REGISTER) after an unregister lets another key take the name, whatever the withdrawn record says', async () => {
    await c.register(await rec(alice, '@alice.aura', { sequence: 7 }))
    expect((await c.unregister(await createUnregister(alice, '@alice.aura', { now: h.clock.now }))).error).toBe(E.DIRECTORY_ERROR_NONE)
    expect((await c.register(await rec(mallory, '@alice.aura', { sequence: 1 }))).error).toBe(E.DIRECTORY_ERROR_NONE)
  })

  it('handle(UNREGISTER) with another key\'s proof answers INVALID_SIGNATURE, directory unchanged', async () => {
    await c.register(await rec(alice, '@alice.aura'))
    await expectRefusedUnchanged(h, E.DIRECTORY_ERROR_INVALID_SIGNATURE, async () => c.unregister(await createUnregister(mallory, '@alice.aura', { now: h.clock.now })))
  })

  it('handle(UNREGISTER) refuses a replayed proof with EXPIRED, directory unchanged', async () => {
    await c.register(await rec(alice, '@alice.aura'))
    const proof = await createUnregister(alice, '@alice.aura', { now: h.clock.now })
    expect((await c.unregister(proof)).error).toBe(E.DIRECTORY_ERROR_NONE)
    // alice registers again a second later; the old proof must not release it a second time
    h.clock.now += 1000
    await c.register(await rec(alice, '@alice.aura', { sequence: 5 }))
    const res = await expectRefusedUnchanged(h, E.DIRECTORY_ERROR_EXPIRED, async () => c.unregister(proof))
    expect(res.message).toMatch(/replay/)
    // nor may an older proof made before the accepted one
    await expectRefusedUnchanged(h, E.DIRECTORY_ERROR_EXPIRED, async () => c.unregister(await createUnregister(alice, '@alice.aura', { now: h.clock.now - 2000 })))
    // a newer one is fine
    expect((await c.unregister(await createUnregister(alice, '@alice.aura', { now: h.clock.now }))).error).toBe(E.DIRECTORY_ERROR_NONE)
  })

  it('handle(UNREGISTER) refuses a stale proof (EXPIRED), an unknown name (NOT_FOUND), a bad name (INVALID_NAME) and garbage (BAD_REQUEST)', async () => {
    await c.register(await rec(alice, '@alice.aura'))
    const stale = await createUnregister(alice, '@alice.aura', { now: h.clock.now - 10 * 60_000 })
    await expectRefusedUnchanged(h, E.DIRECTORY_ERROR_EXPIRED, async () => c.unregister(stale))
    await expectRefusedUnchanged(h, E.DIRECTORY_ERROR_NOT_FOUND, async () => c.unregister(await createUnregister(alice, '@nobody-here.aura', { now: h.clock.now })))
    const badName = encodeSignedUnregister({ payload: encodeUnregisterPayload({ name: '@Alice.aura', timestamp: h.clock.now }), signature: new Uint8Array(64) })
    await expectRefusedUnchanged(h, E.DIRECTORY_ERROR_INVALID_NAME, async () => c.unregister(badName))
    await expectRefusedUnchanged(h, E.DIRECTORY_ERROR_BAD_REQUEST, async () => c.unregister(new Uint8Array([9, 9, 9])))
    await expectRefusedUnchanged(h, E.DIRECTORY_ERROR_BAD_REQUEST, async () => c.unregister(new Uint8Array(0)))
    expect(hex((await h.dir.get('@alice.aura'))?.bytes)).toBeDefined()
  })
})
