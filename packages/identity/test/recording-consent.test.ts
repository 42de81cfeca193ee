import { encodeRecordingConsent, encodeSignedRecordingConsent, MAX_RECORDING_CONSENT_BYTES, MAX_RECORDING_CONSENT_TTL_MS } from '@auralink/protocol'
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { checkRecordingConsents, createRecordingConsent, streamDestination, verifyRecordingConsent } from '../src/index.js'
import type { PeerId, PrivateKey } from '@libp2p/interface'

// Recording consents (issue 17): each participant signs its own; a relay records only on a full
// set for itself. Forgeries are made here by hand (re-signed by the wrong key, edited bytes), as
// a stranger's client would send them.
const NOW = 1_800_000_000_000
const REC = 'ab'.repeat(16)
const CALL = 'cd'.repeat(16)

describe('recording consents', () => {
  let alice: PrivateKey
  let bob: PrivateKey
  let mallory: PrivateKey
  let relayKey: PrivateKey
  let a: PeerId
  let b: PeerId
  let m: PeerId
  let relay: PeerId
  const init = (participants: PeerId[], extra: Record<string, unknown> = {}): Parameters<typeof createRecordingConsent>[1] => ({ recordingId: REC, callId: CALL, participants, relay, now: NOW, ...extra })

  beforeAll(async () => {
    alice = await generateKeyPair('Ed25519')
    bob = await generateKeyPair('Ed25519')
    mallory = await generateKeyPair('Ed25519')
    relayKey = await generateKeyPair('Ed25519')
    ;[a, b, m, relay] = [alice, bob, mallory, relayKey].map((k) => peerIdFromPublicKey(k.publicKey)) as [PeerId, PeerId, PeerId, PeerId]
  })

  it('verifyRecordingConsent(createRecordingConsent(...)) gives back every field and the signer', async () => {
    const c = await createRecordingConsent(alice, init([a, b], { kind: 'stream', streamUrl: 'rtmp://127.0.0.1/live/key', ttlMs: 30 * 60 * 1000 }))
    const back = await verifyRecordingConsent(c.bytes, { now: NOW + 1000 })
    expect(back.destination).toEqual(await streamDestination('rtmp://127.0.0.1/live/key'))
    expect(back.destination).toHaveLength(32)
    expect(back.signer.equals(a)).toBe(true)
    expect(back.participants.map(String)).toEqual([a, b].map(String))
    expect(back.relay.equals(relay)).toBe(true)
    expect(back).toMatchObject({ recordingId: REC, callId: CALL, kind: 'stream', issuedAt: NOW, expiresAt: NOW + 30 * 60 * 1000 })
    expect(c.bytes.length).toBeLessThan(MAX_RECORDING_CONSENT_BYTES)
  })

  it('createRecordingConsent() refuses fields out of bounds, naming them', async () => {
    await expect(createRecordingConsent(alice, init([a, b], { recordingId: 'x' }))).rejects.toThrow(/recordingId must be 32 lowercase hex/)
    await expect(createRecordingConsent(alice, init([a, b], { callId: 'AB'.repeat(16) }))).rejects.toThrow(/callId must be 32 lowercase hex/)
    await expect(createRecordingConsent(alice, init([a]))).rejects.toThrow(/participants must name 2 to 8/)
    await expect(createRecordingConsent(alice, init([a, a]))).rejects.toThrow(/names a peer twice/)
    await expect(createRecordingConsent(alice, init([b, m]))).rejects.toThrow(/does not name the signer/)
    await expect(createRecordingConsent(alice, init([a, b], { ttlMs: MAX_RECORDING_CONSENT_TTL_MS + 1 }))).rejects.toThrow(/validity must be/)
    await expect(createRecordingConsent(alice, init([a, b], { kind: 'tape' }))).rejects.toThrow(/kind must be 'file' or 'stream'/)
    await expect(createRecordingConsent(alice, init([a, b], { kind: 'stream' }))).rejects.toThrow(/a stream consent needs streamUrl/)
    await expect(createRecordingConsent(alice, init([a, b], { kind: 'file', streamUrl: 'rtmp://x/y' }))).rejects.toThrow(/a file recording takes no streamUrl/)
    await expect(createRecordingConsent(alice, init([a, b], { kind: 'stream', streamUrl: '' }))).rejects.toThrow(/streamUrl must be a non-empty string/)
  })

  it('verifyRecordingConsent() refuses a lapsed consent, one from the future, a forged signature and edited bytes', async () => {
    const c = await createRecordingConsent(alice, init([a, b], { ttlMs: 60_000 }))
    await expect(verifyRecordingConsent(c.bytes, { now: NOW + 60_000 })).rejects.toMatchObject({ name: 'InvalidRecordingConsentError', reason: 'expired' })
    await expect(verifyRecordingConsent(c.bytes, { now: NOW - 61_000 })).rejects.toMatchObject({ reason: 'expired', message: expect.stringContaining('in the future') })
    // alice's public key, signed by mallory: a consent in alice's name
    const payload = encodeRecordingConsent({ publicKey: publicKeyToProtobuf(alice.publicKey), recordingId: REC, callId: CALL, participants: [a.toString(), b.toString()], relay: relay.toString(), kind: 'file', issuedAt: NOW, expiresAt: NOW + 60_000 })
    const forged = encodeSignedRecordingConsent({ payload, signature: await mallory.sign(new Uint8Array([...new TextEncoder().encode('auralink-recording-consent:'), ...payload])) })
    await expect(verifyRecordingConsent(forged, { now: NOW })).rejects.toMatchObject({ reason: 'signature' })
    const badPeer = encodeSignedRecordingConsent({ payload: encodeRecordingConsent({ publicKey: publicKeyToProtobuf(alice.publicKey), recordingId: REC, callId: CALL, participants: [a.toString(), 'not-a-peer-id'], relay: relay.toString(), kind: 'file', issuedAt: NOW, expiresAt: NOW + 60_000 }), signature: new Uint8Array(64) })
    await expect(verifyRecordingConsent(badPeer, { now: NOW })).rejects.toMatchObject({ reason: 'malformed' })
    await expect(verifyRecordingConsent(new Uint8Array(MAX_RECORDING_CONSENT_BYTES + 1), { now: NOW })).rejects.toMatchObject({ name: 'MessageTooLargeError' })
  })

  it('any bytes a stranger sends are refused with one of the typed errors, never accepted and never another error', async () => {
    const good = (await createRecordingConsent(alice, init([a, b]))).bytes
    await fc.assert(fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 600 }), fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 1, max: 255 })).map(([i, x]) => { const c = Uint8Array.from(good); c[i]! ^= x; return c })), async (bytes) => {
      const name = await verifyRecordingConsent(bytes, { now: NOW }).then(() => 'accepted', (err: Error) => err.name)
      expect(['InvalidRecordingConsentError', 'MessageTooLargeError']).toContain(name)
    }), { numRuns: 200 })
  })

  it('checkRecordingConsents() agrees only on a full set for this relay from a participant: the earliest lapse is the recording\'s end', async () => {
    const ca = await createRecordingConsent(alice, init([a, b], { ttlMs: 20 * 60_000 }))
    const cb = await createRecordingConsent(bob, init([a, b], { ttlMs: 10 * 60_000 }))
    const agreed = await checkRecordingConsents([ca.bytes, cb.bytes], { relay, requester: b, now: NOW })
    expect(agreed).toMatchObject({ recordingId: REC, callId: CALL, kind: 'file', expiresAt: NOW + 10 * 60_000 })
    expect(agreed.consents.map((c) => c.signer.toString())).toEqual([a, b].map(String))
    const refuse = async (consents: Uint8Array[], expect2: { relay?: PeerId, requester?: PeerId }): Promise<string> =>
      checkRecordingConsents(consents, { relay: expect2.relay ?? relay, requester: expect2.requester ?? a, now: NOW }).then(() => 'agreed', (err: Error & { reason?: string }) => `${err.name} ${err.reason ?? ''}: ${err.message}`)
    // bob never agreed: alice's consent alone, or twice
    expect(await refuse([ca.bytes], {})).toMatch(/mismatch: a recording needs one consent per participant/)
    expect(await refuse([ca.bytes, ca.bytes], {})).toMatch(/mismatch: a participant gave two consents/)
    // mallory's consent to a recording of alice and bob, in place of bob's
    const cm = await createRecordingConsent(mallory, init([a, b, m]))
    expect(await refuse([ca.bytes, cm.bytes], {})).toMatch(/mismatch: .* are for different recordings/)
    // a set for another relay, shown here
    const other = (await generateKeyPair('Ed25519'))
    expect(await refuse([ca.bytes, cb.bytes], { relay: peerIdFromPublicKey(other.publicKey) })).toMatch(/mismatch: the consents are for relay/)
    // the right set, asked for by a stranger
    expect(await refuse([ca.bytes, cb.bytes], { requester: m })).toMatch(/mismatch: the requester .* is not a participant/)
    // a different recording id in bob's
    const cb2 = await createRecordingConsent(bob, init([a, b], { recordingId: 'ef'.repeat(16) }))
    expect(await refuse([ca.bytes, cb2.bytes], {})).toMatch(/different recordings/)
    // three participants, one missing
    const ca3 = await createRecordingConsent(alice, init([a, b, m]))
    const cb3 = await createRecordingConsent(bob, init([a, b, m]))
    expect(await refuse([ca3.bytes, cb3.bytes], {})).toMatch(/mismatch: no consent from/)
  })

  it('checkRecordingConsents() agrees on a stream only when every consent names the same destination; a consent whose destination is not a SHA-256 is refused', async () => {
    const url = 'rtmp://127.0.0.1:1935/live/secret-key'
    const ca = await createRecordingConsent(alice, init([a, b], { kind: 'stream', streamUrl: url }))
    const cb = await createRecordingConsent(bob, init([a, b], { kind: 'stream', streamUrl: url }))
    const agreed = await checkRecordingConsents([ca.bytes, cb.bytes], { relay, requester: a, now: NOW })
    expect(agreed.kind).toBe('stream')
    expect(agreed.destination).toEqual(await streamDestination(url))
    // bob agreed to stream elsewhere: no set
    const cbElsewhere = await createRecordingConsent(bob, init([a, b], { kind: 'stream', streamUrl: 'rtmp://evil.example/live/x' }))
    await expect(checkRecordingConsents([ca.bytes, cbElsewhere.bytes], { relay, requester: a, now: NOW })).rejects.toMatchObject({ name: 'InvalidRecordingConsentError', reason: 'mismatch' })
    // hand-signed consents with a destination that is no digest, or a file that names one
    const signed = async (kind: 'file' | 'stream', destination: Uint8Array): Promise<Uint8Array> => {
      const payload = encodeRecordingConsent({ publicKey: publicKeyToProtobuf(alice.publicKey), recordingId: REC, callId: CALL, participants: [a, b].map(String), relay: relay.toString(), kind, issuedAt: NOW, expiresAt: NOW + 60_000, destination })
      const sig = await alice.sign(new Uint8Array([...new TextEncoder().encode('auralink-recording-consent:'), ...payload]))
      return encodeSignedRecordingConsent({ payload, signature: sig })
    }
    await expect(verifyRecordingConsent(await signed('stream', new Uint8Array(5)), { now: NOW })).rejects.toThrow(/destination must be the 32-byte SHA-256/)
    await expect(verifyRecordingConsent(await signed('stream', new Uint8Array()), { now: NOW })).rejects.toThrow(/destination must be the 32-byte SHA-256/)
    await expect(verifyRecordingConsent(await signed('file', new Uint8Array(32)), { now: NOW })).rejects.toThrow(/a file recording names no destination/)
    // the same hand-made path signs a good one: the refusals above are for the field alone
    await expect(verifyRecordingConsent(await signed('stream', await streamDestination(url)), { now: NOW })).resolves.toMatchObject({ kind: 'stream' })
  })
})
