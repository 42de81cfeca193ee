/**
 * The relay's check of a participant's RecordRequest (issue 17; docs/recording.md), before any
 * media is touched: the bytes decode within their limits, the fields are in bounds, this relay has
 * room (recordings at once, per peer: checked before any signature, so a flood of requests costs
 * no crypto), and the consents are a full set for this relay, asked for by one of its participants.
 * The recording ends by the consents' earliest lapse, or the relay's own cap if sooner.
 */
import { checkRecordingConsents } from '@auralink/identity'
import { decodeRecordRequest, MAX_RECORD_OFFER_BYTES, MAX_RECORD_TRACKS } from '@auralink/protocol'
import type { AgreedRecording } from '@auralink/identity'
import type { PeerId } from '@libp2p/interface'

/** A relay's recording limits (each a documented default of the relay's flags, to come). */
export interface RecordLimits {
  /** Participants' uploads recorded at once on this relay. */
  maxRecordings: number
  /** Uploads recorded at once from one peer. */
  maxRecordingsPerPeer: number
  /** Longest one upload is recorded, whatever the consents allow. */
  maxDurationMs: number
}

/** What the relay knows when a request comes. */
export interface RecordContext {
  relay: PeerId
  /** The peer whose connection the request came on. */
  requester: PeerId
  /** Uploads recorded now, in all and from the requester. */
  active: { total: number, fromRequester: number }
  /** @default Date.now() */
  now?: number
}

/** A request the relay takes, or why not (RecordResponse's result and message). */
export type RecordDecision =
  | { ok: true, agreed: AgreedRecording, offer: { type: 'offer', sdp: string }, tracks: number, endsAt: number }
  | { ok: false, result: 'bad-request' | 'no-consent' | 'limit', message: string }

/** The shortest recording worth starting: consents that lapse sooner are refused. */
const MIN_RECORDING_MS = 1_000

export async function checkRecordRequest (bytes: Uint8Array, ctx: RecordContext, limits: RecordLimits): Promise<RecordDecision> {
  let req
  try {
    req = decodeRecordRequest(bytes)
  } catch (err) {
    return { ok: false, result: 'bad-request', message: `the request does not decode: ${(err as Error).message}` }
  }
  if (!Number.isInteger(req.tracks) || req.tracks < 1 || req.tracks > MAX_RECORD_TRACKS) return { ok: false, result: 'bad-request', message: `tracks must be 1 to ${MAX_RECORD_TRACKS}, got ${req.tracks}` }
  if (req.offerSdp.length > MAX_RECORD_OFFER_BYTES || !req.offerSdp.startsWith('v=0')) return { ok: false, result: 'bad-request', message: `offer_sdp must be an SDP offer of at most ${MAX_RECORD_OFFER_BYTES} bytes` }
  if (ctx.active.total >= limits.maxRecordings) return { ok: false, result: 'limit', message: `this relay records ${limits.maxRecordings} uploads at once, all taken` }
  if (ctx.active.fromRequester >= limits.maxRecordingsPerPeer) return { ok: false, result: 'limit', message: `this relay records ${limits.maxRecordingsPerPeer} upload(s) at once per peer` }
  const now = ctx.now ?? Date.now()
  let agreed: AgreedRecording
  try {
    agreed = await checkRecordingConsents(req.consents, { relay: ctx.relay, requester: ctx.requester, now })
  } catch (err) {
    const e = err as Error & { reason?: string }
    if (e.name !== 'InvalidRecordingConsentError' && e.name !== 'MessageTooLargeError') throw err
    return { ok: false, result: 'no-consent', message: e.message.slice(0, 256) }
  }
  const endsAt = Math.min(agreed.expiresAt, now + limits.maxDurationMs)
  if (endsAt - now < MIN_RECORDING_MS) return { ok: false, result: 'no-consent', message: `the consents lapse in ${endsAt - now} ms: ask everyone again` }
  return { ok: true, agreed, offer: { type: 'offer', sdp: req.offerSdp }, tracks: req.tracks, endsAt }
}
