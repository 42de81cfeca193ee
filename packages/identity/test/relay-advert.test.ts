import { encodeRelayAdvert, encodeSignedRelayAdvert, MAX_RELAY_ADVERT_BYTES } from '@auralink/protocol'
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { createRelayAdvert, MAX_RELAY_ADVERT_TTL_MS, verifyRelayAdvert } from '../src/index.js'
import type { RelayAdvert } from '../src/index.js'
import type { PrivateKey } from '@libp2p/interface'

const NOW = 1_800_000_000_000
const REFUSALS = ['InvalidRelayAdvertError', 'ExpiredRelayAdvertError', 'MessageTooLargeError']

describe('relay adverts', () => {
  let key: PrivateKey
  let addr: string
  let advert: RelayAdvert
  beforeAll(async () => {
    key = await generateKeyPair('Ed25519')
    addr = `/ip4/127.0.0.1/tcp/4001/ws/p2p/${peerIdFromPublicKey(key.publicKey).toString()}`
    advert = await createRelayAdvert(key, { addrs: [addr], capacity: 128, load: 3, version: '0.1.0', aicSupport: true, region: 'eu-west', now: NOW })
  })

  it('verifyRelayAdvert(createRelayAdvert(...)) gives back every field, and the PeerId of the signing key', async () => {
    const back = await verifyRelayAdvert(advert.bytes, { now: NOW + 1000 })
    expect(back.peerId.equals(peerIdFromPublicKey(key.publicKey))).toBe(true)
    expect(back.addrs.map((a) => a.toString())).toEqual([addr])
    expect(back).toMatchObject({ capacity: 128, load: 3, version: '0.1.0', aicSupport: true, region: 'eu-west', issuedAt: NOW, expiresAt: NOW + 10 * 60 * 1000 })
  })

  it('verifyRelayAdvert() refuses an expired advert and one issued over a minute ahead of our clock', async () => {
    await expect(verifyRelayAdvert(advert.bytes, { now: NOW + 10 * 60 * 1000 })).rejects.toMatchObject({ name: 'ExpiredRelayAdvertError' })
    await expect(verifyRelayAdvert(advert.bytes, { now: NOW - 61_000 })).rejects.toMatchObject({ name: 'ExpiredRelayAdvertError', message: expect.stringMatching(/in the future/) })
  })

  it('verifyRelayAdvert() refuses a forged advert: a payload naming one key signed by another', async () => {
    const other = await generateKeyPair('Ed25519')
    const payload = encodeRelayAdvert({ publicKey: publicKeyToProtobuf(key.publicKey), addrs: advert.addrs.map((a) => a.bytes), capacity: 9999, load: 0, version: '0.1.0', issuedAt: NOW, expiresAt: NOW + 60_000 })
    const prefix = new TextEncoder().encode('auralink-relay-advert:')
    const signature = await other.sign(new Uint8Array([...prefix, ...payload]))
    await expect(verifyRelayAdvert(encodeSignedRelayAdvert({ payload, signature }), { now: NOW })).rejects.toMatchObject({ name: 'InvalidRelayAdvertError', reason: 'signature' })
  })

  it('verifyRelayAdvert() refuses an advert whose signature covers the payload without the domain prefix (no replay of other signed bytes)', async () => {
    const payload = encodeRelayAdvert({ publicKey: publicKeyToProtobuf(key.publicKey), addrs: advert.addrs.map((a) => a.bytes), capacity: 1, load: 0, version: '0.1.0', issuedAt: NOW, expiresAt: NOW + 60_000 })
    const signature = await key.sign(payload)
    await expect(verifyRelayAdvert(encodeSignedRelayAdvert({ payload, signature }), { now: NOW })).rejects.toMatchObject({ name: 'InvalidRelayAdvertError', reason: 'signature' })
  })

  it('verifyRelayAdvert() refuses oversized, truncated and garbage input with typed errors', async () => {
    await expect(verifyRelayAdvert(new Uint8Array(MAX_RELAY_ADVERT_BYTES + 1), { now: NOW })).rejects.toMatchObject({ name: 'MessageTooLargeError' })
    await expect(verifyRelayAdvert(advert.bytes.subarray(0, advert.bytes.length - 5), { now: NOW })).rejects.toMatchObject({ name: 'InvalidRelayAdvertError' })
    await expect(verifyRelayAdvert(new Uint8Array([0xff, 0xff, 0xff]), { now: NOW })).rejects.toMatchObject({ name: 'InvalidRelayAdvertError', reason: 'malformed' })
    await expect(verifyRelayAdvert('nope' as unknown as Uint8Array)).rejects.toThrow(TypeError)
  })

  it('verifyRelayAdvert() rejects every single-byte change of a valid advert with a typed error (property)', async () => {
    await fc.assert(fc.asyncProperty(fc.nat(advert.bytes.length - 1), fc.integer({ min: 1, max: 255 }), async (i, x) => {
      const bytes = Uint8Array.from(advert.bytes)
      bytes[i] = bytes[i]! ^ x
      const err = await verifyRelayAdvert(bytes, { now: NOW }).then(() => undefined, (e: Error) => e)
      expect(err, `byte ${i} ^ ${x} verified`).toBeDefined()
      expect(REFUSALS).toContain(err!.name)
    }), { numRuns: 200 })
  })

  it('createRelayAdvert() refuses bad fields, naming them', async () => {
    const base = { addrs: [addr], capacity: 10, load: 1, version: '0.1.0', now: NOW }
    await expect(createRelayAdvert(key, { ...base, load: 11 })).rejects.toThrow(/load must be a whole number from 0 to capacity \(10\), got 11/)
    await expect(createRelayAdvert(key, { ...base, addrs: [] })).rejects.toThrow(/addrs must hold 1 to 16 addresses, got 0/)
    await expect(createRelayAdvert(key, { ...base, addrs: ['/ip4/127.0.0.1/tcp/1/ws/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN'] })).rejects.toThrow(/does not end in \/p2p\//)
    await expect(createRelayAdvert(key, { ...base, addrs: ['not an addr'] })).rejects.toThrow(/addrs\[0\] is not a multiaddr/)
    await expect(createRelayAdvert(key, { ...base, region: 'x'.repeat(33) })).rejects.toThrow(/region must be at most 32 characters, got 33/)
    await expect(createRelayAdvert(key, { ...base, ttlMs: MAX_RELAY_ADVERT_TTL_MS + 1 })).rejects.toThrow(/validity must be more than 0 and at most/)
    await expect(createRelayAdvert(key, { ...base, version: '' })).rejects.toThrow(/version must be 1 to 64 characters/)
  })
})
