import {
  decodeRelayReports, decodeSignedRelayReports, encodeRelayReports, encodeSignedRelayReports, MAX_RELAY_REPORT_ENTRIES,
  MAX_RELAY_REPORTS_BYTES, RELAY_REPORTS_SIGNATURE_DOMAIN
} from '@auralink/protocol'
import { withDomain } from '@auralink/identity'
import { publicKeyFromProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id'
import { InvalidRelayReportError, MessageTooLargeError } from './errors.js'
import type { AbortOptions, PeerId, PrivateKey } from '@libp2p/interface'

/** How far ahead of our clock a batch's time may be. */
export const MAX_RELAY_REPORT_CLOCK_SKEW_MS = 60 * 1000
/** Oldest batch accepted: the scorer forgets reports older than its report TTL (1 hour) anyway. */
export const MAX_RELAY_REPORT_AGE_MS = 60 * 60 * 1000

/** One opinion: the relay, and the reporter's view of it from 0 (useless) to 1 (excellent). */
export interface RelayReportEntry {
  relay: PeerId
  value: number
}

/** A verified batch of reports. */
export interface RelayReports {
  reporter: PeerId
  at: number
  entries: RelayReportEntry[]
  /** The signed bytes, exactly as they travel. */
  bytes: Uint8Array
}

const DOMAIN = new TextEncoder().encode(RELAY_REPORTS_SIGNATURE_DOMAIN)
const signedPart = (payload: Uint8Array): Uint8Array => withDomain(DOMAIN, payload)

/** Makes and signs a batch of the peer's opinions of relays (values rounded to thousandths). */
export async function createRelayReports (privateKey: PrivateKey, entries: RelayReportEntry[], options: AbortOptions & { now?: number } = {}): Promise<RelayReports> {
  const reporter = peerIdFromPublicKey(privateKey.publicKey)
  if (!Array.isArray(entries) || entries.length === 0 || entries.length > MAX_RELAY_REPORT_ENTRIES) {
    throw new RangeError(`entries must be an array of 1 to ${MAX_RELAY_REPORT_ENTRIES} reports, got ${Array.isArray(entries) ? entries.length : typeof entries}`)
  }
  const seen = new Set<string>()
  const out = entries.map((e, i) => {
    if (e?.relay == null || typeof e.relay.toMultihash !== 'function') throw new TypeError(`entries[${i}].relay must be a PeerId`)
    if (typeof e.value !== 'number' || !(e.value >= 0 && e.value <= 1)) throw new RangeError(`entries[${i}].value must be a number from 0 to 1, got ${String(e.value)}`)
    const id = e.relay.toString()
    if (seen.has(id)) throw new RangeError(`entries[${i}]: a second report about ${id}`)
    if (e.relay.equals(reporter)) throw new RangeError(`entries[${i}]: a report about the reporter itself`)
    seen.add(id)
    return { relay: e.relay, value: Math.round(e.value * 1000) / 1000 }
  })
  const at = options.now ?? Date.now()
  const payload = encodeRelayReports({
    publicKey: publicKeyToProtobuf(privateKey.publicKey),
    entries: out.map((e) => ({ relay: e.relay.toString(), valueMilli: Math.round(e.value * 1000) })),
    at
  })
  const signature = await privateKey.sign(signedPart(payload), options)
  const bytes = encodeSignedRelayReports({ payload, signature })
  if (bytes.length > MAX_RELAY_REPORTS_BYTES) throw new RangeError(`the batch is ${bytes.length} bytes, over ${MAX_RELAY_REPORTS_BYTES}`)
  return { reporter, at, entries: out, bytes }
}

/**
 * Decodes and checks a signed batch: size (MessageTooLargeError), encoding (reason 'malformed'),
 * fields (1 to 64 entries, one per relay, none about the reporter, values 0..1000: 'fields'), the
 * signature by the key it names ('signature'), its time against `now` (older than 1 hour or more
 * than 1 minute ahead: 'time'), and, with `from`, that it is signed by the peer it came from
 * ('sender'): nobody passes on someone else's opinions as their own.
 */
export async function verifyRelayReports (bytes: Uint8Array, options: AbortOptions & { now?: number, from?: PeerId } = {}): Promise<RelayReports> {
  let m
  let signed
  try {
    signed = decodeSignedRelayReports(bytes)
    m = decodeRelayReports(signed.payload)
  } catch (err) {
    if (err instanceof MessageTooLargeError || err instanceof TypeError) throw err
    throw new InvalidRelayReportError('malformed', `relay reports do not decode: ${(err as Error).message}`, { cause: err })
  }
  let publicKey
  let relays: PeerId[]
  try {
    publicKey = publicKeyFromProtobuf(m.publicKey)
    relays = m.entries.map((e) => peerIdFromString(e.relay))
  } catch (err) {
    throw new InvalidRelayReportError('malformed', `relay reports have a bad key or relay id: ${(err as Error).message}`, { cause: err })
  }
  const reporter = peerIdFromPublicKey(publicKey)
  const who = reporter.toString()
  if (m.entries.length === 0 || m.entries.length > MAX_RELAY_REPORT_ENTRIES) throw new InvalidRelayReportError('fields', `relay reports of ${who}: ${m.entries.length} entries, not 1 to ${MAX_RELAY_REPORT_ENTRIES}`)
  const ids = new Set(relays.map((r) => r.toString()))
  if (ids.size !== relays.length) throw new InvalidRelayReportError('fields', `relay reports of ${who}: a relay reported twice`)
  if (ids.has(who)) throw new InvalidRelayReportError('fields', `relay reports of ${who}: a report about the reporter itself`)
  const bad = m.entries.find((e) => e.valueMilli > 1000)
  if (bad !== undefined) throw new InvalidRelayReportError('fields', `relay reports of ${who}: value ${bad.valueMilli} over 1000`)
  let ok = false
  try {
    ok = await publicKey.verify(signedPart(signed.payload), signed.signature, options)
  } catch {
    options.signal?.throwIfAborted()
  }
  if (!ok) throw new InvalidRelayReportError('signature', `relay reports of ${who}: signature does not verify`)
  const now = options.now ?? Date.now()
  if (m.at > now + MAX_RELAY_REPORT_CLOCK_SKEW_MS) throw new InvalidRelayReportError('time', `relay reports of ${who} are dated ${m.at - now} ms in the future`)
  if (m.at < now - MAX_RELAY_REPORT_AGE_MS) throw new InvalidRelayReportError('time', `relay reports of ${who} are ${now - m.at} ms old, over ${MAX_RELAY_REPORT_AGE_MS}`)
  if (options.from !== undefined && !options.from.equals(reporter)) {
    throw new InvalidRelayReportError('sender', `relay reports signed by ${who} came from ${options.from.toString()}`)
  }
  return { reporter, at: m.at, entries: m.entries.map((e, i) => ({ relay: relays[i]!, value: e.valueMilli / 1000 })), bytes }
}
