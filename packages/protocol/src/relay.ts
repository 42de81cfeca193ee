import { auralink } from './gen/relay.js'
import { safeDecode, toSafeNumber } from './codec.js'

const pb = auralink.relay

/** The gossipsub topic relays publish their signed adverts on. */
export const RELAY_ADVERT_TOPIC = '/auralink/relay-adverts/1.0.0'
/** Prefix of the bytes a relay advert's signature covers (then the encoded RelayAdvert). */
export const RELAY_ADVERT_SIGNATURE_DOMAIN = 'auralink-relay-advert:'
/** A signed advert is a key, a few addresses and a handful of fields: 4 KiB is plenty. */
export const MAX_RELAY_ADVERT_BYTES = 4 * 1024
/** Most addresses one advert may list. */
export const MAX_RELAY_ADVERT_ADDRS = 16
/** Longest region tag. */
export const MAX_RELAY_REGION_LENGTH = 32

/** The fields of a `RelayAdvert` message (protos/relay.proto), as encodeRelayAdvert takes them. */
export type RelayAdvertFields = auralink.relay.RelayAdvert.$Properties
/** The fields of a `SignedRelayAdvert` message (protos/relay.proto), as encodeSignedRelayAdvert takes them. */
export type SignedRelayAdvertFields = auralink.relay.SignedRelayAdvert.$Properties

/** A decoded advert, 64-bit times as numbers. */
export interface RelayAdvertMessage {
  publicKey: Uint8Array
  addrs: Uint8Array[]
  capacity: number
  load: number
  version: string
  aicSupport: boolean
  region: string
  issuedAt: number
  expiresAt: number
}

/** Encodes a `RelayAdvert` message (protos/relay.proto) to protobuf bytes. */
export const encodeRelayAdvert = (m: RelayAdvertFields): Uint8Array => pb.RelayAdvert.encode(m).finish()
/** Decodes a `RelayAdvert` message (protos/relay.proto); oversized, truncated or malformed bytes throw MessageTooLargeError or MalformedMessageError. */
export function decodeRelayAdvert (b: Uint8Array): RelayAdvertMessage {
  const m = safeDecode('RelayAdvert', pb.RelayAdvert, b, MAX_RELAY_ADVERT_BYTES)
  return {
    publicKey: m.publicKey,
    addrs: m.addrs,
    capacity: m.capacity,
    load: m.load,
    version: m.version,
    aicSupport: m.aicSupport,
    region: m.region,
    issuedAt: toSafeNumber('RelayAdvert', 'issuedAt', m.issuedAt),
    expiresAt: toSafeNumber('RelayAdvert', 'expiresAt', m.expiresAt)
  }
}

/** Encodes a `SignedRelayAdvert` message (protos/relay.proto) to protobuf bytes. */
export const encodeSignedRelayAdvert = (m: SignedRelayAdvertFields): Uint8Array => pb.SignedRelayAdvert.encode(m).finish()
/** Decodes a `SignedRelayAdvert` message (protos/relay.proto); oversized, truncated or malformed bytes throw MessageTooLargeError or MalformedMessageError. */
export const decodeSignedRelayAdvert = (b: Uint8Array): { payload: Uint8Array, signature: Uint8Array } =>
  safeDecode('SignedRelayAdvert', pb.SignedRelayAdvert, b, MAX_RELAY_ADVERT_BYTES)

/** Peers send each other signed relay reports on this protocol: one message per stream. */
export const RELAY_REPORTS_PROTOCOL = '/auralink/relay-reports/1.0.0'
/** Prefix of the bytes a report batch's signature covers (then the encoded RelayReports). */
export const RELAY_REPORTS_SIGNATURE_DOMAIN = 'auralink-relay-reports:'
/** Most relays one batch may rate. */
export const MAX_RELAY_REPORT_ENTRIES = 64
/** A key, 64 entries of a PeerId and a number, a signature: 8 KiB is plenty. */
export const MAX_RELAY_REPORTS_BYTES = 8 * 1024

/** The fields of a `RelayReports` message (protos/relay.proto), as encodeRelayReports takes them. */
export type RelayReportsFields = auralink.relay.RelayReports.$Properties

/** A decoded report batch, its time as a number. */
export interface RelayReportsMessage {
  publicKey: Uint8Array
  entries: Array<{ relay: string, valueMilli: number }>
  at: number
}

/** Encodes a `RelayReports` message (protos/relay.proto) to protobuf bytes. */
export const encodeRelayReports = (m: RelayReportsFields): Uint8Array => pb.RelayReports.encode(m).finish()
/** Decodes a `RelayReports` message (protos/relay.proto); oversized, truncated or malformed bytes throw MessageTooLargeError or MalformedMessageError. */
export function decodeRelayReports (b: Uint8Array): RelayReportsMessage {
  const m = safeDecode('RelayReports', pb.RelayReports, b, MAX_RELAY_REPORTS_BYTES)
  return {
    publicKey: m.publicKey,
    entries: m.entries.map((e) => ({ relay: e.relay ?? '', valueMilli: e.valueMilli ?? 0 })),
    at: toSafeNumber('RelayReports', 'at', m.at)
  }
}

/** Encodes a `SignedRelayReports` message (protos/relay.proto) to protobuf bytes. */
export const encodeSignedRelayReports = (m: auralink.relay.SignedRelayReports.$Properties): Uint8Array => pb.SignedRelayReports.encode(m).finish()
/** Decodes a `SignedRelayReports` message (protos/relay.proto); oversized, truncated or malformed bytes throw MessageTooLargeError or MalformedMessageError. */
export const decodeSignedRelayReports = (b: Uint8Array): { payload: Uint8Array, signature: Uint8Array } =>
  safeDecode('SignedRelayReports', pb.SignedRelayReports, b, MAX_RELAY_REPORTS_BYTES)

/**
 * A relay answers a stream on this protocol with its own signed advert and then those of the
 * relays it knows from gossipsub, each length-prefixed, and closes: how peers learn of relays.
 */
export const RELAY_LIST_PROTOCOL = '/auralink/relays/1.0.0'
/** Most adverts one answer carries, the relay's own included. */
export const MAX_RELAY_LIST_ADVERTS = 65

/**
 * A peer sends one RelayProbeRequest on this protocol; the relay answers with that many bytes and
 * closes: the peer measures its throughput through the relay (`relay-probe.ts` in the mesh).
 */
export const RELAY_PROBE_PROTOCOL = '/auralink/relay-probe/1.0.0'
/** Most bytes one probe may ask for. */
export const MAX_RELAY_PROBE_BYTES = 1024 * 1024
/** A request is one small varint field. */
export const MAX_RELAY_PROBE_REQUEST_BYTES = 16

/** Encodes a `RelayProbeRequest` message (protos/relay.proto) to protobuf bytes. */
export const encodeRelayProbeRequest = (m: { bytes: number }): Uint8Array => pb.RelayProbeRequest.encode(m).finish()
/** Decodes a `RelayProbeRequest` message (protos/relay.proto); oversized, truncated or malformed bytes throw MessageTooLargeError or MalformedMessageError. */
export function decodeRelayProbeRequest (b: Uint8Array): { bytes: number } {
  const m = safeDecode('RelayProbeRequest', pb.RelayProbeRequest, b, MAX_RELAY_PROBE_REQUEST_BYTES)
  return { bytes: m.bytes }
}

/** Prefix of the bytes a recording consent's signature covers (then the encoded RecordingConsent). */
export const RECORDING_CONSENT_SIGNATURE_DOMAIN = 'auralink-recording-consent:'
/** A key, up to 9 PeerIds, two ids, a signature: 2 KiB is plenty. */
export const MAX_RECORDING_CONSENT_BYTES = 2 * 1024
/** Most participants one recording may name (a call with AuraLink's group calls' largest size). */
export const MAX_RECORDING_PARTICIPANTS = 8
/** Longest a consent may last: a recording that runs longer needs a fresh one from everyone. */
export const MAX_RECORDING_CONSENT_TTL_MS = 4 * 60 * 60 * 1000

/** What a consent is for: a file on the relay, or a stream out over RTMP. */
export type RecordingKind = 'file' | 'stream'
const KINDS: Record<RecordingKind, number> = { file: pb.RecordingKind.RECORDING_KIND_FILE, stream: pb.RecordingKind.RECORDING_KIND_STREAM }

/** A decoded consent, 64-bit times as numbers; `kind` undefined when it is none this version knows. */
export interface RecordingConsentMessage {
  publicKey: Uint8Array
  recordingId: string
  callId: string
  participants: string[]
  relay: string
  kind: RecordingKind | undefined
  issuedAt: number
  expiresAt: number
  /** For a stream: the SHA-256 of its RTMP URL (32 bytes); empty for a file. */
  destination: Uint8Array
}

/** The fields of a `RecordingConsent` (protos/relay.proto), as encodeRecordingConsent takes them. */
export interface RecordingConsentFields {
  publicKey: Uint8Array
  recordingId: string
  callId: string
  participants: string[]
  relay: string
  kind: RecordingKind
  issuedAt: number
  expiresAt: number
  /** For a stream: the SHA-256 of its RTMP URL (32 bytes); omitted or empty for a file. */
  destination?: Uint8Array
}

/** Encodes a `RecordingConsent` message (protos/relay.proto) to protobuf bytes. */
export const encodeRecordingConsent = (m: RecordingConsentFields): Uint8Array => pb.RecordingConsent.encode({ ...m, kind: KINDS[m.kind] }).finish()
/** Decodes a `RecordingConsent` message (protos/relay.proto); oversized, truncated or malformed bytes throw MessageTooLargeError or MalformedMessageError. */
export function decodeRecordingConsent (b: Uint8Array): RecordingConsentMessage {
  const m = safeDecode('RecordingConsent', pb.RecordingConsent, b, MAX_RECORDING_CONSENT_BYTES)
  const kind = (Object.keys(KINDS) as RecordingKind[]).find((k) => KINDS[k] === m.kind)
  return {
    publicKey: m.publicKey,
    recordingId: m.recordingId,
    callId: m.callId,
    participants: m.participants,
    relay: m.relay,
    kind,
    issuedAt: toSafeNumber('RecordingConsent', 'issuedAt', m.issuedAt),
    expiresAt: toSafeNumber('RecordingConsent', 'expiresAt', m.expiresAt),
    destination: Uint8Array.from(m.destination ?? [])
  }
}

/** Encodes a `SignedRecordingConsent` message (protos/relay.proto) to protobuf bytes. */
export const encodeSignedRecordingConsent = (m: { payload: Uint8Array, signature: Uint8Array }): Uint8Array => pb.SignedRecordingConsent.encode(m).finish()
/** Decodes a `SignedRecordingConsent` message (protos/relay.proto); oversized, truncated or malformed bytes throw MessageTooLargeError or MalformedMessageError. */
export const decodeSignedRecordingConsent = (b: Uint8Array): { payload: Uint8Array, signature: Uint8Array } =>
  safeDecode('SignedRecordingConsent', pb.SignedRecordingConsent, b, MAX_RECORDING_CONSENT_BYTES)

/** Participants ask a relay to record their media on this protocol (docs/recording.md): one request per stream. */
export const RECORD_PROTOCOL = '/auralink/record/1.0.0'
/** Most bytes of a WebRTC offer in a RecordRequest. */
export const MAX_RECORD_OFFER_BYTES = 16 * 1024
/** A request holds at most 8 consents and an offer. */
export const MAX_RECORD_REQUEST_BYTES = MAX_RECORDING_PARTICIPANTS * MAX_RECORDING_CONSENT_BYTES + MAX_RECORD_OFFER_BYTES + 256
/** Most tracks one participant's upload may send. */
export const MAX_RECORD_TRACKS = 4
/** Longest RTMP URL a stream may go to (host, application, stream key). */
export const MAX_STREAM_URL_CHARS = 1024
/** An answer (SDP) and a message: 24 KiB is plenty. */
export const MAX_RECORD_RESPONSE_BYTES = 24 * 1024

/** The outcome of a RecordRequest, as RecordResponse.result says it. */
export type RecordResult = 'ok' | 'bad-request' | 'no-consent' | 'limit' | 'failed'
const RESULTS: Record<RecordResult, number> = {
  ok: pb.RecordResult.RECORD_RESULT_OK,
  'bad-request': pb.RecordResult.RECORD_RESULT_BAD_REQUEST,
  'no-consent': pb.RecordResult.RECORD_RESULT_NO_CONSENT,
  limit: pb.RecordResult.RECORD_RESULT_LIMIT,
  failed: pb.RecordResult.RECORD_RESULT_FAILED
}

/**
 * A `RecordRequest` (protos/relay.proto): every participant's signed consent, the requester's offer
 * and its track count; for a stream, its RTMP URL (empty for a file).
 */
export interface RecordRequestMessage { consents: Uint8Array[], offerSdp: string, tracks: number, streamUrl?: string }

/** Where a stream out stands (RecordResponse.stream_state). */
export type StreamState = 'connecting' | 'live' | 'reconnecting'
const STREAM_STATES: Record<StreamState, number> = {
  connecting: pb.StreamState.STREAM_STATE_CONNECTING,
  live: pb.StreamState.STREAM_STATE_LIVE,
  reconnecting: pb.StreamState.STREAM_STATE_RECONNECTING
}

/**
 * A decoded `RecordResponse`: `result` undefined when it is none this version knows; `endsAt` and
 * `startedAt` ms since the epoch (`startedAt` 0 except on the message that says the recording
 * began); `streamState` set only on a message that says a stream's state changed.
 */
export interface RecordResponseMessage { result: RecordResult | undefined, answerSdp: string, message: string, endsAt: number, startedAt: number, streamState?: StreamState }

/** Encodes a `RecordRequest` message (protos/relay.proto) to protobuf bytes. */
export const encodeRecordRequest = (m: RecordRequestMessage): Uint8Array => pb.RecordRequest.encode({ ...m, streamUrl: m.streamUrl ?? '' }).finish()
/** Decodes a `RecordRequest` message (protos/relay.proto); oversized, truncated or malformed bytes throw MessageTooLargeError or MalformedMessageError. */
export function decodeRecordRequest (b: Uint8Array): Required<RecordRequestMessage> {
  const m = safeDecode('RecordRequest', pb.RecordRequest, b, MAX_RECORD_REQUEST_BYTES)
  return { consents: m.consents, offerSdp: m.offerSdp, tracks: m.tracks, streamUrl: m.streamUrl ?? '' }
}

/** Encodes a `RecordResponse` message (protos/relay.proto) to protobuf bytes. */
export const encodeRecordResponse = (m: { result: RecordResult, answerSdp?: string, message?: string, endsAt?: number, startedAt?: number, streamState?: StreamState }): Uint8Array =>
  pb.RecordResponse.encode({ result: RESULTS[m.result], answerSdp: m.answerSdp ?? '', message: m.message ?? '', endsAt: m.endsAt ?? 0, startedAt: m.startedAt ?? 0, streamState: m.streamState !== undefined ? STREAM_STATES[m.streamState] : 0 }).finish()
/** Decodes a `RecordResponse` message (protos/relay.proto); `result` undefined when it is none this version knows. */
export function decodeRecordResponse (b: Uint8Array): RecordResponseMessage {
  const m = safeDecode('RecordResponse', pb.RecordResponse, b, MAX_RECORD_RESPONSE_BYTES)
  const result = (Object.keys(RESULTS) as RecordResult[]).find((k) => RESULTS[k] === m.result)
  const streamState = (Object.keys(STREAM_STATES) as StreamState[]).find((k) => STREAM_STATES[k] === m.streamState)
  return {
    result,
    answerSdp: m.answerSdp,
    message: m.message,
    endsAt: toSafeNumber('RecordResponse', 'endsAt', m.endsAt),
    startedAt: toSafeNumber('RecordResponse', 'startedAt', m.startedAt),
    ...(streamState !== undefined ? { streamState } : {})
  }
}

/** SIP calls through a relay (docs/sip.md): SipRequest, SipControl and SipEvent, length-prefixed. */
export const SIP_PROTOCOL = '/auralink/sip/1.0.0'
/** Most characters of a SIP target URI. */
export const MAX_SIP_TARGET_CHARS = 256
/** Most bytes of a WebRTC offer in a SipRequest. */
export const MAX_SIP_OFFER_BYTES = 16 * 1024
/** Most DTMF digits in one SipControl. */
export const MAX_SIP_DTMF_DIGITS = 32
/** Most bytes of one message on SIP_PROTOCOL, either way (a request's offer, or the relay's answer). */
export const MAX_SIP_MESSAGE_BYTES = MAX_SIP_OFFER_BYTES + 1024
/** The digits a SipControl may carry (RFC 4733's events 0-15). */
export const SIP_DTMF_PATTERN = /^[0-9*#A-D]+$/

/** Where a SIP call stands (SipEvent.state). */
export type SipCallState = 'calling' | 'ringing' | 'connected' | 'ended'
const SIP_STATES: Record<SipCallState, number> = {
  calling: pb.SipCallState.SIP_CALL_STATE_CALLING,
  ringing: pb.SipCallState.SIP_CALL_STATE_RINGING,
  connected: pb.SipCallState.SIP_CALL_STATE_CONNECTED,
  ended: pb.SipCallState.SIP_CALL_STATE_ENDED
}

/**
 * Why a SIP call ended (SipEvent.end_reason): 'hangup' (by the client), 'remote-hangup', the far
 * end's refusals ('busy', 'declined', 'not-found', 'unreachable'), 'failed' (another error answer,
 * or the relay's media failed), and the relay's own: 'refused' (it would not place the call),
 * 'limit' (calls at once).
 */
export type SipEndReason = 'hangup' | 'remote-hangup' | 'busy' | 'declined' | 'not-found' | 'unreachable' | 'failed' | 'refused' | 'limit'
const SIP_END_REASONS: Record<SipEndReason, number> = {
  hangup: pb.SipEndReason.SIP_END_REASON_HANGUP,
  'remote-hangup': pb.SipEndReason.SIP_END_REASON_REMOTE_HANGUP,
  busy: pb.SipEndReason.SIP_END_REASON_BUSY,
  declined: pb.SipEndReason.SIP_END_REASON_DECLINED,
  'not-found': pb.SipEndReason.SIP_END_REASON_NOT_FOUND,
  unreachable: pb.SipEndReason.SIP_END_REASON_UNREACHABLE,
  failed: pb.SipEndReason.SIP_END_REASON_FAILED,
  refused: pb.SipEndReason.SIP_END_REASON_REFUSED,
  limit: pb.SipEndReason.SIP_END_REASON_LIMIT
}

/** A `SipRequest` (protos/relay.proto): the SIP URI to call and the client's offer. */
export interface SipRequestMessage { target: string, offerSdp: string }
/** A `SipControl`: DTMF digits to send, or the hangup. */
export interface SipControlMessage { dtmf: string, hangup: boolean }
/**
 * A decoded `SipEvent`: `state` undefined when it is none this version knows; `endReason` set
 * with state 'ended' (undefined when unknown); `status` the SIP status that ended it (0: none).
 */
export interface SipEventMessage { answerSdp: string, state: SipCallState | undefined, dtmf: string, endReason?: SipEndReason, status: number, message: string }

const keyOf = <K extends string>(table: Record<K, number>, v: number): K | undefined => (Object.keys(table) as K[]).find((k) => table[k] === v)

/** Encodes a `SipRequest` message (protos/relay.proto) to protobuf bytes. */
export const encodeSipRequest = (m: SipRequestMessage): Uint8Array => pb.SipRequest.encode(m).finish()
/** Decodes a `SipRequest` message (protos/relay.proto); oversized, truncated or malformed bytes throw MessageTooLargeError or MalformedMessageError. */
export function decodeSipRequest (b: Uint8Array): SipRequestMessage {
  const m = safeDecode('SipRequest', pb.SipRequest, b, MAX_SIP_MESSAGE_BYTES)
  return { target: m.target, offerSdp: m.offerSdp }
}

/** Encodes a `SipControl` message (protos/relay.proto) to protobuf bytes. */
export const encodeSipControl = (m: Partial<SipControlMessage>): Uint8Array => pb.SipControl.encode({ dtmf: m.dtmf ?? '', hangup: m.hangup ?? false }).finish()
/** Decodes a `SipControl` message (protos/relay.proto); oversized, truncated or malformed bytes throw MessageTooLargeError or MalformedMessageError. */
export function decodeSipControl (b: Uint8Array): SipControlMessage {
  const m = safeDecode('SipControl', pb.SipControl, b, MAX_SIP_MESSAGE_BYTES)
  return { dtmf: m.dtmf, hangup: m.hangup }
}

/** Encodes a `SipEvent` message (protos/relay.proto) to protobuf bytes. */
export const encodeSipEvent = (m: { answerSdp?: string, state?: SipCallState, dtmf?: string, endReason?: SipEndReason, status?: number, message?: string }): Uint8Array =>
  pb.SipEvent.encode({
    answerSdp: m.answerSdp ?? '',
    state: m.state !== undefined ? SIP_STATES[m.state] : 0,
    dtmf: m.dtmf ?? '',
    endReason: m.endReason !== undefined ? SIP_END_REASONS[m.endReason] : 0,
    status: m.status ?? 0,
    message: (m.message ?? '').slice(0, 256)
  }).finish()
/** Decodes a `SipEvent` message (protos/relay.proto); `state` and `endReason` undefined when this version knows none such. */
export function decodeSipEvent (b: Uint8Array): SipEventMessage {
  const m = safeDecode('SipEvent', pb.SipEvent, b, MAX_SIP_MESSAGE_BYTES)
  const endReason = keyOf(SIP_END_REASONS, m.endReason)
  return { answerSdp: m.answerSdp, state: keyOf(SIP_STATES, m.state), dtmf: m.dtmf, ...(endReason !== undefined ? { endReason } : {}), status: m.status, message: m.message }
}

/** SIP calls to a client (docs/sip.md "Inbound"): SipIncoming from the relay, then as on SIP_PROTOCOL. */
export const SIP_INBOUND_PROTOCOL = '/auralink/sip-in/1.0.0'
/** Most characters of a caller's display name in a SipIncoming. */
export const MAX_SIP_DISPLAY_NAME_CHARS = 64

/** A `SipIncoming` (protos/relay.proto): who calls. */
export interface SipIncomingMessage { from: string, displayName: string }

/** Encodes a `SipIncoming` message (protos/relay.proto) to protobuf bytes; the display name is cut to MAX_SIP_DISPLAY_NAME_CHARS. */
export const encodeSipIncoming = (m: SipIncomingMessage): Uint8Array => pb.SipIncoming.encode({ from: m.from, displayName: m.displayName.slice(0, MAX_SIP_DISPLAY_NAME_CHARS) }).finish()
/** Decodes a `SipIncoming` message (protos/relay.proto); oversized, truncated or malformed bytes throw MessageTooLargeError or MalformedMessageError. */
export function decodeSipIncoming (b: Uint8Array): SipIncomingMessage {
  const m = safeDecode('SipIncoming', pb.SipIncoming, b, MAX_SIP_MESSAGE_BYTES)
  return { from: m.from, displayName: m.displayName }
}
