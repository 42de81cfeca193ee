import { MAX_PENDING_CANDIDATES, MAX_PENDING_MEDIA_SIGNALS } from './constants.js'
import { MediaUnsupportedError } from './errors.js'
import type { MediaCandidate, MediaSignal } from './call-machine.js'
import type { Logger } from '@libp2p/interface'

export interface MediaSessionEvents {
  signal(signal: MediaSignal): void
  connected(): void
  track(track: MediaStreamTrack, stream: MediaStream): void
  /** The peer connection failed before it ever connected, or closed; the call ends with 'media-failed'. */
  failed(error: Error): void
  /**
   * Once connected: ICE went 'disconnected' or 'failed' (true), or came back (false). Neither
   * ends the session: `restartIce()` gathers afresh and may bring it back.
   */
  interrupted(down: boolean): void
}

export interface MediaSessionInit {
  /**
   * The impolite side of perfect negotiation (the caller): when both sides offer at once, its
   * offer wins and the other side's is ignored; the polite side (the callee) rolls its own back.
   */
  initiator: boolean
  iceServers: RTCIceServer[]
  stream?: MediaStream
  log: Logger
}

/**
 * The media half of a call: one RTCPeerConnection, negotiated with the "perfect negotiation"
 * pattern of the WebRTC specification. Either side offers whenever its tracks change
 * (`negotiationneeded`); the caller is the impolite side, whose offer wins a collision, the
 * callee the polite side, which rolls its own offer back and answers. The caller makes the first
 * offer (the callee holds its own until that one is applied), so a call's first negotiation has
 * no collision; later ones (both sides adding tracks at once) may. ICE candidates trickle;
 * those that arrive before the remote description are held (at most
 * {@link MAX_PENDING_CANDIDATES}) and added once it is set. Signals from the other side are
 * handled one at a time, in the order they came. Exists only for calls with audio or video.
 *
 * Once connected, ICE going 'disconnected' or 'failed' is an interruption, not the end:
 * `restartIce()` (the call's caller side calls it) makes an offer with fresh ICE credentials, and
 * the session comes back when a new candidate pair works. It fails for good only when it never
 * connected, or when the peer connection closes.
 */
export class MediaSession {
  /** The peer connection; AIC sets sender parameters and encoded transforms on it, stats read it. */
  readonly pc: RTCPeerConnection
  private readonly log: Logger
  private readonly events: MediaSessionEvents
  private readonly polite: boolean
  private readonly senders = new Map<MediaStreamTrack, RTCRtpSender>()
  private pendingCandidates: MediaCandidate[] = []
  /** Signals from the other side, handled in order: each waits for the one before it. */
  private inbox: Promise<void> = Promise.resolve()
  private inboxSize = 0
  private makingOffer = false
  private ignoreOffer = false
  private settingRemoteAnswer = false
  /** The polite side makes no offer of its own until the first remote description (the caller's offer) is applied. */
  private remoteSeen = false
  private offerHeld = false
  private wasConnected = false
  private down = false
  private stopped = false

  constructor (init: MediaSessionInit, events: MediaSessionEvents) {
    if (typeof globalThis.RTCPeerConnection !== 'function') {
      throw new MediaUnsupportedError('audio and video need WebRTC media (RTCPeerConnection): a browser, Electron, or React Native with react-native-webrtc; in Node, make data-only calls')
    }
    this.log = init.log
    this.events = events
    this.polite = !init.initiator
    this.pc = new RTCPeerConnection({ iceServers: init.iceServers })
    this.pc.onnegotiationneeded = () => { void this.offer() }
    this.pc.onicecandidate = ({ candidate }) => {
      // null: gathering is over; the other side needs no word of it (every candidate carries its ufrag)
      if (this.stopped || candidate === null || candidate.candidate === '') return
      this.emitSignal({ type: 'candidate', candidate: { candidate: candidate.candidate, sdpMid: candidate.sdpMid, sdpMLineIndex: candidate.sdpMLineIndex, usernameFragment: candidate.usernameFragment } })
    }
    this.pc.ontrack = ({ track, streams }) => {
      if (this.stopped) return
      // a track sent without a stream (no msid) still reaches the app, in a stream of its own
      for (const stream of streams.length > 0 ? streams : [new MediaStream([track])]) events.track(track, stream)
    }
    this.pc.oniceconnectionstatechange = () => { this.onIceState() }
    this.pc.onconnectionstatechange = () => { this.onConnectionState() }
    if (init.stream !== undefined) {
      for (const track of init.stream.getTracks()) this.addTrack(track, init.stream)
    }
    // the caller always makes the first offer (the callee holds its own until then, so the first
    // negotiation has no collision): with nothing to send it offers to receive audio and video
    if (init.initiator && this.senders.size === 0) {
      this.pc.addTransceiver('audio', { direction: 'recvonly' })
      this.pc.addTransceiver('video', { direction: 'recvonly' })
    }
  }

  /** A signal from the other side. */
  signal (signal: MediaSignal): void {
    if (this.stopped) return
    if (this.inboxSize >= MAX_PENDING_MEDIA_SIGNALS) {
      this.fail(new Error(`the peer sent more than ${MAX_PENDING_MEDIA_SIGNALS} media signals faster than they could be handled`))
      return
    }
    this.inboxSize++
    this.inbox = this.inbox.then(async () => {
      try {
        if (!this.stopped) await this.handle(signal)
      } catch (err) {
        // handle() catches what it expects; anything else ends the session, and the chain goes on
        this.fail(new Error(`handling the peer's ${signal.type} failed: ${(err as Error).message}`))
      } finally {
        this.inboxSize--
      }
    })
  }

  /** Sends `track` (of `stream`) to the other side; renegotiates. */
  addTrack (track: MediaStreamTrack, stream: MediaStream): void {
    if (this.stopped) return
    if (this.senders.has(track)) throw new TypeError(`addTrack(track): track ${track.id} is already sent on this call`)
    this.senders.set(track, this.pc.addTrack(track, stream))
  }

  /** Stops sending `track`; renegotiates. The stream argument is accepted for symmetry with addTrack. */
  removeTrack (track: MediaStreamTrack, _stream?: MediaStream): void {
    if (this.stopped) return
    const sender = this.senders.get(track)
    if (sender === undefined) throw new TypeError(`removeTrack(track): track ${track.id} is not sent on this call`)
    this.senders.delete(track)
    this.pc.removeTrack(sender)
  }

  /** True between an interruption (ICE 'disconnected' or 'failed' after it had connected) and ICE's return. */
  get interrupted (): boolean { return this.down }

  /**
   * Restarts ICE: new credentials, candidates gathered afresh on the interfaces there are now,
   * an offer to the other side (through the call stream, wherever it now runs). An offer of ours
   * still waiting for its answer (lost with the old call stream) is rolled back first. Does
   * nothing while the other side's offer is being answered, or once stopped.
   */
  async restartIce (): Promise<void> {
    if (this.stopped) return
    if (this.pc.signalingState === 'have-local-offer' && !this.makingOffer) {
      try {
        await this.pc.setLocalDescription({ type: 'rollback' })
      } catch (err) {
        this.log('media session: rolling back an unanswered offer failed: %s', (err as Error).message)
      }
    }
    if (this.stopped || this.pc.signalingState !== 'stable') return
    this.log('media session: restarting ICE (ICE %s)', this.pc.iceConnectionState)
    this.pc.restartIce()
    // offer at once rather than wait for negotiationneeded: after a rollback the browser's
    // negotiation-needed flag is still set from the lost offer, so no new event comes (Chromium);
    // should one come as well, offer() makes no second offer while this one is out
    await this.offer()
  }

  /** Closes the peer connection and drops whatever is queued. Idempotent; no event after it. */
  stop (): void {
    if (this.stopped) return
    this.stopped = true
    this.pendingCandidates = []
    this.senders.clear()
    this.pc.onnegotiationneeded = null
    this.pc.onicecandidate = null
    this.pc.ontrack = null
    this.pc.oniceconnectionstatechange = null
    this.pc.onconnectionstatechange = null
    try { this.pc.close() } catch {}
  }

  /** Our tracks changed (or the first negotiation): offer. setLocalDescription() without an argument makes the offer. */
  private async offer (): Promise<void> {
    if (this.stopped) return
    if (this.polite && !this.remoteSeen) {
      this.offerHeld = true
      return
    }
    if (this.makingOffer || this.pc.signalingState !== 'stable') return
    try {
      this.makingOffer = true
      await this.pc.setLocalDescription()
      const desc = this.pc.localDescription
      // an offer that collided with the other side's and was rolled back meanwhile is not sent
      if (this.stopped || desc === null || desc.type !== 'offer') return
      this.emitSignal({ type: 'offer', sdp: desc.sdp })
    } catch (err) {
      if (!this.stopped) this.log('media session: making an offer failed: %s', (err as Error).message)
    } finally {
      this.makingOffer = false
    }
  }

  private async handle (signal: MediaSignal): Promise<void> {
    if (signal.type === 'candidate') {
      if (this.pc.remoteDescription === null) {
        if (this.pendingCandidates.length >= MAX_PENDING_CANDIDATES) {
          this.log('media session: more than %d ICE candidates before the remote description; dropping one', MAX_PENDING_CANDIDATES)
          return
        }
        this.pendingCandidates.push(signal.candidate)
        return
      }
      await this.addCandidate(signal.candidate)
      return
    }
    // perfect negotiation: an offer that collides with ours is ignored by the impolite side and
    // wins on the polite side (setRemoteDescription rolls our offer back implicitly)
    const readyForOffer = !this.makingOffer && (this.pc.signalingState === 'stable' || this.settingRemoteAnswer)
    const collision = signal.type === 'offer' && !readyForOffer
    this.ignoreOffer = !this.polite && collision
    if (this.ignoreOffer) {
      this.log('media session: ignoring the peer\'s offer, which collided with ours (we are the impolite side)')
      return
    }
    try {
      this.settingRemoteAnswer = signal.type === 'answer'
      await this.pc.setRemoteDescription({ type: signal.type, sdp: signal.sdp })
    } catch (err) {
      // an answer to an offer we no longer have (a stray, or one from before a rollback): nothing to do
      if (this.stopped) return
      if (signal.type === 'answer' && this.pc.signalingState === 'stable') {
        this.log('media session: ignoring an answer in state stable: %s', (err as Error).message)
        return
      }
      this.fail(new Error(`the peer's ${signal.type} could not be applied: ${(err as Error).message}`))
      return
    } finally {
      this.settingRemoteAnswer = false
    }
    if (this.stopped) return
    this.remoteSeen = true
    const held = this.pendingCandidates
    this.pendingCandidates = []
    for (const c of held) await this.addCandidate(c)
    if (signal.type === 'offer') {
      try {
        await this.pc.setLocalDescription()
      } catch (err) {
        if (!this.stopped) this.fail(new Error(`answering the peer's offer failed: ${(err as Error).message}`))
        return
      }
      const desc = this.pc.localDescription
      if (this.stopped || desc === null || desc.type !== 'answer') return
      this.emitSignal({ type: 'answer', sdp: desc.sdp })
      // tracks the caller's first offer had no room for (a kind it did not offer): our own offer now
      if (this.offerHeld) {
        this.offerHeld = false
        if (this.pc.getTransceivers().some((t) => t.mid === null && t.sender.track !== null)) void this.offer()
      }
    }
  }

  private async addCandidate (candidate: MediaCandidate): Promise<void> {
    try {
      await this.pc.addIceCandidate(candidate)
    } catch (err) {
      // candidates of an offer we ignored fail to add; so may one for an m-line since removed
      if (!this.ignoreOffer && !this.stopped) this.log('media session: an ICE candidate was not added: %s', (err as Error).message)
    }
  }

  private onIceState (): void {
    if (this.stopped) return
    const ice = this.pc.iceConnectionState
    if ((ice === 'disconnected' || ice === 'failed') && this.wasConnected) {
      if (!this.down) {
        this.down = true
        this.events.interrupted(true)
      }
    } else if ((ice === 'connected' || ice === 'completed') && this.down) {
      this.down = false
      this.events.interrupted(false)
    } else if (ice === 'failed') {
      this.fail(new Error('ICE failed: no candidate pair between the peers works'))
    }
  }

  private onConnectionState (): void {
    if (this.stopped) return
    const state = this.pc.connectionState
    if (state === 'connected' && !this.wasConnected) {
      this.wasConnected = true
      this.events.connected()
    } else if (state === 'failed' && !this.wasConnected) {
      // once connected, a failure is ICE's (an interruption: onIceState) until a restart brings it back
      this.fail(new Error('the media connection failed (ICE or DTLS)'))
    } else if (state === 'closed') {
      this.fail(new Error('the media connection closed'))
    }
  }

  private emitSignal (signal: MediaSignal): void {
    if (this.stopped) return
    this.events.signal(signal)
  }

  private fail (err: Error): void {
    if (this.stopped) return
    this.log('media session failed: %s', err.message)
    this.stop()
    this.events.failed(err)
  }
}
