/**
 * Recording consents (issue 17; docs/recording.md): each participant of a call signs, with its own
 * key, that it agrees to one recording of that call at one relay, for a bounded time. A relay
 * records only when every participant the consents name has given one, all for the same recording
 * (checkRecordingConsents); nobody can be recorded on another's word.
 */
import {
  decodeRecordingConsent, decodeSignedRecordingConsent, encodeRecordingConsent, encodeSignedRecordingConsent,
  MAX_RECORDING_CONSENT_BYTES, MAX_RECORDING_CONSENT_TTL_MS, MAX_RECORDING_PARTICIPANTS, RECORDING_CONSENT_SIGNATURE_DOMAIN
} from '@auralink/protocol'
import { publicKeyFromProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id'
import { InvalidRecordingConsentError, MessageTooLargeError } from './errors.js'
import { withDomain } from './record.js'
import type { RecordingKind } from '@auralink/protocol'
import type { AbortOptions, PeerId, PrivateKey } from '@libp2p/interface'

/** How long a consent lasts by default: an hour of recording. */
export const DEFAULT_RECORDING_CONSENT_TTL_MS = 60 * 60 * 1000
/** How far ahead of the verifier's clock a consent's issue time may be. */
export const MAX_RECORDING_CONSENT_CLOCK_SKEW_MS = 60 * 1000

/** What `createRecordingConsent()` signs. */
export interface RecordingConsentInit extends AbortOptions {
  /** 32 lowercase hex characters, the same in every participant's consent. */
  recordingId: string
  /** The call's id (32 lowercase hex characters). */
  callId: string
  /** Every participant, the signer among them (2 to MAX_RECORDING_PARTICIPANTS, each once). */
  participants: PeerId[]
  /** The relay that records. */
  relay: PeerId
  /** @default 'file' */
  kind?: RecordingKind
  /** For a stream (kind 'stream', where it is required): the RTMP URL it goes to; the consent binds its SHA-256 (streamDestination()). */
  streamUrl?: string
  /** @default Date.now() */
  now?: number
  /** @default DEFAULT_RECORDING_CONSENT_TTL_MS (an hour); at most MAX_RECORDING_CONSENT_TTL_MS */
  ttlMs?: number
}

/** A verified consent. */
export interface RecordingConsent {
  /** Who consented (the key that signed). */
  signer: PeerId
  recordingId: string
  callId: string
  participants: PeerId[]
  relay: PeerId
  kind: RecordingKind
  /** For a stream: the SHA-256 of the RTMP URL consented to (32 bytes); empty for a file. */
  destination: Uint8Array
  issuedAt: number
  expiresAt: number
  /** The signed bytes, exactly as they travel. */
  bytes: Uint8Array
}

const HEX32 = /^[0-9a-f]{32}$/
const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')

/**
 * What a stream consent binds: the SHA-256 of its RTMP URL, exactly as given (32 bytes). The relay
 * streams only to a URL whose digest every consent names.
 */
export async function streamDestination (url: string): Promise<Uint8Array> {
  if (typeof url !== 'string' || url.length === 0) throw new TypeError(`streamUrl must be a non-empty string, got ${JSON.stringify(url)}`)
  return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(url)))
}
const DOMAIN = new TextEncoder().encode(RECORDING_CONSENT_SIGNATURE_DOMAIN)
const signedPart = (payload: Uint8Array): Uint8Array => withDomain(DOMAIN, payload)

/** Field checks shared by create (RangeError) and verify (InvalidRecordingConsentError 'fields'). */
function fieldProblem (f: { recordingId: string, callId: string, participants: PeerId[], kind: RecordingKind, destination: Uint8Array, issuedAt: number, expiresAt: number }, signer: PeerId): string | undefined {
  if (!HEX32.test(f.recordingId)) return `recordingId must be 32 lowercase hex characters, got ${JSON.stringify(f.recordingId.slice(0, 40))}`
  if (!HEX32.test(f.callId)) return `callId must be 32 lowercase hex characters, got ${JSON.stringify(f.callId.slice(0, 40))}`
  const ids = f.participants.map((p) => p.toString())
  if (ids.length < 2 || ids.length > MAX_RECORDING_PARTICIPANTS) return `participants must name 2 to ${MAX_RECORDING_PARTICIPANTS} peers, got ${ids.length}`
  if (new Set(ids).size !== ids.length) return 'participants names a peer twice'
  if (!ids.includes(signer.toString())) return `participants does not name the signer ${signer.toString()}`
  if (f.kind === 'stream' && f.destination.length !== 32) return `a stream's destination must be the 32-byte SHA-256 of its URL, got ${f.destination.length} bytes`
  if (f.kind === 'file' && f.destination.length !== 0) return 'a file recording names no destination'
  if (!Number.isSafeInteger(f.issuedAt) || !(f.expiresAt > f.issuedAt) || f.expiresAt - f.issuedAt > MAX_RECORDING_CONSENT_TTL_MS) return `validity must be more than 0 and at most ${MAX_RECORDING_CONSENT_TTL_MS} ms, got ${f.expiresAt - f.issuedAt}`
  return undefined
}

/** Signs `init` with the participant's key: its consent to the recording `init` describes. */
export async function createRecordingConsent (privateKey: PrivateKey, init: RecordingConsentInit): Promise<RecordingConsent> {
  const signer = peerIdFromPublicKey(privateKey.publicKey)
  if (!Array.isArray(init?.participants)) throw new TypeError(`participants must be an array of PeerIds, got ${typeof init?.participants}`)
  if (init.relay == null || typeof init.relay.toMultihash !== 'function') throw new TypeError('relay must be a PeerId')
  const kind = init.kind ?? 'file'
  if (kind !== 'file' && kind !== 'stream') throw new RangeError(`kind must be 'file' or 'stream', got ${JSON.stringify(kind)}`)
  if (kind === 'stream' && init.streamUrl === undefined) throw new TypeError('a stream consent needs streamUrl: the RTMP URL consented to')
  if (kind === 'file' && init.streamUrl !== undefined) throw new TypeError('a file recording takes no streamUrl')
  const destination = kind === 'stream' ? await streamDestination(init.streamUrl!) : new Uint8Array()
  const issuedAt = init.now ?? Date.now()
  const fields = { recordingId: init.recordingId, callId: init.callId, participants: init.participants, relay: init.relay, kind, destination, issuedAt, expiresAt: issuedAt + (init.ttlMs ?? DEFAULT_RECORDING_CONSENT_TTL_MS) }
  const problem = fieldProblem(fields, signer)
  if (problem !== undefined) throw new RangeError(problem)
  const payload = encodeRecordingConsent({
    ...fields,
    publicKey: publicKeyToProtobuf(privateKey.publicKey),
    participants: init.participants.map((p) => p.toString()),
    relay: init.relay.toString()
  })
  const signature = await privateKey.sign(signedPart(payload), init)
  const bytes = encodeSignedRecordingConsent({ payload, signature })
  if (bytes.length > MAX_RECORDING_CONSENT_BYTES) throw new RangeError(`the consent is ${bytes.length} bytes, over ${MAX_RECORDING_CONSENT_BYTES}`)
  return { ...fields, signer, bytes }
}

/**
 * Decodes and checks one signed consent: size (MessageTooLargeError), encoding (reason
 * 'malformed'), fields ('fields'), the signature by the key it names ('signature'), and that it is
 * in force at `now` ('expired': lapsed, or issued too far in the future).
 */
export async function verifyRecordingConsent (bytes: Uint8Array, options: AbortOptions & { now?: number } = {}): Promise<RecordingConsent> {
  let signed, m
  try {
    signed = decodeSignedRecordingConsent(bytes)
    m = decodeRecordingConsent(signed.payload)
  } catch (err) {
    if (err instanceof MessageTooLargeError) throw err
    throw new InvalidRecordingConsentError('malformed', `recording consent does not decode: ${(err as Error).message}`, { cause: err })
  }
  let publicKey, participants, relay
  try {
    publicKey = publicKeyFromProtobuf(m.publicKey)
    participants = m.participants.map((p) => peerIdFromString(p))
    relay = peerIdFromString(m.relay)
  } catch (err) {
    throw new InvalidRecordingConsentError('malformed', `recording consent has a bad key or PeerId: ${(err as Error).message}`, { cause: err })
  }
  const signer = peerIdFromPublicKey(publicKey)
  if (m.kind === undefined) throw new InvalidRecordingConsentError('fields', `recording consent of ${signer.toString()}: kind is none this version knows`)
  const kind = m.kind
  const problem = fieldProblem({ ...m, kind, participants }, signer)
  if (problem !== undefined) throw new InvalidRecordingConsentError('fields', `recording consent of ${signer.toString()}: ${problem}`)
  let ok = false
  try {
    ok = await publicKey.verify(signedPart(signed.payload), signed.signature, options)
  } catch {
    options.signal?.throwIfAborted()
  }
  if (!ok) throw new InvalidRecordingConsentError('signature', `recording consent of ${signer.toString()}: signature does not verify`)
  const now = options.now ?? Date.now()
  if (m.expiresAt <= now) throw new InvalidRecordingConsentError('expired', `recording consent of ${signer.toString()} lapsed ${now - m.expiresAt} ms ago`)
  if (m.issuedAt > now + MAX_RECORDING_CONSENT_CLOCK_SKEW_MS) throw new InvalidRecordingConsentError('expired', `recording consent of ${signer.toString()} is issued ${m.issuedAt - now} ms in the future`)
  return { signer, recordingId: m.recordingId, callId: m.callId, participants, relay, kind, destination: m.destination, issuedAt: m.issuedAt, expiresAt: m.expiresAt, bytes }
}

/** What a set of consents agrees on: the recording every participant consented to, and until when all of them did. */
export interface AgreedRecording {
  recordingId: string
  callId: string
  participants: PeerId[]
  relay: PeerId
  kind: RecordingKind
  /** For a stream: the SHA-256 of the RTMP URL every consent names; empty for a file. */
  destination: Uint8Array
  /** The earliest lapse of the consents: the recording must end by then. */
  expiresAt: number
  consents: RecordingConsent[]
}

/**
 * Verifies every consent and checks that together they are every participant's consent to one
 * recording at `relay`, and that `requester` (the peer asking the relay) is one of them.
 * InvalidRecordingConsentError: a bad consent (its reason), or 'mismatch' (they differ in the
 * recording, call, participants, relay, kind or destination; one is missing or given twice; the relay or the
 * requester is not the one they name).
 */
export async function checkRecordingConsents (consents: readonly Uint8Array[], expect: AbortOptions & { relay: PeerId, requester: PeerId, now?: number }): Promise<AgreedRecording> {
  if (consents.length < 2 || consents.length > MAX_RECORDING_PARTICIPANTS) throw new InvalidRecordingConsentError('mismatch', `a recording needs one consent per participant: 2 to ${MAX_RECORDING_PARTICIPANTS}, got ${consents.length}`)
  const checked: RecordingConsent[] = []
  for (const bytes of consents) checked.push(await verifyRecordingConsent(bytes, expect))
  const first = checked[0]!
  const key = (c: RecordingConsent): string => JSON.stringify([c.recordingId, c.callId, c.participants.map((p) => p.toString()), c.relay.toString(), c.kind, hex(c.destination)])
  const mismatch = (why: string): never => { throw new InvalidRecordingConsentError('mismatch', why) }
  for (const c of checked) if (key(c) !== key(first)) mismatch(`the consents of ${first.signer.toString()} and ${c.signer.toString()} are for different recordings`)
  if (!first.relay.equals(expect.relay)) mismatch(`the consents are for relay ${first.relay.toString()}, not this one (${expect.relay.toString()})`)
  const signers = new Set(checked.map((c) => c.signer.toString()))
  if (signers.size !== checked.length) mismatch('a participant gave two consents')
  const missing = first.participants.filter((p) => !signers.has(p.toString()))
  if (missing.length > 0) mismatch(`no consent from ${missing.map((p) => p.toString()).join(', ')}`)
  if (!first.participants.some((p) => p.equals(expect.requester))) mismatch(`the requester ${expect.requester.toString()} is not a participant`)
  return {
    recordingId: first.recordingId,
    callId: first.callId,
    participants: first.participants,
    relay: first.relay,
    kind: first.kind,
    destination: first.destination,
    expiresAt: Math.min(...checked.map((c) => c.expiresAt)),
    consents: checked
  }
}
