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
  decodeSipEvent, encodeSipControl, encodeSipRequest, MAX_SIP_DTMF_DIGITS, MAX_SIP_MESSAGE_BYTES, MAX_SIP_TARGET_CHARS, SIP_DTMF_PATTERN
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

/** One phone call through a relay's SIP gateway. */
export class PhoneCall extends SafeEventEmitter<PhoneCallEvents> {
  state: PhoneCallState = 'calling'
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

  /** @internal made by placePhoneCall() */
  constructor (readonly target: string, readonly relay: string, readonly localStream: MediaStream, private readonly pc: RTCPeerConnection, private readonly stream: Stream, private readonly lp: ReturnType<typeof lpStream<Stream>>, private readonly log: Logger) {
    super()
    this.connected = new Promise((resolve, reject) => { this.connectedResolve = resolve; this.connectedReject = reject })
    this.connected.catch(() => {})
    this.ended = new Promise((resolve) => { this.endedResolve = resolve })
  }

  protected override onListenerError (type: string, err: unknown): void {
    this.log.error('phone call %s: a %s listener threw: %s', this.target, type, (err as Error)?.message ?? String(err))
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

  /** @internal reads the relay's messages until the call ends. */
  async run (): Promise<void> {
    try {
      for (;;) {
        const m = decodeSipEvent((await this.lp.read()).subarray())
        if (m.dtmf !== '') { this.safeDispatchEvent('dtmf', { detail: { digit: m.dtmf } }); continue }
        if (m.state === 'ended') { this.end(m.endReason ?? 'failed', m.status, m.message); return }
        if (m.state === 'ringing' || m.state === 'connected') this.setState(m.state)
        else if (m.message !== '') this.log('phone call %s: the relay says: %s', this.target, m.message)
      }
    } catch (err) {
      this.end('failed', 0, `the relay's stream closed: ${(err as Error).message}`)
    }
  }

  /** @internal the far end's track arrived */
  gotTrack (track: MediaStreamTrack, stream: MediaStream): void {
    this.remoteStream = stream
    this.safeDispatchEvent('track', { detail: { track, stream } })
  }

  private setState (s: PhoneCallState): void {
    if (this.state === s || this.state === 'ended') return
    this.state = s
    this.log('phone call %s: %s', this.target, s)
    if (s === 'connected') this.connectedResolve()
    this.safeDispatchEvent('state', { detail: s })
  }

  /** @internal ends the call here: the connection closed, the events told. */
  end (reason: PhoneEndReason, status: number, message: string): void {
    if (this.state === 'ended') return
    this.endReason = reason
    this.endStatus = status
    this.endMessage = message
    this.connectedReject(new PhoneCallFailedError(reason, `the phone call to ${this.target} ended (${reason}${status !== 0 ? `, SIP ${status}` : ''})${message !== '' ? `: ${message}` : ''}`, { status }))
    this.pc.close()
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
  const pc = new RTCPeerConnection({ iceServers: c.iceServers })
  let stream: Stream | undefined
  try {
    pc.addTransceiver(track, { direction: 'sendrecv', streams: [local] })
    await pc.setLocalDescription(await pc.createOffer())
    await gathered(pc, signal, () => new PhoneCallFailedError('failed', 'ICE gathering for the phone call did not complete in time'))
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
    const call = new PhoneCall(target, relay, local, pc, stream, lp, c.log)
    // the far end's track comes as the answer is applied
    pc.addEventListener('track', (e) => { call.gotTrack(e.track, e.streams[0] ?? new MediaStream([e.track])) })
    await pc.setRemoteDescription({ type: 'answer', sdp: first.answerSdp })
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'failed') void call.hangup()
    })
    call.addEventListener('ended', () => { c.forget(call, owned) }, { once: true })
    void call.run()
    return call
  } catch (err) {
    pc.close()
    stream?.abort(err as Error)
    if (owned) for (const t of local.getTracks()) t.stop()
    throw err
  }
}

