/**
 * Phone calls through a relay's SIP gateway (issue 19; docs/sip.md): `client.call('sip:...')`.
 * The client offers its microphone to the relay (one RTCPeerConnection, Opus, sent and received),
 * asks it on `/auralink/sip/1.0.0` to call the SIP address, and takes its answer; the relay places
 * the SIP call and bridges the audio (G.711 on the phone's side). The relay tells the call's
 * progress (`ringing`, `connected`), the far end's DTMF digits and, last, why it ended; the client
 * sends its own digits and its hangup.
 */
import { InvalidStateError, PhoneCallFailedError, SafeEventEmitter } from '@auralink/core'
import {
  decodeSipEvent, decodeSipIncoming, encodeSipControl, encodeSipRequest, MAX_SIP_DTMF_DIGITS, MAX_SIP_MESSAGE_BYTES, MAX_SIP_TARGET_CHARS, SIP_DTMF_PATTERN
} from '@auralink/protocol'
import { lpStream } from '@libp2p/utils'
import { MediaUnsupportedError } from './errors.js'
import { gathered } from './recording.js'
import type { SipEndReason } from '@auralink/protocol'
import type { AbortOptions, Logger, Stream } from '@libp2p/interface'

/** Where a phone call stands: 'calling' (the relay placed it), 'ringing', 'connected', 'ended'. */
export type PhoneCallState = 'calling' | 'ringing' | 'connected' | 'ended'

/** Why a phone call ended (`call.endReason`): the relay's or the far end's words (PhoneCallFailedError's reasons). */
export type PhoneEndReason = SipEndReason

/** The events of a PhoneCall, by name. */
export interface PhoneCallEvents {
  /** The call's state changed (`call.state`). */
  state: CustomEvent<PhoneCallState>
  /** The far end's audio arrived (`call.remoteStream`). */
  track: CustomEvent<{ track: MediaStreamTrack, stream: MediaStream }>
  /** The far end pressed a key (RFC 4733 DTMF): one of 0-9 * # A-D. */
  dtmf: CustomEvent<{ digit: string }>
  /** The call ended: why (`call.endReason`), the SIP status that ended it (0: none) and the relay's words. */
  ended: CustomEvent<{ reason: PhoneEndReason, status: number, message: string }>
}

/** Media and routing of `client.call('sip:...')`. */
export interface PhoneCallOptions {
  /** Only audio: a phone call carries no video. @default true */
  audio?: boolean
  /** The stream whose audio track is sent (the client takes the microphone when absent). */
  stream?: MediaStream
  /**
   * The relay that places the call: its multiaddr, ending in /p2p/<relay peer id>; it must run
   * with `--sip-listen`. @default the first of this client's relays that places SIP calls
   */
  relay?: string
}

/** @internal what a phone call needs from the client */
export interface PhoneComponents {
  log: Logger
  iceServers: RTCIceServer[]
  /** Multiaddrs of the relays this client holds, best first. */
  relayAddrs(): string[]
  /** A stream on `/auralink/sip/1.0.0` to the relay at `addr` (rejects when it does not speak it). */
  openSipStream(addr: string, options: AbortOptions): Promise<Stream>
  /** The microphone (getUserMedia). */
  getAudio(signal?: AbortSignal): Promise<MediaStream | undefined>
  /** The call ended: the client forgets it, and stops the microphone it took. */
  forget(call: PhoneCall, owned: boolean): void
}

/** How long the relay may take to answer a request (its answer, ICE included). */
const REQUEST_TIMEOUT_MS = 20_000
/** How long the relay has to say why a call ended once we hung up. */
const HANGUP_WAIT_MS = 5_000

/** `target` checked: a `sip:user@host[:port]` URI; TypeError naming it otherwise. */
export function checkSipTarget (target: unknown): string {
  if (typeof target !== 'string' || target.length > MAX_SIP_TARGET_CHARS || !/^sip:[^@\s]+@[^\s@]+$/.test(target)) {
    throw new TypeError(`call(target): a phone call's target must be a SIP URI sip:user@host[:port] of at most ${MAX_SIP_TARGET_CHARS} characters, got ${JSON.stringify(String(target).slice(0, 80))}`)
  }
  return target
}

/** One phone call through a relay's SIP gateway: placed by this client, or from a phone to it. */
export class PhoneCall extends SafeEventEmitter<PhoneCallEvents> {
  state: PhoneCallState
  /** 'outbound' (`client.call('sip:...')`: `target` is the phone called) or 'inbound' (`target` is the caller's SIP URI). */
  readonly direction: 'outbound' | 'inbound'
  /** An inbound call's caller as its phone system names it (the From header's display name), or ''. */
  readonly displayName: string
  /** The audio this side sends (once an inbound call is accepted). */
  localStream: MediaStream | undefined
  private pc: RTCPeerConnection | undefined
  /** Whether the client took `localStream` from the microphone (then stops it at the end). */
  private ownedLocal = false
  endReason: PhoneEndReason | undefined
  /** The SIP status that ended it (0: none), and the relay's words. */
  endStatus = 0
  endMessage = ''
  /** The far end's audio, once it arrived. */
  remoteStream: MediaStream | undefined
  private connectedResolve!: () => void
  private connectedReject!: (err: Error) => void
  private readonly connected: Promise<void>
  private endedResolve!: () => void
  private readonly ended: Promise<void>

  /** @internal made by placePhoneCall() and ringPhoneCall() */
  constructor (readonly target: string, readonly relay: string, private readonly stream: Stream, private readonly lp: ReturnType<typeof lpStream<Stream>>, private readonly c: PhoneComponents, inbound?: { displayName: string }) {
    super()
    this.direction = inbound === undefined ? 'outbound' : 'inbound'
    this.state = inbound === undefined ? 'calling' : 'ringing'
    this.displayName = inbound?.displayName ?? ''
    this.connected = new Promise((resolve, reject) => { this.connectedResolve = resolve; this.connectedReject = reject })
    this.connected.catch(() => {})
    this.ended = new Promise((resolve) => { this.endedResolve = resolve })
  }

  protected override onListenerError (type: string, err: unknown): void {
    this.c.log.error('phone call %s: a %s listener threw: %s', this.target, type, (err as Error)?.message ?? String(err))
  }

  /** Resolves once the far end answered; PhoneCallFailedError (why) when the call ended first. */
  async whenConnected (): Promise<void> {
    await this.connected
  }

  /** Resolves once the call has ended. */
  async whenEnded (): Promise<void> {
    await this.ended
  }

  /**
   * Sends DTMF digits (0-9, *, #, A-D; at most 32) to the far end, as RFC 4733 events the relay
   * plays one after another (about 160 ms each). Resolves once the relay has them. TypeError
   * naming the input for other characters; InvalidStateError unless connected.
   */
  async sendDtmf (digits: string): Promise<void> {
    if (typeof digits !== 'string' || digits.length === 0 || digits.length > MAX_SIP_DTMF_DIGITS || !SIP_DTMF_PATTERN.test(digits)) {
      throw new TypeError(`sendDtmf(digits): digits must be 1 to ${MAX_SIP_DTMF_DIGITS} of 0-9 * # A-D, got ${JSON.stringify(String(digits).slice(0, 40))}`)
    }
    if (this.state !== 'connected') throw new InvalidStateError(`sendDtmf(): the phone call is ${this.state}, not connected`)
    await this.lp.write(encodeSipControl({ dtmf: digits }), { signal: AbortSignal.timeout(5_000) })
  }

  /** Hangs up (the relay sends CANCEL while it rings, BYE once answered); resolves once it ended. Idempotent. */
  async hangup (): Promise<void> {
    if (this.state === 'ended') return
    await this.lp.write(encodeSipControl({ hangup: true }), { signal: AbortSignal.timeout(2_000) }).catch(() => {})
    let timer: ReturnType<typeof setTimeout> | undefined
    await Promise.race([this.ended, new Promise((resolve) => { timer = setTimeout(resolve, HANGUP_WAIT_MS) })])
    clearTimeout(timer)
    this.end('hangup', 0, 'hung up (the relay did not confirm it)')
  }

  /**
   * Takes an inbound call (state 'ringing'): the microphone (or `options.stream`) offered to the
   * relay, which answers the phone; resolves once connected. PhoneCallFailedError when the caller
   * hung up meanwhile; InvalidStateError unless it is an inbound call that rings.
   */
  async accept (options: { stream?: MediaStream } = {}): Promise<void> {
    if (this.direction !== 'inbound' || this.state !== 'ringing' || this.pc !== undefined) throw new InvalidStateError(`accept(): the phone call is ${this.direction} and ${this.state}${this.pc !== undefined ? ', accepted already' : ''}`)
    const signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS)
    this.ownedLocal = options.stream === undefined
    const local = options.stream ?? await this.c.getAudio(signal)
    const track = local?.getAudioTracks().find((t) => t.readyState === 'live')
    if (local === undefined || track === undefined) throw new TypeError('accept({ stream }): the stream has no live audio track')
    this.localStream = local
    this.pc = await offerAudio(this.c, local, track, signal, (e) => { this.gotTrack(e.track, e.streams[0] ?? new MediaStream([e.track])) })
    this.watch(this.pc)
    if (this.state !== 'ringing') { this.end('remote-hangup', 0, 'the caller hung up'); await this.connected; return }
    await this.lp.write(encodeSipRequest({ target: '', offerSdp: this.pc.localDescription!.sdp }), { signal })
    await this.connected
  }

  /** Declines an inbound call that rings (the caller hears 603 Decline). */
  async reject (): Promise<void> {
    if (this.direction !== 'inbound' || this.state !== 'ringing') throw new InvalidStateError(`reject(): the phone call is ${this.direction} and ${this.state}`)
    await this.lp.write(encodeSipRequest({ target: '', offerSdp: '' }), { signal: AbortSignal.timeout(2_000) }).catch(() => {})
    let timer: ReturnType<typeof setTimeout> | undefined
    await Promise.race([this.ended, new Promise((resolve) => { timer = setTimeout(resolve, HANGUP_WAIT_MS) })])
    clearTimeout(timer)
    this.end('declined', 603, 'declined here')
  }

  /** @internal reads the relay's messages until the call ends. */
  async run (): Promise<void> {
    try {
      for (;;) {
        const m = decodeSipEvent((await this.lp.read()).subarray())
        if (m.dtmf !== '') { this.safeDispatchEvent('dtmf', { detail: { digit: m.dtmf } }); continue }
        if (m.state === 'ended') { this.end(m.endReason ?? 'failed', m.status, m.message); return }
        // an inbound call's answer comes with 'connected'
        if (m.answerSdp !== '' && this.pc !== undefined && this.pc.remoteDescription == null) await this.pc.setRemoteDescription({ type: 'answer', sdp: m.answerSdp })
        if (m.state === 'ringing' || m.state === 'connected') this.setState(m.state)
        else if (m.message !== '') this.c.log('phone call %s: the relay says: %s', this.target, m.message)
      }
    } catch (err) {
      this.end('failed', 0, `the relay's stream closed: ${(err as Error).message}`)
    }
  }

  /** @internal an outbound call's media, made before the relay answered */
  attach (pc: RTCPeerConnection, local: MediaStream, owned: boolean): void {
    this.pc = pc
    this.localStream = local
    this.ownedLocal = owned
    this.watch(pc)
  }

  /** The media connection to the relay failed (ICE or DTLS): the call is hung up. */
  private watch (pc: RTCPeerConnection): void {
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'failed' && this.state !== 'ended') {
        this.c.log('phone call %s: the media connection to the relay failed', this.target)
        void this.hangup()
      }
    })
  }

  /** @internal the far end's track arrived */
  gotTrack (track: MediaStreamTrack, stream: MediaStream): void {
    this.remoteStream = stream
    this.safeDispatchEvent('track', { detail: { track, stream } })
  }

  private setState (s: PhoneCallState): void {
    if (this.state === s || this.state === 'ended') return
    this.state = s
    this.c.log('phone call %s: %s', this.target, s)
    if (s === 'connected') this.connectedResolve()
    this.safeDispatchEvent('state', { detail: s })
  }

  /** @internal ends the call here: the connection closed, the events told. */
  end (reason: PhoneEndReason, status: number, message: string): void {
    if (this.state === 'ended') return
    this.endReason = reason
    this.endStatus = status
    this.endMessage = message
    this.connectedReject(new PhoneCallFailedError(reason, `the phone call ${this.direction === 'outbound' ? 'to' : 'from'} ${this.target} ended (${reason}${status !== 0 ? `, SIP ${status}` : ''})${message !== '' ? `: ${message}` : ''}`, { status }))
    this.pc?.close()
    this.c.forget(this, this.ownedLocal)
    void this.stream.close({ signal: AbortSignal.timeout(2_000) }).catch((err: Error) => { this.stream.abort(err) })
    this.setState('ended')
    this.safeDispatchEvent('ended', { detail: { reason, status, message } })
    this.endedResolve()
  }
}

/**
 * Places a phone call: the microphone (or `options.stream`) offered to the relay, the request
 * sent, the answer taken. Resolves with the PhoneCall in state 'calling' once the relay placed it;
 * PhoneCallFailedError when it refused (`refused`, `limit`, `failed`) or no relay places SIP calls
 * (`unavailable`).
 */
export async function placePhoneCall (c: PhoneComponents, target: string, options: PhoneCallOptions, abort: AbortOptions): Promise<PhoneCall> {
  checkSipTarget(target)
  if (options.audio === false) throw new TypeError('call(target, { audio: false }): a phone call carries audio')
  if (typeof globalThis.RTCPeerConnection !== 'function') throw new MediaUnsupportedError('a phone call needs WebRTC media (RTCPeerConnection), which this runtime lacks')
  const relays = options.relay !== undefined ? [options.relay] : c.relayAddrs()
  if (relays.length === 0) throw new PhoneCallFailedError('unavailable', `call(${JSON.stringify(target)}): this client holds no relay to place the call through`)
  const signal = AbortSignal.any([AbortSignal.timeout(REQUEST_TIMEOUT_MS), ...(abort.signal !== undefined ? [abort.signal] : [])])
  const owned = options.stream === undefined
  const local = options.stream ?? await c.getAudio(signal)
  const track = local?.getAudioTracks().find((t) => t.readyState === 'live')
  if (local === undefined || track === undefined) throw new TypeError('call(target, { stream }): the stream has no live audio track')
  let call: PhoneCall | undefined
  let pc: RTCPeerConnection | undefined
  let stream: Stream | undefined
  try {
    // the far end's track comes as the answer is applied
    pc = await offerAudio(c, local, track, signal, (e) => { call?.gotTrack(e.track, e.streams[0] ?? new MediaStream([e.track])) })
    // the first relay that speaks the protocol places it
    let relay: string | undefined
    const tried: string[] = []
    for (const addr of relays) {
      try {
        stream = await c.openSipStream(addr, { signal })
        relay = addr
        break
      } catch (err) {
        signal.throwIfAborted()
        tried.push(`${addr}: ${(err as Error).message}`)
      }
    }
    if (stream === undefined || relay === undefined) throw new PhoneCallFailedError('unavailable', `call(${JSON.stringify(target)}): no relay of this client places SIP calls (${tried.join('; ')})`)
    const lp = lpStream(stream, { maxDataLength: MAX_SIP_MESSAGE_BYTES })
    await lp.write(encodeSipRequest({ target, offerSdp: pc.localDescription!.sdp }), { signal })
    const first = decodeSipEvent((await lp.read({ signal })).subarray())
    if (first.answerSdp === '') {
      const reason = first.endReason ?? 'failed'
      throw new PhoneCallFailedError(reason, `the relay did not place the call to ${target} (${reason}): ${first.message}`, { status: first.status })
    }
    const placed = new PhoneCall(target, relay, stream, lp, c)
    call = placed
    placed.attach(pc, local, owned)
    await pc.setRemoteDescription({ type: 'answer', sdp: first.answerSdp })
    void placed.run()
    return placed
  } catch (err) {
    pc?.close()
    stream?.abort(err as Error)
    if (owned) for (const t of local.getTracks()) t.stop()
    throw err
  }
}

/**
 * A peer connection offering `track` (sent and received) with every ICE candidate gathered (the
 * relay takes no trickle); `onTrack` gets the far end's track.
 */
async function offerAudio (c: PhoneComponents, local: MediaStream, track: MediaStreamTrack, signal: AbortSignal, onTrack: (e: RTCTrackEvent) => void): Promise<RTCPeerConnection> {
  const pc = new RTCPeerConnection({ iceServers: c.iceServers })
  try {
    pc.addEventListener('track', onTrack)
    pc.addTransceiver(track, { direction: 'sendrecv', streams: [local] })
    await pc.setLocalDescription(await pc.createOffer())
    await gathered(pc, signal, () => new PhoneCallFailedError('failed', 'ICE gathering for the phone call did not complete in time'))
    return pc
  } catch (err) {
    pc.close()
    throw err
  }
}

/**
 * An inbound call (docs/sip.md "Inbound"): the relay's stream on SIP_INBOUND_PROTOCOL and its
 * SipIncoming read; the PhoneCall rings (state 'ringing') until `accept()` or `reject()`, or the
 * caller hangs up. Undefined when the first message is not a SipIncoming with a SIP URI.
 */
export async function ringPhoneCall (c: PhoneComponents, relay: string, stream: Stream): Promise<PhoneCall | undefined> {
  const lp = lpStream(stream, { maxDataLength: MAX_SIP_MESSAGE_BYTES })
  const m = decodeSipIncoming((await lp.read({ signal: AbortSignal.timeout(5_000) })).subarray())
  if (!/^sips?:[^\s]{1,250}$/.test(m.from)) return undefined
  const call = new PhoneCall(m.from, relay, stream, lp, c, { displayName: [...m.displayName].filter((ch) => ch >= ' ' && ch !== '\u007f').join('') })
  void call.run()
  return call
}
