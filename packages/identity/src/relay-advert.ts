import {
  decodeRelayAdvert, decodeSignedRelayAdvert, encodeRelayAdvert, encodeSignedRelayAdvert, MAX_RELAY_ADVERT_ADDRS,
  MAX_RELAY_ADVERT_BYTES, MAX_RELAY_REGION_LENGTH, RELAY_ADVERT_SIGNATURE_DOMAIN
} from '@auralink/protocol'
import { publicKeyFromProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { ExpiredRelayAdvertError, InvalidRelayAdvertError, MessageTooLargeError } from './errors.js'
import { withDomain } from './record.js'
import type { AbortOptions, PeerId, PrivateKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** How long an advert is valid by default: a relay republishes well before. */
export const DEFAULT_RELAY_ADVERT_TTL_MS = 10 * 60 * 1000
/** Longest validity an advert may claim: a stolen one cannot live long. */
export const MAX_RELAY_ADVERT_TTL_MS = 60 * 60 * 1000
/** How far ahead of our clock an advert's issue time may be. */
export const MAX_RELAY_ADVERT_CLOCK_SKEW_MS = 60 * 1000

/** What `createRelayAdvert()` signs: where to reach the relay and its load. */
export interface RelayAdvertInit extends AbortOptions {
  /** Where to reach the relay; each must end in /p2p/<the key's PeerId>. */
  addrs: Array<string | Multiaddr>
  /** Reservations it holds at most, and now. */
  capacity: number
  load: number
  version: string
  /** @default false */
  aicSupport?: boolean
  /** @default '' */
  region?: string
  /** @default Date.now() */
  now?: number
  /** @default DEFAULT_RELAY_ADVERT_TTL_MS (10 minutes) */
  ttlMs?: number
}

/** A verified advert. */
export interface RelayAdvert {
  peerId: PeerId
  addrs: Multiaddr[]
  capacity: number
  load: number
  version: string
  aicSupport: boolean
  region: string
  issuedAt: number
  expiresAt: number
  /** The signed bytes, exactly as they travel. */
  bytes: Uint8Array
}

const encoder = new TextEncoder()
const DOMAIN = encoder.encode(RELAY_ADVERT_SIGNATURE_DOMAIN)

const signedPart = (payload: Uint8Array): Uint8Array => withDomain(DOMAIN, payload)

/** Field checks shared by create (TypeError/RangeError naming the argument) and verify (InvalidRelayAdvertError). */
function fieldProblem (f: { addrs: Multiaddr[], capacity: number, load: number, version: string, region: string, issuedAt: number, expiresAt: number }, peerId: PeerId): string | undefined {
  if (f.addrs.length === 0 || f.addrs.length > MAX_RELAY_ADVERT_ADDRS) return `addrs must hold 1 to ${MAX_RELAY_ADVERT_ADDRS} addresses, got ${f.addrs.length}`
  for (const a of f.addrs) {
    const id = a.getComponents().findLast((c) => c.name === 'p2p')?.value
    if (id !== peerId.toString()) return `addrs entry ${a.toString()} does not end in /p2p/${peerId.toString()}`
  }
  if (!Number.isInteger(f.capacity) || f.capacity < 0) return `capacity must be a whole number >= 0, got ${f.capacity}`
  if (!Number.isInteger(f.load) || f.load < 0 || f.load > f.capacity) return `load must be a whole number from 0 to capacity (${f.capacity}), got ${f.load}`
  if (f.version === '' || f.version.length > 64) return `version must be 1 to 64 characters, got ${JSON.stringify(f.version)}`
  if (f.region.length > MAX_RELAY_REGION_LENGTH) return `region must be at most ${MAX_RELAY_REGION_LENGTH} characters, got ${f.region.length}`
  if (!(f.expiresAt > f.issuedAt) || f.expiresAt - f.issuedAt > MAX_RELAY_ADVERT_TTL_MS) return `validity must be more than 0 and at most ${MAX_RELAY_ADVERT_TTL_MS} ms, got ${f.expiresAt - f.issuedAt}`
  return undefined
}

/** Makes and signs an advert for the relay whose key is `privateKey`. */
export async function createRelayAdvert (privateKey: PrivateKey, init: RelayAdvertInit): Promise<RelayAdvert> {
  const peerId = peerIdFromPublicKey(privateKey.publicKey)
  if (!Array.isArray(init?.addrs)) throw new TypeError(`addrs must be an array of multiaddrs, got ${typeof init?.addrs}`)
  const addrs = init.addrs.map((a, i) => {
    try {
      return typeof a === 'string' ? multiaddr(a) : a
    } catch (err) {
      throw new TypeError(`addrs[${i}] is not a multiaddr: ${JSON.stringify(String(a))}`, { cause: err })
    }
  })
  const issuedAt = init.now ?? Date.now()
  const fields = {
    addrs, capacity: init.capacity, load: init.load, version: init.version, aicSupport: init.aicSupport ?? false,
    region: init.region ?? '', issuedAt, expiresAt: issuedAt + (init.ttlMs ?? DEFAULT_RELAY_ADVERT_TTL_MS)
  }
  const problem = fieldProblem(fields, peerId)
  if (problem !== undefined) throw new RangeError(problem)
  const payload = encodeRelayAdvert({ ...fields, publicKey: publicKeyToProtobuf(privateKey.publicKey), addrs: addrs.map((a) => a.bytes) })
  const signature = await privateKey.sign(signedPart(payload), init)
  const bytes = encodeSignedRelayAdvert({ payload, signature })
  if (bytes.length > MAX_RELAY_ADVERT_BYTES) throw new RangeError(`the advert is ${bytes.length} bytes, over ${MAX_RELAY_ADVERT_BYTES}: fewer or shorter addrs`)
  return { ...fields, peerId, bytes }
}

/**
 * Decodes and checks a signed advert: size (MessageTooLargeError), encoding and fields
 * (InvalidRelayAdvertError, reason 'malformed' or 'fields'), the signature by the key it names
 * (reason 'signature'), and its validity against `now` (ExpiredRelayAdvertError). Every
 * refusal is the sender's fault: callers count it against the peer that sent it.
 */
export async function verifyRelayAdvert (bytes: Uint8Array, options: AbortOptions & { now?: number } = {}): Promise<RelayAdvert> {
  let signed, m
  try {
    signed = decodeSignedRelayAdvert(bytes)
    m = decodeRelayAdvert(signed.payload)
  } catch (err) {
    if (err instanceof MessageTooLargeError || err instanceof TypeError) throw err
    throw new InvalidRelayAdvertError('malformed', `relay advert does not decode: ${(err as Error).message}`, { cause: err })
  }
  let publicKey, addrs
  try {
    publicKey = publicKeyFromProtobuf(m.publicKey)
    addrs = m.addrs.map((a) => multiaddr(a))
  } catch (err) {
    throw new InvalidRelayAdvertError('malformed', `relay advert has a bad key or address: ${(err as Error).message}`, { cause: err })
  }
  const peerId = peerIdFromPublicKey(publicKey)
  const problem = fieldProblem({ ...m, addrs }, peerId)
  if (problem !== undefined) throw new InvalidRelayAdvertError('fields', `relay advert of ${peerId.toString()}: ${problem}`)
  let ok = false
  try {
    ok = await publicKey.verify(signedPart(signed.payload), signed.signature, options)
  } catch {
    options.signal?.throwIfAborted()
  }
  if (!ok) throw new InvalidRelayAdvertError('signature', `relay advert of ${peerId.toString()}: signature does not verify`)
  const now = options.now ?? Date.now()
  if (m.expiresAt <= now) throw new ExpiredRelayAdvertError(`relay advert of ${peerId.toString()} expired ${now - m.expiresAt} ms ago`)
  if (m.issuedAt > now + MAX_RELAY_ADVERT_CLOCK_SKEW_MS) throw new ExpiredRelayAdvertError(`relay advert of ${peerId.toString()} is issued ${m.issuedAt - now} ms in the future`)
  return { peerId, addrs, capacity: m.capacity, load: m.load, version: m.version, aicSupport: m.aicSupport, region: m.region, issuedAt: m.issuedAt, expiresAt: m.expiresAt, bytes }
}
