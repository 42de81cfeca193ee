import { createRecord, createUnregister, generateIdentityKey } from '@auralink/identity'
import {
  DirectoryError, DirectoryOp, decodeSignedAuraIdRecord, encodeSignedAuraIdRecord, MAX_RECORD_BYTES
} from '@auralink/protocol'
import fc from 'fast-check'
import { beforeEach, describe, expect, it } from 'vitest'
import { makeDirectory, snapshot, somePeer, T0 } from './helpers.js'
import type { AuraIdDirectory } from '../src/index.js'
import type { Ed25519PrivateKey } from '@auralink/identity'
import type { PeerId } from '@libp2p/interface'
import type { MemoryDatastore } from 'datastore-core'

const E = DirectoryError
const DAY = 86_400_000

describe('auraIdDirectory', () => {
  let dir: AuraIdDirectory
  let clock: { now: number }
  let datastore: MemoryDatastore
  let sender: PeerId
  let alice: Ed25519PrivateKey
  let mallory: Ed25519PrivateKey

  beforeEach(async () => {
    ({ dir, clock, datastore } = makeDirectory())
    sender = await somePeer()
    alice = await generateIdentityKey()
    mallory = await generateIdentityKey()
  })

  const register = async (record: Uint8Array, from = sender) => dir.handle(from, { op: DirectoryOp.DIRECTORY_OP_REGISTER, record } as never)
  const update = async (record: Uint8Array) => dir.handle(sender, { op: DirectoryOp.DIRECTORY_OP_UPDATE, record } as never)
  const resolve = async (name: string) => dir.handle(sender, { op: DirectoryOp.DIRECTORY_OP_RESOLVE, name } as never)
  const search = async (prefix: string, limit = 0) => dir.handle(sender, { op: DirectoryOp.DIRECTORY_OP_SEARCH, prefix, limit } as never)
  const unregister = async (proof: Uint8Array) => dir.handle(sender, { op: DirectoryOp.DIRECTORY_OP_UNREGISTER, unregister: proof } as never)
  const rec = async (key: Ed25519PrivateKey, name: string, extra: Parameters<typeof createRecord>[1] extends infer T ? Partial<T> : never = {}) =>
    (await createRecord(key, { name, now: clock.now, ...extra })).bytes

  /** Runs `fn`, expects error `code`, and checks the directory did not change. */
  async function refusedUnchanged (code: number, fn: () => Promise<{ error?: number | null }>): Promise<void> {
    const before = await snapshot(datastore)
    const res = await fn()
    expect(res.error).toBe(code)
    expect(await snapshot(datastore)).toEqual(before)
  }

  it('handle(REGISTER) then handle(RESOLVE) returns the same signed bytes', async () => {
    const bytes = await rec(alice, '@alice.aura')
    expect((await register(bytes)).error).toBe(E.DIRECTORY_ERROR_NONE)
    const res = await resolve('@alice.aura')
    expect(res.error).toBe(E.DIRECTORY_ERROR_NONE)
    expect(Buffer.from(res.records![0]!).equals(Buffer.from(bytes))).toBe(true)
    expect(await dir.size()).toBe(1)
  })

  it('handle(RESOLVE) of a name that breaks a rule answers INVALID_NAME naming the rule', async () => {
    for (const bad of ['@Bob.aura', '@ab.aura', 'bob', '@b\u043eb.aura', '@admin.aura']) {
      const res = await resolve(bad)
      expect(res.error).toBe(E.DIRECTORY_ERROR_INVALID_NAME)
      expect(res.message).toMatch(/"/)
    }
    expect((await resolve('@nobody-here.aura')).error).toBe(E.DIRECTORY_ERROR_NOT_FOUND)
  })

  it('handle(REGISTER) refuses a forged signature with INVALID_SIGNATURE, directory unchanged', async () => {
    await register(await rec(alice, '@alice.aura'))
    const signed = decodeSignedAuraIdRecord(await rec(mallory, '@mallory.aura'))
    const sig = Uint8Array.from(signed.signature)
    sig[0] = (sig[0] ?? 0) ^ 0xff
    await refusedUnchanged(E.DIRECTORY_ERROR_INVALID_SIGNATURE, async () => register(encodeSignedAuraIdRecord({ payload: signed.payload, signature: sig })))
  })

  it('handle(REGISTER) by another key of a taken name answers NAME_TAKEN, directory unchanged', async () => {
    await register(await rec(alice, '@alice.aura'))
    await refusedUnchanged(E.DIRECTORY_ERROR_NAME_TAKEN, async () => register(await rec(mallory, '@alice.aura', { sequence: 99 })))
    await refusedUnchanged(E.DIRECTORY_ERROR_NAME_TAKEN, async () => update(await rec(mallory, '@alice.aura', { sequence: 100 })))
  })

  it('handle(REGISTER) of a look-alike of a name another key holds answers NAME_TAKEN', async () => {
    await register(await rec(alice, '@alice.aura'))
    for (const lookAlike of ['@a1ice.aura', '@al1ce.aura']) {
      await refusedUnchanged(E.DIRECTORY_ERROR_NAME_TAKEN, async () => register(await rec(mallory, lookAlike)))
    }
    // the holder itself may take its own look-alikes
    expect((await register(await rec(alice, '@a1ice.aura'))).error).toBe(E.DIRECTORY_ERROR_NONE)
  })

  it('handle(UPDATE) replaying a lower or equal sequence answers STALE_SEQUENCE, record unchanged', async () => {
    const v1 = await rec(alice, '@alice.aura', { sequence: 1 })
    const v2 = await rec(alice, '@alice.aura', { sequence: 2 })
    await register(v1)
    expect((await update(v2)).error).toBe(E.DIRECTORY_ERROR_NONE)
    await refusedUnchanged(E.DIRECTORY_ERROR_STALE_SEQUENCE, async () => update(v1))
    await refusedUnchanged(E.DIRECTORY_ERROR_STALE_SEQUENCE, async () => register(v1))
    await refusedUnchanged(E.DIRECTORY_ERROR_STALE_SEQUENCE, async () => update(await rec(alice, '@alice.aura', { sequence: 2, ttl: 7 })))
    expect(Buffer.from((await resolve('@alice.aura')).records![0]!).equals(Buffer.from(v2))).toBe(true)
  })

  it('handle(REGISTER) of the very same record again is OK and changes nothing (idempotent)', async () => {
    const v1 = await rec(alice, '@alice.aura')
    await register(v1)
    const before = await snapshot(datastore)
    expect((await register(v1)).error).toBe(E.DIRECTORY_ERROR_NONE)
    expect(await snapshot(datastore)).toEqual(before)
  })

  it('handle(UPDATE) of an unknown name answers NOT_FOUND', async () => {
    await refusedUnchanged(E.DIRECTORY_ERROR_NOT_FOUND, async () => update(await rec(alice, '@alice.aura')))
  })

  it('handle(REGISTER) refuses an expired record with EXPIRED and an oversized one with TOO_LARGE', async () => {
    const expired = await rec(alice, '@alice.aura', { validity: clock.now + 1000 })
    clock.now += 2000
    await refusedUnchanged(E.DIRECTORY_ERROR_EXPIRED, async () => register(expired))
    await refusedUnchanged(E.DIRECTORY_ERROR_TOO_LARGE, async () => register(new Uint8Array(MAX_RECORD_BYTES + 1)))
  })

  it('handle(REGISTER) refuses truncated and random bytes with an error code, directory unchanged (property)', async () => {
    await register(await rec(alice, '@alice.aura'))
    const good = await rec(mallory, '@mallory.aura')
    const before = await snapshot(datastore)
    for (let n = 0; n < good.length; n++) {
      expect((await register(good.subarray(0, n))).error).not.toBe(E.DIRECTORY_ERROR_NONE)
    }
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 400 }), async (bytes) => {
      const res = await register(bytes, await somePeer())
      expect(res.error).not.toBe(E.DIRECTORY_ERROR_NONE)
      expect([E.DIRECTORY_ERROR_BAD_REQUEST, E.DIRECTORY_ERROR_INVALID_NAME, E.DIRECTORY_ERROR_INVALID_SIGNATURE, E.DIRECTORY_ERROR_EXPIRED]).toContain(res.error)
    }), { numRuns: 200 })
    expect(await snapshot(datastore)).toEqual(before)
  })

  it('a name is freed only after its validity plus the grace period', async () => {
    await register(await rec(alice, '@alice.aura', { validity: clock.now + DAY }))
    clock.now += 2 * DAY
    expect((await resolve('@alice.aura')).error).toBe(E.DIRECTORY_ERROR_NOT_FOUND)
    expect((await register(await rec(mallory, '@alice.aura'))).error).toBe(E.DIRECTORY_ERROR_NAME_TAKEN)
    clock.now += 7 * DAY
    expect((await register(await rec(mallory, '@alice.aura'))).error).toBe(E.DIRECTORY_ERROR_NONE)
    expect(await dir.size()).toBe(1)
  })

  it('handle(SEARCH) returns public, unexpired records by prefix, sorted and limited', async () => {
    await register(await rec(alice, '@alice.aura'))
    await register(await rec(alice, '@alina.aura', { visibility: 'unlisted' }))
    await register(await rec(alice, '@alfred.aura', { visibility: 'private' }))
    await register(await rec(mallory, '@albert.aura'))
    await register(await rec(mallory, '@bob-x.aura'))
    const names = async (prefix: string, limit = 0) => {
      const res = await search(prefix, limit)
      expect(res.error).toBe(E.DIRECTORY_ERROR_NONE)
      return Promise.all(res.records!.map(async (b) => (await import('@auralink/identity')).verifyRecord(b, { now: clock.now }).then((r) => r.name)))
    }
    expect(await names('al')).toEqual(['@albert.aura', '@alice.aura'])
    expect(await names('@al', 1)).toEqual(['@albert.aura'])
    expect(await names('zz')).toEqual([])
    expect((await search('')).error).toBe(E.DIRECTORY_ERROR_BAD_REQUEST)
    expect((await search('A*')).error).toBe(E.DIRECTORY_ERROR_BAD_REQUEST)
  })

  it('handle(UNREGISTER) releases a name for the holder only, and refuses a replayed proof', async () => {
    await register(await rec(alice, '@alice.aura'))
    await refusedUnchanged(E.DIRECTORY_ERROR_INVALID_SIGNATURE, async () => unregister(await createUnregister(mallory, '@alice.aura', { now: clock.now })))
    const proof = await createUnregister(alice, '@alice.aura', { now: clock.now })
    expect((await unregister(proof)).error).toBe(E.DIRECTORY_ERROR_NONE)
    expect((await resolve('@alice.aura')).error).toBe(E.DIRECTORY_ERROR_NOT_FOUND)
    // alice registers again; the old proof must not release it a second time
    clock.now += 1000
    await register(await rec(alice, '@alice.aura', { sequence: 5 }))
    await refusedUnchanged(E.DIRECTORY_ERROR_EXPIRED, async () => unregister(proof))
    await refusedUnchanged(E.DIRECTORY_ERROR_BAD_REQUEST, async () => unregister(new Uint8Array([9, 9, 9])))
  })

  it('a key may hold at most maxNamesPerKey names: QUOTA_EXCEEDED after that', async () => {
    ({ dir, clock, datastore } = makeDirectory({ maxNamesPerKey: 2 }))
    expect((await register(await rec(alice, '@one-name.aura'))).error).toBe(E.DIRECTORY_ERROR_NONE)
    expect((await register(await rec(alice, '@two-name.aura'))).error).toBe(E.DIRECTORY_ERROR_NONE)
    await refusedUnchanged(E.DIRECTORY_ERROR_QUOTA_EXCEEDED, async () => register(await rec(alice, '@three-name.aura')))
  })

  it('a flood from one peer hits RATE_LIMITED while another peer is served', async () => {
    ({ dir, clock, datastore } = makeDirectory({ maxRequestsPerMinute: 10, maxWritesPerMinute: 3 }))
    const flooder = await somePeer()
    const codes = []
    for (let i = 0; i < 15; i++) codes.push((await dir.handle(flooder, { op: DirectoryOp.DIRECTORY_OP_RESOLVE, name: '@nobody-here.aura' } as never)).error)
    expect(codes.slice(0, 10).every((c) => c === E.DIRECTORY_ERROR_NOT_FOUND)).toBe(true)
    expect(codes.slice(10).every((c) => c === E.DIRECTORY_ERROR_RATE_LIMITED)).toBe(true)
    expect((await register(await rec(alice, '@alice.aura'))).error).toBe(E.DIRECTORY_ERROR_NONE)
    // writes have their own, smaller budget
    const writer = await somePeer()
    const writes = []
    for (let i = 1; i <= 5; i++) writes.push((await register(await rec(mallory, `@m${i}-name.aura`), writer)).error)
    expect(writes.filter((c) => c === E.DIRECTORY_ERROR_RATE_LIMITED)).toHaveLength(2)
    // a minute later the flooder is served again
    clock.now += 60_000
    expect((await dir.handle(flooder, { op: DirectoryOp.DIRECTORY_OP_RESOLVE, name: '@alice.aura' } as never)).error).toBe(E.DIRECTORY_ERROR_NONE)
  })

  it('handle() of an unknown op answers BAD_REQUEST and emits one operation event per request', async () => {
    const events: string[] = []
    dir.addEventListener('operation', (e) => { events.push(`${e.detail.op}:${e.detail.outcome}`) })
    dir.addEventListener('operation', () => { throw new Error('a listener that throws') })
    expect((await dir.handle(sender, { op: 42 } as never)).error).toBe(E.DIRECTORY_ERROR_BAD_REQUEST)
    await register(await rec(alice, '@alice.aura'))
    await resolve('@nobody-here.aura')
    expect(events).toEqual(['invalid:bad_request', 'register:ok', 'resolve:not_found'])
  })

  it('concurrent registrations of one name by two keys: exactly one wins', async () => {
    const [a, b] = await Promise.all([register(await rec(alice, '@race.aura')), register(await rec(mallory, '@race.aura'))])
    expect([a.error, b.error].sort()).toEqual([E.DIRECTORY_ERROR_NONE, E.DIRECTORY_ERROR_NAME_TAKEN].sort())
    expect(await dir.size()).toBe(1)
  })

  it('auraIdDirectory() refuses a missing datastore and negative limits, naming them', () => {
    expect(() => makeDirectory({ datastore: undefined as never })).toThrow(/datastore is required/)
    expect(() => makeDirectory({ maxNamesPerKey: -1 })).toThrow(/maxNamesPerKey/)
  })

  it('get() hides an expired record that still binds its name', async () => {
    await register(await rec(alice, '@alice.aura', { validity: T0 + 1000 }))
    expect(await dir.get('@alice.aura')).toBeDefined()
    clock.now = T0 + 2000
    expect(await dir.get('@alice.aura')).toBeUndefined()
  })
})
