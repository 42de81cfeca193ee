import {
  decodeAuraIdRecord, decodeSignedAuraIdRecord, decodeSignedUnregister, decodeUnregisterPayload,
  encodeAuraIdRecord, encodeSignedAuraIdRecord, encodeSignedUnregister, encodeUnregisterPayload,
  MAX_RECORD_BYTES, RECORD_SIGNATURE_DOMAIN, UNREGISTER_SIGNATURE_DOMAIN, Visibility as PbVisibility
} from '@auralink/protocol'
import { publicKeyToProtobuf } from '@libp2p/crypto/keys'
import {
  DEFAULT_RECORD_TTL_S, DEFAULT_RECORD_VALIDITY_MS, MAX_AVATAR_LENGTH, MAX_DISPLAY_NAME_LENGTH,
  MAX_RECORD_RELAY_LENGTH, MAX_RECORD_RELAYS, MAX_RECORD_VALIDITY_MS, UNREGISTER_MAX_SKEW_MS
} from './constants.js'
import {
  InvalidRecordError, InvalidSignatureError, MalformedRecordError, RecordExpiredError, RecordTooLargeError
} from './errors.js'
import { decodeEd25519PublicKey, peerIdOf } from './keys.js'
import { validateAuraId } from './name.js'
import type { AbortOptions, Ed25519PrivateKey, Ed25519PublicKey, PeerId } from '@libp2p/interface'

/** Who may find a record: 'public' (listed in searches, in the DHT), 'unlisted' (by exact name, never listed) or 'private' (by exact name, from the directory that holds it only). */
export type Visibility = 'public' | 'unlisted' | 'private'

/** A record's optional profile: short, self-declared, unverified strings. */
export interface Profile {
  displayName?: string
  avatar?: string
}

/** A verified AuraID record: the binding of `name` to `publicKey`. */
export interface AuraIdRecord {
  readonly name: string
  readonly publicKey: Ed25519PublicKey
  readonly peerId: PeerId
  readonly sequence: number
  /** End of validity, ms since the Unix epoch. */
  readonly validity: number
  /** Seconds a resolver may cache it. */
  readonly ttl: number
  readonly visibility: Visibility
  readonly profile?: Profile
  /**
   * Relay multiaddrs (each ending in /p2p/<relay id>) the holder says it can be reached through:
   * self-declared, like the profile. Empty when the record names none.
   */
  readonly relays: readonly string[]
  /** The signed record exactly as it travels (a SignedAuraIdRecord). */
  readonly bytes: Uint8Array
}

/** Options of `createRecord()`: the name and what the record says about it. */
export interface CreateRecordInit extends AbortOptions {
  name: string
  /** @default 1 */
  sequence?: number
  /** End of validity, ms since the Unix epoch. @default now + 30 days */
  validity?: number
  /** @default 300 */
  ttl?: number
  /** @default 'public' */
  visibility?: Visibility
  profile?: Profile
  /** Relay multiaddrs the holder can be reached through, at most 4 (MAX_RECORD_RELAYS). @default [] */
  relays?: string[]
  /** The clock, for tests. @default Date.now() */
  now?: number
}

/** Options of `verifyRecord()`. */
export interface VerifyRecordOptions extends AbortOptions {
  /** The clock against which validity is checked. @default Date.now() */
  now?: number
  /** Accept a record whose validity has ended (for selecting between stored records). @default false */
  allowExpired?: boolean
}

const VISIBILITY_TO_PB: Record<Visibility, PbVisibility> = {
  public: PbVisibility.VISIBILITY_PUBLIC,
  unlisted: PbVisibility.VISIBILITY_UNLISTED,
  private: PbVisibility.VISIBILITY_PRIVATE
}
const encoder = new TextEncoder()
const RECORD_DOMAIN = encoder.encode(RECORD_SIGNATURE_DOMAIN)
const UNREGISTER_DOMAIN = encoder.encode(UNREGISTER_SIGNATURE_DOMAIN)

/** `domain` followed by `payload`: what a domain-separated signature covers. */
export function withDomain (domain: Uint8Array, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(domain.length + payload.length)
  out.set(domain)
  out.set(payload, domain.length)
  return out
}

/** A signature of the wrong length makes some verifiers throw; that is a failed verification too. */
async function verifies (key: Ed25519PublicKey, data: Uint8Array, signature: Uint8Array, options: AbortOptions): Promise<boolean> {
  try {
    return await key.verify(data, signature, options)
  } catch {
    options.signal?.throwIfAborted()
    return false
  }
}

function visibilityFromPb (v: number): Visibility {
  switch (v) {
    case PbVisibility.VISIBILITY_PUBLIC: return 'public'
    case PbVisibility.VISIBILITY_UNLISTED: return 'unlisted'
    case PbVisibility.VISIBILITY_PRIVATE: return 'private'
    default: throw new InvalidRecordError(`unknown visibility ${v}`)
  }
}

function checkFields (f: { sequence: number, validity: number, ttl: number, profile?: Profile, relays: readonly string[] }): void {
  if (!Array.isArray(f.relays) || f.relays.length > MAX_RECORD_RELAYS) {
    throw new RangeError(`relays must be a list of at most ${MAX_RECORD_RELAYS} multiaddrs, got ${Array.isArray(f.relays) ? f.relays.length : typeof f.relays}`)
  }
  for (const [i, r] of f.relays.entries()) {
    if (typeof r !== 'string' || !r.startsWith('/') || r.length > MAX_RECORD_RELAY_LENGTH || !r.includes('/p2p/')) {
      throw new RangeError(`relays[${i}] must be a multiaddr of at most ${MAX_RECORD_RELAY_LENGTH} characters ending in /p2p/<relay id>, got ${JSON.stringify(String(r).slice(0, 80))}`)
    }
  }
  if (!Number.isSafeInteger(f.sequence) || f.sequence < 1) {
    throw new RangeError(`sequence must be a positive integer, got ${f.sequence}`)
  }
  if (!Number.isSafeInteger(f.validity) || f.validity < 0) {
    throw new RangeError(`validity must be ms since the epoch, got ${f.validity}`)
  }
  if (!Number.isInteger(f.ttl) || f.ttl < 0 || f.ttl > 0xffffffff) {
    throw new RangeError(`ttl must be whole seconds, got ${f.ttl}`)
  }
  if ((f.profile?.displayName?.length ?? 0) > MAX_DISPLAY_NAME_LENGTH) {
    throw new RangeError(`profile.displayName is over ${MAX_DISPLAY_NAME_LENGTH} characters`)
  }
  if ((f.profile?.avatar?.length ?? 0) > MAX_AVATAR_LENGTH) {
    throw new RangeError(`profile.avatar is over ${MAX_AVATAR_LENGTH} characters`)
  }
}

/**
 * Creates and signs a record binding `init.name` to `privateKey`'s public key. The signature
 * covers "auralink-auraid-record:" followed by the encoded record, so it can never be
 * replayed as a signature for anything else.
 */
export async function createRecord (privateKey: Ed25519PrivateKey, init: CreateRecordInit): Promise<AuraIdRecord> {
  const name = validateAuraId(init.name)
  const now = init.now ?? Date.now()
  const fields = {
    sequence: init.sequence ?? 1,
    validity: init.validity ?? now + DEFAULT_RECORD_VALIDITY_MS,
    ttl: init.ttl ?? DEFAULT_RECORD_TTL_S,
    profile: init.profile,
    relays: init.relays ?? []
  }
  checkFields(fields)
  const visibility = init.visibility ?? 'public'
  if (!(visibility in VISIBILITY_TO_PB)) {
    throw new TypeError(`visibility must be 'public', 'unlisted' or 'private', got ${String(visibility)}`)
  }
  if (fields.validity > now + MAX_RECORD_VALIDITY_MS) {
    throw new RangeError(`validity is more than ${MAX_RECORD_VALIDITY_MS / 86_400_000} days ahead`)
  }
  const payload = encodeAuraIdRecord({
    name,
    publicKey: publicKeyToProtobuf(privateKey.publicKey),
    sequence: fields.sequence,
    validity: fields.validity,
    ttl: fields.ttl,
    visibility: VISIBILITY_TO_PB[visibility],
    profile: fields.profile,
    relays: fields.relays
  })
  const signature = await privateKey.sign(withDomain(RECORD_DOMAIN, payload), init)
  const bytes = encodeSignedAuraIdRecord({ payload, signature })
  if (bytes.byteLength > MAX_RECORD_BYTES) {
    throw new RecordTooLargeError(`record for ${name} is ${bytes.byteLength} bytes, over ${MAX_RECORD_BYTES}`)
  }
  return {
    name,
    publicKey: privateKey.publicKey,
    peerId: peerIdOf(privateKey.publicKey),
    sequence: fields.sequence,
    validity: fields.validity,
    ttl: fields.ttl,
    visibility,
    ...(fields.profile !== undefined ? { profile: fields.profile } : {}),
    relays: [...fields.relays],
    bytes
  }
}

/**
 * Decodes and verifies a signed record. Throws, in this order of checks:
 * RecordTooLargeError (over 10 KiB), MalformedRecordError (not a record), InvalidAuraIdError
 * (the name breaks a rule), InvalidRecordError (not an Ed25519 key, fields out of range),
 * InvalidSignatureError, RecordExpiredError (unless `allowExpired`).
 */
export async function verifyRecord (bytes: Uint8Array, options: VerifyRecordOptions = {}): Promise<AuraIdRecord> {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`record must be a Uint8Array, got ${bytes === null ? 'null' : typeof bytes}`)
  }
  if (bytes.byteLength > MAX_RECORD_BYTES) {
    throw new RecordTooLargeError(`record is ${bytes.byteLength} bytes, over ${MAX_RECORD_BYTES}`)
  }
  let signed, rec
  try {
    signed = decodeSignedAuraIdRecord(bytes)
    rec = decodeAuraIdRecord(signed.payload)
  } catch (err) {
    throw new MalformedRecordError(`record could not be decoded: ${(err as Error).message}`, { cause: err })
  }
  const name = validateAuraId(rec.name)
  let publicKey: Ed25519PublicKey
  try {
    publicKey = decodeEd25519PublicKey(rec.publicKey)
  } catch (err) {
    throw new InvalidRecordError(`record for ${name} has no valid Ed25519 public key`, { cause: err })
  }
  const profile: Profile | undefined = rec.profile == null
    ? undefined
    : {
        ...(rec.profile.displayName != null && rec.profile.displayName !== '' ? { displayName: rec.profile.displayName } : {}),
        ...(rec.profile.avatar != null && rec.profile.avatar !== '' ? { avatar: rec.profile.avatar } : {})
      }
  const fields = { sequence: rec.sequence, validity: rec.validity, ttl: rec.ttl, profile, relays: rec.relays ?? [] }
  try {
    checkFields(fields)
  } catch (err) {
    throw new InvalidRecordError(`record for ${name}: ${(err as Error).message}`, { cause: err })
  }
  const visibility = visibilityFromPb(rec.visibility)
  if (!await verifies(publicKey, withDomain(RECORD_DOMAIN, signed.payload), signed.signature, options)) {
    throw new InvalidSignatureError(`signature of the record for ${name} does not verify`)
  }
  const now = options.now ?? Date.now()
  if (options.allowExpired !== true && rec.validity <= now) {
    throw new RecordExpiredError(`record for ${name} expired at ${isoTime(rec.validity)}`)
  }
  if (rec.validity > now + MAX_RECORD_VALIDITY_MS) {
    throw new InvalidRecordError(`record for ${name} claims validity more than ${MAX_RECORD_VALIDITY_MS / 86_400_000} days ahead`)
  }
  return {
    name,
    publicKey,
    peerId: peerIdOf(publicKey),
    sequence: rec.sequence,
    validity: rec.validity,
    ttl: rec.ttl,
    visibility,
    ...(profile !== undefined && Object.keys(profile).length > 0 ? { profile } : {}),
    relays: [...fields.relays],
    bytes
  }
}

/**
 * Picks the better of two records for the same name: the higher sequence, then the later
 * validity; on a tie the first. Returns 0 or 1, as libp2p record selectors do.
 */
export function selectRecord (a: Pick<AuraIdRecord, 'sequence' | 'validity'>, b: Pick<AuraIdRecord, 'sequence' | 'validity'>): 0 | 1 {
  if (b.sequence !== a.sequence) return b.sequence > a.sequence ? 1 : 0
  return b.validity > a.validity ? 1 : 0
}

/** A verified request to release a name. */
export interface UnregisterProof {
  readonly name: string
  readonly timestamp: number
  readonly publicKey: Ed25519PublicKey
  readonly peerId: PeerId
  readonly bytes: Uint8Array
}

/** Signs a request to release `name`, stamped with the current time. */
export async function createUnregister (privateKey: Ed25519PrivateKey, name: string, options: AbortOptions & { now?: number } = {}): Promise<Uint8Array> {
  const payload = encodeUnregisterPayload({ name: validateAuraId(name), timestamp: options.now ?? Date.now() })
  const signature = await privateKey.sign(withDomain(UNREGISTER_DOMAIN, payload), options)
  return encodeSignedUnregister({ payload, signature })
}

/**
 * A signer's time (ms since 1970) for an error message: ISO 8601, or the number itself when no
 * Date can hold it (past year 275760: `toISOString()` would throw RangeError, not our error).
 */
function isoTime (ms: number): string {
  const date = new Date(ms)
  return Number.isNaN(date.getTime()) ? `${ms} ms since 1970 (no such date)` : date.toISOString()
}

/**
 * Verifies an unregister proof against the key that holds the name. Throws MalformedRecordError,
 * InvalidSignatureError, or RecordExpiredError when its timestamp is more than 5 minutes from `now`.
 */
export async function verifyUnregister (bytes: Uint8Array, holder: Ed25519PublicKey, options: AbortOptions & { now?: number } = {}): Promise<UnregisterProof> {
  let signed, payload
  try {
    signed = decodeSignedUnregister(bytes)
    payload = decodeUnregisterPayload(signed.payload)
  } catch (err) {
    throw new MalformedRecordError(`unregister request could not be decoded: ${(err as Error).message}`, { cause: err })
  }
  const name = validateAuraId(payload.name)
  if (!await verifies(holder, withDomain(UNREGISTER_DOMAIN, signed.payload), signed.signature, options)) {
    throw new InvalidSignatureError(`unregister request for ${name} is not signed by the key that holds it`)
  }
  const now = options.now ?? Date.now()
  if (Math.abs(now - payload.timestamp) > UNREGISTER_MAX_SKEW_MS) {
    throw new RecordExpiredError(`unregister request for ${name} is stamped ${isoTime(payload.timestamp)}, too far from now`)
  }
  return { name, timestamp: payload.timestamp, publicKey: holder, peerId: peerIdOf(holder), bytes }
}
