/**
 * Signed access to a relay's recordings (issue 17; docs/recording.md "Playback"): a participant
 * proves it holds its key by signing, for one relay, which recording it wants (or '' for the list
 * of its recordings) and until when the request holds (at most 10 minutes ahead). The three values
 * travel in a URL's query (`peer`, `expires`, `sig`), so a `<video src>` can carry them; the relay
 * checks the signature with the key the PeerId embeds, then whether that peer took part.
 */
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { withDomain } from './record.js'
import type { PeerId, PrivateKey } from '@libp2p/interface'

/** Prefix of the bytes a recording access signature covers. */
export const RECORDING_ACCESS_SIGNATURE_DOMAIN = 'auralink-recording-access:'
/** Longest a signed access may stay valid. */
export const MAX_RECORDING_ACCESS_TTL_MS = 10 * 60 * 1000
/** What `signRecordingAccess()` uses when no ttl is given. */
export const DEFAULT_RECORDING_ACCESS_TTL_MS = 5 * 60 * 1000

/** The query parameters of a signed access: who, until when (ms since the epoch), the signature (base64url). */
export interface RecordingAccess { peer: string, expires: string, sig: string }

const HEX32 = /^[0-9a-f]{32}$/
const DOMAIN = new TextEncoder().encode(RECORDING_ACCESS_SIGNATURE_DOMAIN)

function signed (relay: string, recordingId: string, expires: number): Uint8Array {
  return withDomain(DOMAIN, new TextEncoder().encode(`${relay}\n${recordingId}\n${expires}`))
}

const toBase64Url = (b: Uint8Array): string => btoa(String.fromCharCode(...b)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
function fromBase64Url (s: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(s)) return undefined
  try {
    return Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - s.length % 4) % 4)), (c) => c.charCodeAt(0))
  } catch {
    return undefined
  }
}

/**
 * Signs access to `recordingId` ('' for the list of this key's recordings) at `relay`, valid for
 * `ttlMs` (at most MAX_RECORDING_ACCESS_TTL_MS).
 */
export async function signRecordingAccess (privateKey: PrivateKey, init: { relay: PeerId, recordingId?: string, ttlMs?: number, now?: number }): Promise<RecordingAccess> {
  const recordingId = init.recordingId ?? ''
  if (recordingId !== '' && !HEX32.test(recordingId)) throw new TypeError(`recordingId must be 32 lowercase hex characters, got ${JSON.stringify(recordingId.slice(0, 40))}`)
  const ttl = init.ttlMs ?? DEFAULT_RECORDING_ACCESS_TTL_MS
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_RECORDING_ACCESS_TTL_MS) throw new RangeError(`ttlMs must be 1 to ${MAX_RECORDING_ACCESS_TTL_MS}, got ${String(ttl)}`)
  const expires = (init.now ?? Date.now()) + ttl
  const sig = await privateKey.sign(signed(init.relay.toString(), recordingId, expires))
  return { peer: peerIdFromPrivateKey(privateKey).toString(), expires: String(expires), sig: toBase64Url(sig) }
}

/**
 * The peer a signed access proves, or why not ('malformed', 'expired', 'signature'): the
 * signature is the peer's own (its PeerId embeds its Ed25519 key), over this relay, this
 * recording id ('' for the list) and `expires`, which must be in the future and at most
 * MAX_RECORDING_ACCESS_TTL_MS ahead.
 */
export async function verifyRecordingAccess (access: Partial<Record<keyof RecordingAccess, string | null>>, expect: { relay: PeerId, recordingId: string, now?: number }):
Promise<{ ok: true, peer: PeerId } | { ok: false, reason: 'malformed' | 'expired' | 'signature', message: string }> {
  const { peer, expires, sig } = access
  if (typeof peer !== 'string' || typeof expires !== 'string' || typeof sig !== 'string') return { ok: false, reason: 'malformed', message: 'a signed request needs peer, expires and sig' }
  if (!/^\d{1,16}$/.test(expires)) return { ok: false, reason: 'malformed', message: 'expires must be ms since the epoch' }
  const bytes = fromBase64Url(sig)
  if (bytes?.length !== 64) return { ok: false, reason: 'malformed', message: 'sig must be a base64url Ed25519 signature' }
  let id: PeerId
  try {
    id = peerIdFromString(peer)
  } catch {
    return { ok: false, reason: 'malformed', message: 'peer is not a PeerId' }
  }
  if (id.type !== 'Ed25519' || id.publicKey === undefined) return { ok: false, reason: 'malformed', message: 'peer must be an Ed25519 PeerId' }
  const now = expect.now ?? Date.now()
  const until = Number(expires)
  if (until <= now) return { ok: false, reason: 'expired', message: `the request expired ${now - until} ms ago` }
  if (until > now + MAX_RECORDING_ACCESS_TTL_MS) return { ok: false, reason: 'expired', message: `the request is valid for more than ${MAX_RECORDING_ACCESS_TTL_MS} ms` }
  const key = publicKeyFromRaw(id.publicKey.raw)
  const ok = await Promise.resolve(key.verify(signed(expect.relay.toString(), expect.recordingId, until), bytes)).catch(() => false)
  if (!ok) return { ok: false, reason: 'signature', message: 'the signature does not verify for this peer, relay, recording and time' }
  return { ok: true, peer: id }
}
