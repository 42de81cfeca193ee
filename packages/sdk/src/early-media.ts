import { installSenderTransform } from './aic-session.js'
import { MediaSession } from './media-session.js'
import type { MediaSessionEvents, MediaSessionInit } from './media-session.js'
import type { MediaSignal } from './call-machine.js'

/**
 * @internal The caller's media session, made when `call()` starts, before the callee has even
 * been reached: its first SDP offer (with the ICE candidates gathered by then) goes in the invite,
 * so that the callee can answer with its accept instead of a round trip later, and ICE gathering
 * overlaps the name's resolution and the connection's dial. Until the call is accepted the
 * session's signals are held here (a callee may only take them once it accepted); `handOver()`
 * gives the session to the call, which sends what was held. `stop()` closes it when the call
 * never gets that far: no RTCPeerConnection outlives a call() that failed.
 */
export class EarlyMedia {
  readonly session: MediaSession
  private target: MediaSessionEvents | undefined
  private held: MediaSignal[] = []
  private failure: Error | undefined
  private offerSdp: string | undefined
  private readonly offered: { promise: Promise<void>, resolve: () => void, reject: (err: Error) => void }
  private stopped = false
  /** AIC's encoded transform on the video sender, put on before the first offer; the call's AIC takes it over. */
  private senderWorker: Worker | undefined

  /**
   * Throws what MediaSession's constructor throws (MediaUnsupportedError without WebRTC media).
   * `aic`: put AIC's sender transform on the video sender now, before the first offer (a transform
   * set after it never starts in Chromium).
   */
  constructor (init: Omit<MediaSessionInit, 'initiator'> & { aic?: boolean }) {
    let resolve = (): void => {}
    let reject = (_err: Error): void => {}
    const promise = new Promise<void>((_resolve, _reject) => { resolve = _resolve; reject = _reject })
    // a rejection nobody awaits (the call failed first) is not an unhandled one
    promise.catch(() => {})
    this.offered = { promise, resolve, reject }
    this.session = new MediaSession({ ...init, initiator: true }, {
      signal: (s) => {
        if (this.target !== undefined) { this.target.signal(s); return }
        if (s.type === 'offer' && this.offerSdp === undefined) {
          this.offerSdp = s.sdp
          this.offered.resolve()
          return
        }
        this.held.push(s)
      },
      connected: () => { this.target?.connected() },
      track: (track, stream) => { this.target?.track(track, stream) },
      failed: (err) => {
        if (this.target !== undefined) { this.target.failed(err); return }
        this.failure = err
        this.offered.reject(err)
      },
      interrupted: (down) => { this.target?.interrupted(down) }
    })
    // negotiationneeded comes in a later task: the transform is on before the offer is made
    if (init.aic === true) this.senderWorker = installSenderTransform(this.session.pc)
  }

  /** AIC's sender transform worker, for the call's AIC session to take over (once). */
  takeSenderWorker (): Worker | undefined {
    const w = this.senderWorker
    this.senderWorker = undefined
    return w
  }

  /** Resolves once the first offer is made; rejects when the session failed first, `timeoutMs` passed or `signal` aborted. */
  async whenOffered (timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.offerSdp !== undefined) return
    let timer: ReturnType<typeof setTimeout> | undefined
    let onAbort: (() => void) | undefined
    try {
      await Promise.race([
        this.offered.promise,
        new Promise<never>((_resolve, reject) => {
          timer = setTimeout(() => { reject(new Error(`the media session made no offer within ${timeoutMs} ms`)) }, timeoutMs)
          onAbort = () => { reject(signal?.reason as Error) }
          if (signal?.aborted === true) onAbort()
          signal?.addEventListener('abort', onAbort, { once: true })
        })
      ])
    } finally {
      clearTimeout(timer)
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort)
    }
  }

  /**
   * The offer for the invite: the local description as it is now (the first offer, with every
   * ICE candidate gathered so far); candidates it already carries are not sent again later.
   */
  inviteOffer (): string {
    const sdp = this.session.pc.localDescription?.type === 'offer' ? this.session.pc.localDescription.sdp : (this.offerSdp ?? '')
    this.held = this.held.filter((s) => s.type !== 'candidate' || !sdp.includes(`a=${s.candidate.candidate}`))
    return sdp
  }

  /**
   * The call was accepted: from now on the session's events go to `events`. When the callee did
   * not take the invite's offer (`offerTaken` false: an older peer), the offer is sent again as a
   * signal; then the candidates held since. A failure while held is reported now.
   */
  handOver (events: MediaSessionEvents, offerTaken: boolean): MediaSession {
    this.target = events
    if (this.failure !== undefined) {
      events.failed(this.failure)
      return this.session
    }
    const local = this.session.pc.localDescription
    if (!offerTaken && local?.type === 'offer') events.signal({ type: 'offer', sdp: local.sdp })
    const held = this.held
    this.held = []
    for (const s of held) {
      // an offer made again while held (tracks changed) is the local description now, sent above
      if (s.type === 'candidate') events.signal(s)
    }
    return this.session
  }

  /** Closes the session (the call ended or never started). Idempotent. */
  stop (): void {
    if (this.stopped) return
    this.stopped = true
    this.held = []
    this.session.stop()
    this.senderWorker?.terminate()
    this.senderWorker = undefined
  }
}
