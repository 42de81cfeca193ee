import { randomBytes } from 'node:crypto'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { generateIdentityKey, MAX_RECORDING_ACCESS_TTL_MS, signRecordingAccess, verifyRecordingAccess } from '../src/index.js'

const hex = (): string => randomBytes(16).toString('hex')

describe('signed access to a relay\'s recordings', () => {
  it('verifyRecordingAccess(signRecordingAccess(...)) gives back the signer, for that relay, recording and time only', async () => {
    const key = await generateIdentityKey()
    const relay = peerIdFromPrivateKey(await generateIdentityKey())
    const other = peerIdFromPrivateKey(await generateIdentityKey())
    const id = hex()
    const now = 1_800_000_000_000
    const access = await signRecordingAccess(key, { relay, recordingId: id, now })
    expect(access).toMatchObject({ peer: peerIdFromPrivateKey(key).toString(), expires: String(now + 5 * 60_000) })
    expect(access.sig).toMatch(/^[A-Za-z0-9_-]{86}$/)
    const ok = await verifyRecordingAccess(access, { relay, recordingId: id, now })
    expect(ok.ok && ok.peer.equals(peerIdFromPrivateKey(key))).toBe(true)
    expect(await verifyRecordingAccess(access, { relay: other, recordingId: id, now })).toMatchObject({ ok: false, reason: 'signature' })
    expect(await verifyRecordingAccess(access, { relay, recordingId: hex(), now })).toMatchObject({ ok: false, reason: 'signature' })
    expect(await verifyRecordingAccess(access, { relay, recordingId: '', now })).toMatchObject({ ok: false, reason: 'signature' })
    expect(await verifyRecordingAccess(access, { relay, recordingId: id, now: now + 5 * 60_000 })).toMatchObject({ ok: false, reason: 'expired' })
    // someone else's PeerId on my signature, a later expiry on my signature
    expect(await verifyRecordingAccess({ ...access, peer: other.toString() }, { relay, recordingId: id, now })).toMatchObject({ ok: false, reason: 'signature' })
    expect(await verifyRecordingAccess({ ...access, expires: String(now + 6 * 60_000) }, { relay, recordingId: id, now })).toMatchObject({ ok: false, reason: 'signature' })
    // a request valid further ahead than the cap is refused even when signed so
    const long = await signRecordingAccess(key, { relay, recordingId: id, now, ttlMs: MAX_RECORDING_ACCESS_TTL_MS })
    expect((await verifyRecordingAccess(long, { relay, recordingId: id, now })).ok).toBe(true)
    expect(await verifyRecordingAccess(long, { relay, recordingId: id, now: now - 1000 })).toMatchObject({ ok: false, reason: 'expired' })
  })

  it.each([
    [{}, 'a signed request needs peer, expires and sig'],
    [{ expires: '12x' }, 'expires must be ms since the epoch'],
    [{ sig: 'abc' }, 'sig must be a base64url Ed25519 signature'],
    [{ sig: '*'.repeat(86) }, 'sig must be a base64url Ed25519 signature'],
    [{ peer: 'nobody' }, 'peer is not a PeerId'],
    [{ peer: 'QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N' }, 'peer must be an Ed25519 PeerId']
  ])('a malformed access (%j) is refused naming what is wrong', async (change, message) => {
    const key = await generateIdentityKey()
    const relay = peerIdFromPrivateKey(await generateIdentityKey())
    const id = hex()
    const access: Record<string, string | null> = { ...(await signRecordingAccess(key, { relay, recordingId: id })), ...change }
    if (Object.keys(change).length === 0) access.sig = null
    expect(await verifyRecordingAccess(access, { relay, recordingId: id })).toEqual({ ok: false, reason: 'malformed', message })
  })

  it('signRecordingAccess() refuses an id that is not 32 hex characters and a ttl over 10 minutes', async () => {
    const key = await generateIdentityKey()
    const relay = peerIdFromPrivateKey(key)
    await expect(signRecordingAccess(key, { relay, recordingId: '../x' })).rejects.toThrow(TypeError)
    await expect(signRecordingAccess(key, { relay, ttlMs: MAX_RECORDING_ACCESS_TTL_MS + 1 })).rejects.toThrow(RangeError)
  })
})
