import { EndReason as WireEndReason, MAX_GROUP_OPS } from '@auralink/protocol'
import type { AicSignal } from './aic-wire.js'
import type { MediaRequestFields, SignalMessage, SignalMessageFields } from '@auralink/protocol'

/** A call's public state. Incoming calls start 'ringing'; outgoing ones 'connecting'. */
export type CallState = 'ringing' | 'connecting' | 'connected' | 'reconnecting' | 'ended'

/** Why a call ended. 'hangup' is our own hangup(); 'remote-hangup' the other side's. */
export type CallEndReason =
  | 'hangup' | 'remote-hangup' | 'rejected' | 'busy' | 'timeout' | 'glare'
  | 'peer-vanished' | 'connection-lost' | 'protocol-error' | 'media-failed' | 'error'

export type CallRole = 'caller' | 'callee'

/** What a call carries: audio, video, and data (messages and files). */
export interface MediaRequest {
  audio: boolean
  video: boolean
  data: boolean
}

/** One trickled ICE candidate (RTCIceCandidateInit with the candidate line required). */
export interface MediaCandidate {
  candidate: string
  sdpMid?: string | null
  sdpMLineIndex?: number | null
  usernameFragment?: string | null
}

/**
 * A signal of the media session: an SDP offer or answer (either side may offer: perfect
 * negotiation, the caller being the impolite side), or one trickled ICE candidate.
 */
export type MediaSignal =
  | { type: 'offer' | 'answer', sdp: string }
  | { type: 'candidate', candidate: MediaCandidate }

/** What the call must do about a message it received. */
/** A recording message from the other side (recording.ts): an ask, an answer, a stop. */
export type RecordingSignal =
  | { type: 'ask', recordingId: string, relayAddr: string, consent: Uint8Array, streamUrl: string }
  | { type: 'answer', recordingId: string, agreed: boolean, consent: Uint8Array, reason: string }
  | { type: 'stop', recordingId: string, reason: string }

/** A GroupState as received: signed ops (checked by GroupMembership) and unsigned name hints. */
export interface GroupStateMessage { ops: Uint8Array[], names: Array<{ peer: string, auraId: string }> }

/** A GroupState message's fields, bounded (at most MAX_GROUP_OPS ops and as many names). */
export function groupStateOf (m: { ops?: Uint8Array[] | null, names?: Array<{ peer?: string | null, auraId?: string | null }> | null } | null | undefined): GroupStateMessage {
  return {
    ops: (m?.ops ?? []).slice(0, MAX_GROUP_OPS).map((o) => Uint8Array.from(o)),
    names: (m?.names ?? []).slice(0, MAX_GROUP_OPS).map((n) => ({ peer: (n.peer ?? '').slice(0, 128), auraId: (n.auraId ?? '').slice(0, 128) }))
  }
}

export type Effect =
  | { type: 'ignore', reason: string }
  | { type: 'accepted', media: MediaRequest, offerTaken?: true }
  | { type: 'ended', reason: CallEndReason, message: string }
  | { type: 'media-signal', signal: MediaSignal }
  | { type: 'chat', text?: string, data?: Uint8Array, seq: number }
  /** Answer with `message`; `ack`: the other side has our chat messages up to it. */
  | { type: 'reply', message: SignalMessageFields, ack?: number }
  /** The callee's answer to our Resume on a new call stream: it has our chat messages up to `chatReceived`. */
  | { type: 'resumed', chatReceived: number }
  | { type: 'pong', nonce: number }
  | { type: 'aic', message: AicSignal }
  | { type: 'recording', message: RecordingSignal }
  /** A group call's state from the other side (its signed ops and name hints, unchecked). */
  | { type: 'group', state: GroupStateMessage }
  /** The still-image codecs the other side decodes (unchecked: CallImages checks them). */
  | { type: 'images', codecs: string[] }

const END_REASONS = new Map<number, CallEndReason>([
  [WireEndReason.END_REASON_HANGUP, 'remote-hangup'],
  [WireEndReason.END_REASON_REJECTED, 'rejected'],
  [WireEndReason.END_REASON_BUSY, 'busy'],
  [WireEndReason.END_REASON_TIMEOUT, 'timeout'],
  [WireEndReason.END_REASON_PROTOCOL_ERROR, 'protocol-error'],
  [WireEndReason.END_REASON_GLARE, 'glare'],
  [WireEndReason.END_REASON_CONNECTION_LOST, 'connection-lost']
])

/**
 * The signalling state machine of one call, free of I/O so that it can be tested message by
 * message: it decides what each received SignalMessage means in the current state (or why it is
 * ignored), which messages a local action sends, and keeps answers in order: either side may
 * offer (its tracks changed), and an answer is taken only while an offer of ours is outstanding.
 * Collisions of two offers are the media session's to settle (perfect negotiation).
 */
export class CallMachine {
  readonly role: CallRole
  callId: string
  private _state: CallState
  private _accepted = false
  private _endReason: CallEndReason | undefined
  private offerOutstanding = false
  /** The caller's first offer went in the invite (see `invitedWithOffer()`). */
  private offerInInvite = false
  /** True once both sides' media requests are known and one of them wants audio or video. */
  private needsMedia = false
  readonly requested: MediaRequest
  private answered: MediaRequest | undefined

  constructor (role: CallRole, callId: string, requested: MediaRequest) {
    this.role = role
    this.callId = callId
    this.requested = requested
    this._state = role === 'caller' ? 'connecting' : 'ringing'
  }

  get state (): CallState { return this._state }
  get accepted (): boolean { return this._accepted }
  get endReason (): CallEndReason | undefined { return this._endReason }
  /** The media the callee accepted with, once it has. */
  get answer (): MediaRequest | undefined { return this.answered }
  /** Whether a media session (audio or video) belongs to this call once accepted. */
  get media (): boolean { return this.needsMedia }

  /** What a received message means. Never throws: anything out of place is ignored with a reason. */
  receive (msg: SignalMessage): Effect {
    if (msg.callId !== this.callId) return ignore(`message for call ${JSON.stringify(msg.callId)} on call ${this.callId}`)
    if (this._state === 'ended') return ignore(`${msg.body ?? 'empty message'} after the call ended`)
    switch (msg.body) {
      case 'invite':
        return ignore('a second invite on a call stream')
      case 'accept': {
        if (this.role !== 'caller') return ignore('accept sent to the callee')
        if (this._accepted) return ignore('a second accept')
        const media = toMedia(msg.accept?.media)
        this.onAccepted(media)
        // the callee took the invite's offer: its answer comes next
        if (this.offerInInvite && msg.accept?.offerTaken === true && this.needsMedia) {
          this.offerOutstanding = true
          return { type: 'accepted', media, offerTaken: true }
        }
        return { type: 'accepted', media }
      }
      case 'end': {
        const reason = END_REASONS.get(msg.end?.reason ?? 0) ?? 'remote-hangup'
        this.end(reason)
        return { type: 'ended', reason, message: (msg.end?.message ?? '').slice(0, 256) }
      }
      case 'description': {
        const type = msg.description?.type
        const sdp = msg.description?.sdp ?? ''
        if (!this._accepted || !this.needsMedia) return ignore(`${type ?? 'description'} before the call was accepted with media`)
        if (sdp === '') return ignore('a description without SDP')
        if (type === 'offer') return { type: 'media-signal', signal: { type: 'offer', sdp } }
        if (type === 'answer') {
          if (!this.offerOutstanding) return ignore('an answer with no offer outstanding')
          this.offerOutstanding = false
          return { type: 'media-signal', signal: { type: 'answer', sdp } }
        }
        return ignore(`a description of unknown type ${JSON.stringify(type)}`)
      }
      case 'candidate': {
        if (!this._accepted || !this.needsMedia) return ignore('an ICE candidate before the call was accepted with media')
        const c = msg.candidate
        if (c == null || typeof c.candidate !== 'string') return ignore('an empty ICE candidate')
        return {
          type: 'media-signal',
          signal: { type: 'candidate', candidate: { candidate: c.candidate, sdpMid: c.sdpMid ?? null, sdpMLineIndex: c.sdpMLineIndex ?? 0, usernameFragment: c.usernameFragment === '' ? null : (c.usernameFragment ?? null) } }
        }
      }
      case 'ping': {
        const ack = msg.ping?.chatReceived ?? 0
        return { type: 'reply', message: { callId: this.callId, pong: { nonce: msg.ping?.nonce ?? 0 } }, ...(ack > 0 ? { ack } : {}) }
      }
      case 'resume':
        // the callee's answer on the caller's new stream; a Resume that opens a stream is the client's (client.ts)
        if (this.role !== 'caller') return ignore('a Resume in the middle of a call stream sent to the callee')
        if (!this._accepted) return ignore('a Resume before the call was accepted')
        return { type: 'resumed', chatReceived: msg.resume?.chatReceived ?? 0 }
      case 'pong':
        return { type: 'pong', nonce: msg.pong?.nonce ?? 0 }
      case 'chat': {
        if (!this._accepted) return ignore('a chat message before the call was accepted')
        const text = msg.chat?.text ?? ''
        const data = msg.chat?.data
        const seq = msg.chat?.seq ?? 0
        if (data != null && data.byteLength > 0) return { type: 'chat', data, seq }
        return { type: 'chat', text, seq }
      }
      case 'aicCapability':
      case 'aicReport':
      case 'aicSwitch':
      case 'aicWeightUpdate': {
        if (!this._accepted) return ignore(`${msg.body} before the call was accepted`)
        if (!this.needsMedia) return ignore(`${msg.body} on a call without media`)
        const message: AicSignal | undefined = msg.body === 'aicCapability'
          ? (msg.aicCapability != null ? { type: 'capability', capability: msg.aicCapability } : undefined)
          : msg.body === 'aicReport'
            ? (msg.aicReport != null ? { type: 'report', report: msg.aicReport } : undefined)
            : msg.body === 'aicSwitch'
              ? (msg.aicSwitch != null ? { type: 'switch', switch: msg.aicSwitch } : undefined)
              : (msg.aicWeightUpdate != null ? { type: 'weightUpdate', update: msg.aicWeightUpdate } : undefined)
        return message !== undefined ? { type: 'aic', message } : ignore(`an empty ${msg.body}`)
      }
      case 'imageCodecs':
        if (!this._accepted) return ignore('imageCodecs before the call was accepted')
        return { type: 'images', codecs: msg.imageCodecs?.codecs ?? [] }
      case 'groupState':
        if (!this._accepted) return ignore('groupState before the call was accepted')
        return { type: 'group', state: groupStateOf(msg.groupState) }
      case 'recordingAsk':
      case 'recordingAnswer':
      case 'recordingStop': {
        const body = msg.body
        if (!this._accepted) return ignore(`${msg.body} before the call was accepted`)
        if (!this.needsMedia) return ignore(`${msg.body} on a call without media`)
        if (msg.recordingAsk != null) {
          const a = msg.recordingAsk
          return { type: 'recording', message: { type: 'ask', recordingId: a.recordingId ?? '', relayAddr: a.relayAddr ?? '', consent: a.consent ?? new Uint8Array(), streamUrl: a.streamUrl ?? '' } }
        }
        if (msg.recordingAnswer != null) {
          const a = msg.recordingAnswer
          return { type: 'recording', message: { type: 'answer', recordingId: a.recordingId ?? '', agreed: a.agreed === true, consent: a.consent ?? new Uint8Array(), reason: (a.reason ?? '').slice(0, 256) } }
        }
        if (msg.recordingStop != null) return { type: 'recording', message: { type: 'stop', recordingId: msg.recordingStop.recordingId ?? '', reason: (msg.recordingStop.reason ?? '').slice(0, 256) } }
        return ignore(`an empty ${body}`)
      }
      default:
        return ignore('an empty message or one of a kind this version does not know')
    }
  }

  /** The callee answers; `offerTaken` when it took the invite's offer (its answer follows). Returns the Accept to send. */
  accept (media: MediaRequest, offerTaken = false): SignalMessageFields {
    if (this.role !== 'callee') throw new Error('only the callee accepts')
    if (this._state !== 'ringing') throw new Error(`cannot accept a call that is ${this._state}`)
    this.onAccepted(media)
    return { callId: this.callId, accept: { media, ...(offerTaken ? { offerTaken: true } : {}) } }
  }

  /** The caller's invite carried its first offer: an accept that says it took the offer leaves that offer outstanding. */
  invitedWithOffer (): void {
    if (this.role !== 'caller') throw new Error('only the caller invites')
    this.offerInInvite = true
  }

  /** The callee says no. Returns the End to send. */
  reject (message: string): SignalMessageFields {
    if (this._state !== 'ringing') throw new Error(`cannot reject a call that is ${this._state}`)
    this.end('rejected')
    return { callId: this.callId, end: { reason: WireEndReason.END_REASON_REJECTED, message } }
  }

  /** Our own hangup, or a local failure; returns the End to send (undefined when already ended). */
  hangup (reason: CallEndReason = 'hangup', message = ''): SignalMessageFields | undefined {
    if (this._state === 'ended') return undefined
    this.end(reason)
    const wire = WIRE_REASONS.get(reason) ?? WireEndReason.END_REASON_HANGUP
    return { callId: this.callId, end: { reason: wire, message } }
  }

  /** Ends the call without a message (the stream is gone). */
  end (reason: CallEndReason): void {
    if (this._state === 'ended') return
    this._state = 'ended'
    this._endReason = reason
  }

  /** A signal from our own media session, checked for order; throws when it may not be sent now. */
  send (signal: MediaSignal): SignalMessageFields {
    if (this._state === 'ended') throw new Error('the call has ended')
    if (!this._accepted || !this.needsMedia) throw new Error(`a ${signal.type} signal before the call was accepted with media`)
    switch (signal.type) {
      case 'offer':
        this.offerOutstanding = true
        return { callId: this.callId, description: { type: 'offer', sdp: signal.sdp } }
      case 'answer':
        // answering the peer's offer: ours, if we had one out, was rolled back (we are the polite side)
        this.offerOutstanding = false
        return { callId: this.callId, description: { type: 'answer', sdp: signal.sdp } }
      case 'candidate':
        return {
          callId: this.callId,
          candidate: {
            candidate: signal.candidate.candidate,
            sdpMid: signal.candidate.sdpMid ?? '',
            sdpMLineIndex: signal.candidate.sdpMLineIndex ?? 0,
            usernameFragment: signal.candidate.usernameFragment ?? ''
          }
        }
    }
  }

  /** The media session (or, for a data call, the acceptance) connected. */
  connected (): boolean {
    if (this._state !== 'connecting' && this._state !== 'reconnecting') return false
    this._state = 'connected'
    return true
  }

  /** The path to the peer broke (nothing heard for a while, the connection closed, ICE down): connected -> reconnecting. */
  quiet (): boolean {
    if (this._state !== 'connected') return false
    this._state = 'reconnecting'
    return true
  }

  /** The path is whole again (the call stream and, on media calls, ICE): reconnecting -> connected. */
  heard (): boolean {
    if (this._state !== 'reconnecting') return false
    this._state = 'connected'
    return true
  }

  private onAccepted (media: MediaRequest): void {
    this._accepted = true
    this.answered = media
    this.needsMedia = this.requested.audio || this.requested.video || media.audio || media.video
    if (this._state === 'ringing') this._state = 'connecting'
  }
}

/**
 * Glare: both sides invited each other at the same time. Both compare the two call ids and keep
 * the call whose id is greater, so both keep the same one. Returns true when `theirs` wins.
 */
export function theirsWins (mine: string, theirs: string): boolean {
  return theirs > mine
}

/** Our end reasons that have a wire value of their own; the others go as a hangup. */
const WIRE_REASONS = new Map<CallEndReason, WireEndReason>([
  ['timeout', WireEndReason.END_REASON_TIMEOUT],
  ['protocol-error', WireEndReason.END_REASON_PROTOCOL_ERROR],
  ['glare', WireEndReason.END_REASON_GLARE],
  ['connection-lost', WireEndReason.END_REASON_CONNECTION_LOST]
])

function ignore (reason: string): Effect {
  return { type: 'ignore', reason }
}

function toMedia (m: MediaRequestFields | null | undefined): MediaRequest {
  return { audio: m?.audio === true, video: m?.video === true, data: m?.data === true }
}
