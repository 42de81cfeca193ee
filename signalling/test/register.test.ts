import { generateIdentityKey, verifyRecord } from '@auralink/identity'
import {
  decodeSignedAuraIdRecord, DirectoryError, encodeSignedAuraIdRecord, MAX_RECORD_BYTES
} from '@auralink/protocol'
import fc from 'fast-check'
import { beforeEach, describe, expect, it } from 'vitest'
import { DAY, expectRefusedUnchanged, hex, makeDirectory, ops, record, signedRecord, snapshot, somePeer } from './helpers.js'
import type { Harness } from './helpers.js'
import type { Ed25519PrivateKey } from '@auralink/identity'

const E = DirectoryError

describe('auraIdDirectory: REGISTER, UPDATE, RESOLVE', () => {
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

  it('handle(REGISTER) then handle(RESOLVE) returns the very bytes registered', async () => {
    const bytes = await rec(alice, '@alice.aura')
    const reg = await c.register(bytes)
    expect(reg.error).toBe(E.DIRECTORY_ERROR_NONE)
    expect(hex(reg.records?.[0])).toBe(hex(bytes))
    const res = await c.resolve('@alice.aura')
    expect(res.error).toBe(E.DIRECTORY_ERROR_NONE)
    expect(res.records).toHaveLength(1)
    expect(hex(res.records?.[0])).toBe(hex(bytes))
    expect(await h.dir.size()).toBe(1)
    expect(hex((await h.dir.get('@alice.aura'))?.bytes)).toBe(hex(bytes))
  })

  it('handle(REGISTER) accepts a record carried by a peer that is not its key (records are self-authenticating)', async () => {
    const carrier = ops(h.dir, await somePeer())
    expect((await carrier.register(await rec(alice, '@alice.aura'))).error).toBe(E.DIRECTORY_ERROR_NONE)
    expect((await h.dir.get('@alice.aura'))?.peerId.toString()).toBeDefined()
  })

  it('handle(REGISTER) refuses a record whose name breaks each naming rule with INVALID_NAME naming the rule, directory unchanged', async () => {
    await c.register(await rec(alice, '@alice.aura'))
    const cases: Array<[string, string]> = [
      ['bob', 'format'],
      ['@bob', 'format'],
      ['@b\u043eb.aura', 'look-alike'],
      ['@Bob.aura', 'charset'],
      ['@bo b.aura', 'charset'],
      ['@ab.aura', 'length'],
      [`@${'a'.repeat(33)}.aura`, 'length'],
      ['@-bob.aura', 'edges'],
      ['@bob_.aura', 'edges'],
      ['@bo--b.aura', 'repeats'],
      ['@admin.aura', 'reserved']
    ]
    for (const [name, rule] of cases) {
      const bytes = await signedRecord(mallory, h.clock.now, { name })
      const res = await expectRefusedUnchanged(h, E.DIRECTORY_ERROR_INVALID_NAME, async () => c.register(bytes))
      expect(res.message, name).toContain(`rule: ${rule}`)
    }
  })

  it('handle(RESOLVE) of a name that breaks a rule answers INVALID_NAME naming the rule; of an unknown one NOT_FOUND', async () => {
    for (const [name, rule] of [['@Bob.aura', 'charset'], ['@ab.aura', 'length'], ['bob', 'format'], ['@b\u043eb.aura', 'look-alike'], ['@admin.aura', 'reserved'], ['', 'format']]) {
      const res = await expectRefusedUnchanged(h, E.DIRECTORY_ERROR_INVALID_NAME, async () => c.resolve(name!))
      expect(res.message).toContain(`rule: ${rule}`)
    }
    await expectRefusedUnchanged(h, E.DIRECTORY_ERROR_NOT_FOUND, async () => c.resolve('@nobody-here.aura'))
  })

  it('handle(REGISTER) refuses a forged signature with INVALID_SIGNATURE, directory unchanged', async () => {
    await c.register(await rec(alice, '@alice.aura'))
    const signed = decodeSignedAuraIdRecord(await rec(mallory, '@mallory.aura'))
    const signature = Uint8Array.from(signed.signature)
    signature[0] = signature[0]! ^ 0xff
    await expectRefusedUnchanged(h, E.DIRECTORY_ERROR_INVALID_SIGNATURE, async () => c.register(encodeSignedAuraIdRecord({ payload: signed.payload, signature })))
    // alice's payload under mallory's signature: the key in the record does not match the signer
    const aliceSigned = decodeSignedAuraIdRecord(await rec(alice, '@alice.aura', { sequence: 2 }))
    await expectRefusedUnchanged(h, E.DIRECTORY_ERROR_INVALID_SIGNATURE, async () =>
      c.update(encodeSignedAuraIdRecord({ payload: aliceSigned.payload, signature: signed.signature })))
  })

  it('handle(REGISTER) and handle(UPDATE) by another key of a taken name answer NAME_TAKEN saying until when, directory unchanged', async () => {
    await c.register(await rec(alice, '@alice.aura', { validity: h.clock.now + 30 * DAY }))
    const res = await expectRefusedUnchanged(h, E.DIRECTORY_ERROR_NAME_TAKEN, async () => c.register(await rec(mallory, '@alice.aura', { sequence: 99 })))
    expect(res.message).toContain(new Date(h.clock.now + 37 * DAY).toISOString())
    await expectRefusedUnchanged(h, E.DIRECTORY_ERROR_NAME_TAKEN, async () => c.update(await rec(mallory, '@alice.aura', { sequence: 100 })))
  })

  it('handle(REGISTER) of a look-alike of a name another key holds answers NAME_TAKEN "looks like", directory unchanged', async () => {
    await c.register(await rec(alice, '@alice.aura'))
    await c.register(await rec(alice, '@bob-smith.aura'))
    for (const [lookAlike, of] of [['@a1ice.aura', '@alice.aura'], ['@al1ce.aura', '@alice.aura'], ['@bob_smith.aura', '@bob-smith.aura'], ['@b0b-smith.aura', '@bob-smith.aura']]) {
      const res = await expectRefusedUnchanged(h, E.DIRECTORY_ERROR_NAME_TAKEN, async () => c.register(await rec(mallory, lookAlike!)))
      expect(res.message).toContain(`looks like ${of}`)
    }
    // the holder itself may take its own look-alikes
    expect((await c.register(await rec(alice, '@a1ice.aura'))).error).toBe(E.DIRECTORY_ERROR_NONE)
  })

  it('handle(UPDATE) with a higher sequence replaces the record; replaying a lower or equal one answers STALE_SEQUENCE, record unchanged', async () => {
    const v1 = await rec(alice, '@alice.aura', { sequence: 1 })
    const v2 = await rec(alice, '@alice.aura', { sequence: 2, visibility: 'unlisted' })
    expect((await c.register(v1)).error).toBe(E.DIRECTORY_ERROR_NONE)
    const up = await c.update(v2)
    expect(up.error).toBe(E.DIRECTORY_ERROR_NONE)
    expect(hex(up.records?.[0])).toBe(hex(v2))
    expect(hex((await c.resolve('@alice.aura')).records?.[0])).toBe(hex(v2))
    await expectRefusedUnchanged(h, E.DIRECTORY_ERROR_STALE_SEQUENCE, async () => c.update(v1))
    await expectRefusedUnchanged(h, E.DIRECTORY_ERROR_STALE_SEQUENCE, async () => c.register(v1))
    // an equal sequence with different bytes (a later validity, even) is refused too
    await expectRefusedUnchanged(h, E.DIRECTORY_ERROR_STALE_SEQUENCE, async () => c.update(await rec(alice, '@alice.aura', { sequence: 2, validity: h.clock.now + 60 * DAY })))
    expect(hex((await c.resolve('@alice.aura')).records?.[0])).toBe(hex(v2))
    // REGISTER by the holder with a higher sequence acts as UPDATE
    const v3 = await rec(alice, '@alice.aura', { sequence: 3 })
    expect((await c.register(v3)).error).toBe(E.DIRECTORY_ERROR_NONE)
    expect(hex((await h.dir.get('@alice.aura'))?.bytes)).toBe(hex(v3))
    expect(await h.dir.size()).toBe(1)
  })

  it('handle(REGISTER) of the very same record again is OK and changes nothing (idempotent)', async () => {
    const v1 = await rec(alice, '@alice.aura')
    await c.register(v1)
    const before = await snapshot(h.datastore)
    for (const send of [c.register, c.update]) {
      const res = await send(v1)
      expect(res.error).toBe(E.DIRECTORY_ERROR_NONE)
      expect(hex(res.records?.[0])).toBe(hex(v1))
    }
    expect(await snapshot(h.datastore)).toEqual(before)
    expect(await h.dir.size()).toBe(1)
  })

  it('handle(UPDATE) of an unknown name answers NOT_FOUND, directory unchanged', async () => {
    await expectRefusedUnchanged(h, E.DIRECTORY_ERROR_NOT_FOUND, async () => c.update(await rec(alice, '@alice.aura')))
  })

  it('handle(REGISTER) refuses an expired record with EXPIRED and an oversized one with TOO_LARGE, directory unchanged', async () => {
    await c.register(await rec(alice, '@alice.aura'))
    const expired = await rec(mallory, '@mallory.aura', { validity: h.clock.now + 1000 })
    h.clock.now += 2000
    await expectRefusedUnchanged(h, E.DIRECTORY_ERROR_EXPIRED, async () => c.register(expired))
    await expectRefusedUnchanged(h, E.DIRECTORY_ERROR_TOO_LARGE, async () => c.register(new Uint8Array(MAX_RECORD_BYTES + 1)))
    const bigProfile = await signedRecord(mallory, h.clock.now, { name: '@mallory.aura', profile: { displayName: 'm', avatar: 'x'.repeat(MAX_RECORD_BYTES) } })
    await expectRefusedUnchanged(h, E.DIRECTORY_ERROR_TOO_LARGE, async () => c.register(bigProfile))
  })

  it('handle(REGISTER) refuses a signed record with fields out of range with BAD_REQUEST, and an empty record field too', async () => {
    await c.register(await rec(alice, '@alice.aura'))
    await expectRefusedUnchanged(h, E.DIRECTORY_ERROR_BAD_REQUEST, async () => c.register(await signedRecord(mallory, h.clock.now, { name: '@mallory.aura', sequence: 0 })))
    await expectRefusedUnchanged(h, E.DIRECTORY_ERROR_BAD_REQUEST, async () => c.register(await signedRecord(mallory, h.clock.now, { name: '@mallory.aura', publicKey: new Uint8Array([1, 2, 3]) })))
    await expectRefusedUnchanged(h, E.DIRECTORY_ERROR_BAD_REQUEST, async () => c.register(new Uint8Array(0)))
  })

  it('handle(REGISTER) answers truncated, bit-flipped and random record bytes with an error code, directory unchanged (property)', async () => {
    await c.register(await rec(alice, '@alice.aura'))
    const good = await rec(mallory, '@mallory.aura')
    const before = await h.dir.size()
    const expectRefused = async (bytes: Uint8Array): Promise<void> => {
      // a fresh sender each time: the property is about the bytes, not the rate limit
      const res = await ops(h.dir, await somePeer()).register(bytes)
      expect(res.error).not.toBe(E.DIRECTORY_ERROR_NONE)
      expect([E.DIRECTORY_ERROR_BAD_REQUEST, E.DIRECTORY_ERROR_INVALID_NAME, E.DIRECTORY_ERROR_INVALID_SIGNATURE, E.DIRECTORY_ERROR_EXPIRED]).toContain(res.error)
    }
    for (let n = 0; n < good.length; n++) await expectRefused(good.subarray(0, n))
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), expectRefused), { numRuns: 200 })
    await fc.assert(fc.asyncProperty(fc.nat({ max: good.length - 1 }), fc.integer({ min: 1, max: 255 }), async (at, mask) => {
      const flipped = Uint8Array.from(good)
      flipped[at] = flipped[at]! ^ mask
      await expectRefused(flipped)
    }), { numRuns: 200 })
    expect(await h.dir.size()).toBe(before)
    expect(await h.dir.get('@mallory.aura')).toBeUndefined()
    expect(await c.resolve('@alice.aura')).toMatchObject({ error: E.DIRECTORY_ERROR_NONE })
  })

  it('a name stays bound to its key until validity + gracePeriodMs, then another key may take it', async () => {
    const validity = h.clock.now + DAY
    await c.register(await rec(alice, '@alice.aura', { validity }))
    h.clock.now = validity + 1
    // past validity: no longer resolvable, but still reserved for alice
    expect((await c.resolve('@alice.aura')).error).toBe(E.DIRECTORY_ERROR_NOT_FOUND)
    expect(await h.dir.get('@alice.aura')).toBeUndefined()
    await expectRefusedUnchanged(h, E.DIRECTORY_ERROR_NAME_TAKEN, async () => c.register(await rec(mallory, '@alice.aura')))
    await expectRefusedUnchanged(h, E.DIRECTORY_ERROR_NAME_TAKEN, async () => c.register(await rec(mallory, '@a1ice.aura')))
    h.clock.now = validity + 7 * DAY - 1
    await expectRefusedUnchanged(h, E.DIRECTORY_ERROR_NAME_TAKEN, async () => c.register(await rec(mallory, '@alice.aura')))
    h.clock.now = validity + 7 * DAY
    const taken = await rec(mallory, '@alice.aura')
    expect((await c.register(taken)).error).toBe(E.DIRECTORY_ERROR_NONE)
    expect(hex((await h.dir.get('@alice.aura'))?.bytes)).toBe(hex(taken))
    expect(await h.dir.size()).toBe(1)
  })

  it('within the grace period the holder renews its name with a higher sequence', async () => {
    const validity = h.clock.now + DAY
    await c.register(await rec(alice, '@alice.aura', { validity }))
    h.clock.now = validity + 3 * DAY
    await expectRefusedUnchanged(h, E.DIRECTORY_ERROR_STALE_SEQUENCE, async () => c.register(await rec(alice, '@alice.aura')))
    expect((await c.update(await rec(alice, '@alice.aura', { sequence: 2 }))).error).toBe(E.DIRECTORY_ERROR_NONE)
    expect((await c.resolve('@alice.aura')).error).toBe(E.DIRECTORY_ERROR_NONE)
  })

  it('gracePeriodMs: 0 frees a name as soon as its validity ends', async () => {
    h = makeDirectory({ gracePeriodMs: 0 })
    c = ops(h.dir, await somePeer())
    await c.register(await rec(alice, '@alice.aura', { validity: h.clock.now + 1000 }))
    h.clock.now += 1000
    expect((await c.register(await rec(mallory, '@alice.aura'))).error).toBe(E.DIRECTORY_ERROR_NONE)
    expect((await verifyRecord((await c.resolve('@alice.aura')).records![0]!, { now: h.clock.now })).peerId.toString())
      .toBe((await h.dir.get('@alice.aura'))!.peerId.toString())
  })

  it('concurrent REGISTERs of one name, or of two look-alikes, by two keys: exactly one wins', async () => {
    const [a, b] = await Promise.all([c.register(await rec(alice, '@race.aura')), c.register(await rec(mallory, '@race.aura'))])
    expect([a.error, b.error].sort()).toEqual([E.DIRECTORY_ERROR_NONE, E.DIRECTORY_ERROR_NAME_TAKEN].sort())
    const [x, y] = await Promise.all([c.register(await rec(alice, '@look-alike.aura')), c.register(await rec(mallory, '@l0ok-alike.aura'))])
    expect([x.error, y.error].sort()).toEqual([E.DIRECTORY_ERROR_NONE, E.DIRECTORY_ERROR_NAME_TAKEN].sort())
    expect(await h.dir.size()).toBe(2)
  })

  it('get() hides a record whose validity ended and refuses an invalid name with InvalidAuraIdError', async () => {
    await c.register(await rec(alice, '@alice.aura', { validity: h.clock.now + 1000 }))
    expect(await h.dir.get('@alice.aura')).toBeDefined()
    h.clock.now += 1000
    expect(await h.dir.get('@alice.aura')).toBeUndefined()
    expect(await h.dir.size()).toBe(1)
    await expect(h.dir.get('../name/@alice.aura')).rejects.toMatchObject({ name: 'InvalidAuraIdError' })
  })
})
