import { encodeAuraIdRecord, encodeSignedAuraIdRecord, MAX_RECORD_BYTES, decodeSignedAuraIdRecord } from '@auralink/protocol'
import { publicKeyToProtobuf } from '@libp2p/crypto/keys'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  createRecord, createUnregister, generateIdentityKey, selectRecord, verifyRecord, verifyUnregister
} from '../src/index.js'

const NOW = 1_800_000_000_000

async function nameOfError (p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (err) {
    return (err as Error).name
  }
  return 'no error'
}

describe('AuraID records', () => {
  it('createRecord() then verifyRecord() gives back every field and the signer\'s PeerId', async () => {
    const key = await generateIdentityKey()
    const rec = await createRecord(key, { name: '@alice.aura', sequence: 4, visibility: 'unlisted', profile: { displayName: 'Alice' }, now: NOW })
    const back = await verifyRecord(rec.bytes, { now: NOW })
    expect(back.name).toBe('@alice.aura')
    expect(back.sequence).toBe(4)
    expect(back.visibility).toBe('unlisted')
    expect(back.profile).toEqual({ displayName: 'Alice' })
    expect(back.peerId.equals(rec.peerId)).toBe(true)
    expect(back.validity).toBe(NOW + 30 * 86_400_000)
  })

  it('a record carries the relays its holder names (at most 4 multiaddrs ending in /p2p/<id>), signed with the rest', async () => {
    const key = await generateIdentityKey()
    const relays = ['/ip4/127.0.0.1/tcp/4001/ws/p2p/12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK', '/dns4/relay.example.org/tcp/443/tls/ws/p2p/12D3KooWPjceQrSwdWXPyLLeABRXmuqt69Rg3sBYbU1Nft9HyQ6X']
    const rec = await createRecord(key, { name: '@alice.aura', relays, now: NOW })
    expect((await verifyRecord(rec.bytes, { now: NOW })).relays).toEqual(relays)
    expect((await verifyRecord((await createRecord(key, { name: '@alice.aura', now: NOW })).bytes, { now: NOW })).relays).toEqual([])
    await expect(createRecord(key, { name: '@alice.aura', relays: [...relays, ...relays, relays[0]!], now: NOW })).rejects.toThrow(/relays must be a list of at most 4 multiaddrs, got 5/)
    await expect(createRecord(key, { name: '@alice.aura', relays: ['/ip4/127.0.0.1/tcp/4001/ws'], now: NOW })).rejects.toThrow(/relays\[0\] must be a multiaddr .* ending in \/p2p\//)
    await expect(createRecord(key, { name: '@alice.aura', relays: [`/p2p/${'x'.repeat(300)}`], now: NOW })).rejects.toThrow(RangeError)
    // a signed record naming too many relays is refused on verify too
    const payload = encodeAuraIdRecord({ name: '@alice.aura', publicKey: publicKeyToProtobuf(key.publicKey), sequence: 1, validity: NOW + 1000, ttl: 300, visibility: 0, relays: Array.from({ length: 5 }, () => relays[0]!) })
    const signed = encodeSignedAuraIdRecord({ payload, signature: await key.sign(new Uint8Array([...new TextEncoder().encode('auralink-auraid-record:'), ...payload])) })
    expect(await nameOfError(verifyRecord(signed, { now: NOW }))).toBe('InvalidRecordError')
  })

  it('verifyRecord() refuses a forged signature with InvalidSignatureError', async () => {
    const key = await generateIdentityKey()
    const rec = await createRecord(key, { name: '@alice.aura', now: NOW })
    const signed = decodeSignedAuraIdRecord(rec.bytes)
    const sig = Uint8Array.from(signed.signature)
    sig[5] = (sig[5] ?? 0) ^ 1
    const forged = encodeSignedAuraIdRecord({ payload: signed.payload, signature: sig })
    expect(await nameOfError(verifyRecord(forged, { now: NOW }))).toBe('InvalidSignatureError')
  })

  it('verifyRecord() refuses a record signed by another key than the one it names', async () => {
    const alice = await generateIdentityKey()
    const mallory = await generateIdentityKey()
    const payload = encodeAuraIdRecord({
      name: '@alice.aura', publicKey: publicKeyToProtobuf(alice.publicKey), sequence: 9, validity: NOW + 1000, ttl: 60, visibility: 0
    })
    const signature = await mallory.sign(new Uint8Array([...new TextEncoder().encode('auralink-auraid-record:'), ...payload]))
    expect(await nameOfError(verifyRecord(encodeSignedAuraIdRecord({ payload, signature }), { now: NOW }))).toBe('InvalidSignatureError')
  })

  it('verifyRecord() refuses a signature made without the domain prefix', async () => {
    const key = await generateIdentityKey()
    const payload = encodeAuraIdRecord({
      name: '@alice.aura', publicKey: publicKeyToProtobuf(key.publicKey), sequence: 1, validity: NOW + 1000, ttl: 60, visibility: 0
    })
    const signature = await key.sign(payload)
    expect(await nameOfError(verifyRecord(encodeSignedAuraIdRecord({ payload, signature }), { now: NOW }))).toBe('InvalidSignatureError')
  })

  it('verifyRecord() refuses an expired record with RecordExpiredError unless allowExpired', async () => {
    const key = await generateIdentityKey()
    const rec = await createRecord(key, { name: '@alice.aura', validity: NOW + 10, now: NOW })
    expect(await nameOfError(verifyRecord(rec.bytes, { now: NOW + 11 }))).toBe('RecordExpiredError')
    expect((await verifyRecord(rec.bytes, { now: NOW + 11, allowExpired: true })).name).toBe('@alice.aura')
  })

  it('verifyRecord() refuses a record over 10 KiB with RecordTooLargeError before decoding it', async () => {
    expect(await nameOfError(verifyRecord(new Uint8Array(MAX_RECORD_BYTES + 1)))).toBe('RecordTooLargeError')
    const key = await generateIdentityKey()
    await expect(createRecord(key, { name: '@alice.aura', profile: { displayName: 'x'.repeat(65) } })).rejects.toThrow(RangeError)
  })

  it('verifyRecord() refuses a signed record whose name breaks a rule with InvalidAuraIdError', async () => {
    const key = await generateIdentityKey()
    const payload = encodeAuraIdRecord({
      name: '@Admin.aura', publicKey: publicKeyToProtobuf(key.publicKey), sequence: 1, validity: NOW + 1000, ttl: 60, visibility: 0
    })
    const signature = await key.sign(new Uint8Array([...new TextEncoder().encode('auralink-auraid-record:'), ...payload]))
    expect(await nameOfError(verifyRecord(encodeSignedAuraIdRecord({ payload, signature }), { now: NOW }))).toBe('InvalidAuraIdError')
  })

  it('verifyRecord() refuses every truncation of a valid record', async () => {
    const key = await generateIdentityKey()
    const rec = await createRecord(key, { name: '@alice.aura', now: NOW })
    for (let n = 0; n < rec.bytes.length; n++) {
      const name = await nameOfError(verifyRecord(rec.bytes.subarray(0, n), { now: NOW }))
      expect(['MalformedRecordError', 'InvalidSignatureError', 'InvalidRecordError', 'InvalidAuraIdError']).toContain(name)
    }
  })

  it('verifyRecord() refuses random bytes with a typed error, never anything else (property)', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), async (bytes) => {
      const name = await nameOfError(verifyRecord(bytes, { now: NOW }))
      expect(['MalformedRecordError', 'InvalidAuraIdError', 'InvalidRecordError', 'InvalidSignatureError']).toContain(name)
    }), { numRuns: 500 })
  })

  it('verifyRecord() refuses any single flipped bit of a valid record (property)', async () => {
    const key = await generateIdentityKey()
    const rec = await createRecord(key, { name: '@alice.aura', now: NOW })
    await fc.assert(fc.asyncProperty(fc.nat(rec.bytes.length * 8 - 1), async (bit) => {
      const bytes = Uint8Array.from(rec.bytes)
      bytes[bit >> 3] = (bytes[bit >> 3] ?? 0) ^ (1 << (bit & 7))
      const name = await nameOfError(verifyRecord(bytes, { now: NOW }))
      expect(name).not.toBe('no error')
    }), { numRuns: 300 })
  })

  it('selectRecord() prefers the higher sequence, then the later validity', () => {
    expect(selectRecord({ sequence: 1, validity: 9 }, { sequence: 2, validity: 1 })).toBe(1)
    expect(selectRecord({ sequence: 3, validity: 1 }, { sequence: 2, validity: 9 })).toBe(0)
    expect(selectRecord({ sequence: 2, validity: 1 }, { sequence: 2, validity: 9 })).toBe(1)
    expect(selectRecord({ sequence: 2, validity: 9 }, { sequence: 2, validity: 9 })).toBe(0)
  })

  it('createRecord() refuses bad arguments naming them', async () => {
    const key = await generateIdentityKey()
    await expect(createRecord(key, { name: '@alice.aura', sequence: 0 })).rejects.toThrow(/sequence/)
    await expect(createRecord(key, { name: '@alice.aura', ttl: -1 })).rejects.toThrow(/ttl/)
    await expect(createRecord(key, { name: '@alice.aura', visibility: 'secret' as never })).rejects.toThrow(/visibility/)
    await expect(createRecord(key, { name: 'alice' })).rejects.toThrow(expect.objectContaining({ rule: 'format' }))
    await expect(createRecord(key, { name: '@alice.aura', validity: NOW + 400 * 86_400_000, now: NOW })).rejects.toThrow(/days ahead/)
  })

  it('verifyUnregister() accepts the holder\'s proof and refuses another key\'s or a stale one', async () => {
    const alice = await generateIdentityKey()
    const mallory = await generateIdentityKey()
    const proof = await createUnregister(alice, '@alice.aura', { now: NOW })
    expect((await verifyUnregister(proof, alice.publicKey, { now: NOW })).name).toBe('@alice.aura')
    expect(await nameOfError(verifyUnregister(await createUnregister(mallory, '@alice.aura', { now: NOW }), alice.publicKey, { now: NOW }))).toBe('InvalidSignatureError')
    expect(await nameOfError(verifyUnregister(proof, alice.publicKey, { now: NOW + 10 * 60_000 }))).toBe('RecordExpiredError')
    expect(await nameOfError(verifyUnregister(new Uint8Array([1, 2, 3]), alice.publicKey))).toBe('MalformedRecordError')
  })

  it('verifyUnregister() refuses a proof stamped past any date with RecordExpiredError, not a RangeError (bench/fuzz, unregister, seed 1, input 809811)', async () => {
    const alice = await generateIdentityKey()
    const far = await createUnregister(alice, '@alice.aura', { now: 2 ** 53 - 1 })
    const err = await verifyUnregister(far, alice.publicKey, { now: NOW }).catch((e: unknown) => e as Error)
    expect(err).toBeInstanceOf(Error)
    expect((err as Error).name).toBe('RecordExpiredError')
    expect((err as Error).message).toContain('9007199254740991 ms since 1970 (no such date)')
  })
})
