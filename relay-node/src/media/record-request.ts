/**
 * The relay's check of a participant's RecordRequest (issue 17; docs/recording.md), before any
 * media is touched: the bytes decode within their limits, the fields are in bounds, this relay has
 * room (recordings at once, per peer: checked before any signature, so a flood of requests costs
 * no crypto), and the consents are a full set for this relay, asked for by one of its participants.
 * The recording ends by the consents' earliest lapse, or the relay's own cap if sooner.
 */
import { checkRecordingConsents, streamDestination } from '@auralink/identity'
import { decodeRecordRequest, MAX_RECORD_OFFER_BYTES, MAX_RECORD_TRACKS, MAX_STREAM_URL_CHARS } from '@auralink/protocol'
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
  /** The RTMP hosts streams may go to (config `streamHosts`): none, no streams. @default [] */
  streamHosts?: readonly string[]
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
  | { ok: true, agreed: AgreedRecording, offer: { type: 'offer', sdp: string }, tracks: number, endsAt: number, streamUrl: string }
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
  if (req.streamUrl !== '') {
    const problem = streamUrlProblem(req.streamUrl)
    if (problem !== undefined) return { ok: false, result: 'bad-request', message: problem }
    const hosts = limits.streamHosts ?? []
    if (hosts.length === 0) return { ok: false, result: 'limit', message: 'this relay streams nowhere: its operator lists no --stream-host' }
    if (!hostAllowed(new URL(req.streamUrl), hosts)) return { ok: false, result: 'limit', message: `this relay streams only to the hosts its operator lists (--stream-host); ${new URL(req.streamUrl).host} is not one` }
  }
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
  if (agreed.kind === 'file' && req.streamUrl !== '') return { ok: false, result: 'bad-request', message: 'a file recording\'s request carries no stream_url' }
  if (agreed.kind === 'stream') {
    if (req.streamUrl === '') return { ok: false, result: 'bad-request', message: 'a stream\'s request must carry its RTMP URL (stream_url)' }
    const digest = await streamDestination(req.streamUrl)
    if (!digest.every((b, i) => b === agreed.destination[i])) return { ok: false, result: 'no-consent', message: 'the stream URL is not the destination the consents name' }
  }
  return { ok: true, agreed, offer: { type: 'offer', sdp: req.offerSdp }, tracks: req.tracks, endsAt, streamUrl: req.streamUrl }
}

/**
 * Why `url` cannot be streamed to, or undefined: rtmp:// or rtmps:// only, at most
 * MAX_STREAM_URL_CHARS of printable ASCII (it goes to ffmpeg as one argument; nothing it could
 * read as an option or another protocol), a host, no user or password.
 */
export function streamUrlProblem (url: string): string | undefined {
  if (url.length > MAX_STREAM_URL_CHARS) return `stream_url must be at most ${MAX_STREAM_URL_CHARS} characters, got ${url.length}`
  if (!/^[\x21-\x7e]+$/.test(url)) return 'stream_url must be printable ASCII without spaces'
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return `stream_url ${JSON.stringify(url.slice(0, 80))} is not a URL`
  }
  if (u.protocol !== 'rtmp:' && u.protocol !== 'rtmps:') return `stream_url must be rtmp:// or rtmps://, got ${u.protocol}`
  if (u.hostname === '') return 'stream_url names no host'
  if (u.username !== '' || u.password !== '') return 'stream_url must not carry a user or password'
  return undefined
}

/** Whether `url`'s host (and port) is one of `hosts` (`host`, `host:port`, `*.domain`). */
export function hostAllowed (url: URL, hosts: readonly string[]): boolean {
  const host = url.hostname.toLowerCase()
  const port = url.port !== '' ? url.port : url.protocol === 'rtmps:' ? '443' : '1935'
  return hosts.some((entry) => {
    const m = /^(.*?)(?::(\d+))?$/.exec(entry.toLowerCase())!
    const [name, p] = [m[1]!, m[2]]
    if (p !== undefined && p !== port) return false
    return name.startsWith('*.') ? host.endsWith(name.slice(1)) && host.length > name.length - 1 : host === name
  })
}
