import type { Logger } from '@libp2p/interface'

/**
 * When each step of a call's setup was reached, in ms since the call began: `call()` for an
 * outgoing call, the invite's arrival for an incoming one. A step not reached (yet), or one that
 * does not apply to this side, is absent. `call.stats().setup` gives it; the debug log
 * (`auralink:sdk`) prints each step as it comes.
 */
export interface CallSetupTimes {
  /** Local media ready: getUserMedia (or the stream given) for an outgoing call, at accept() for an incoming one. */
  media?: number
  /** The callee's AuraID resolved (outgoing). */
  resolved?: number
  /** The libp2p connection to the peer open: a new WebRTC connection, or one already open (`reusedConnection`). */
  dialled?: number
  /** Inside the dial (outgoing, new connection only): the relay circuit to the peer open, the SDP offer of the libp2p connection sent, its answer read. */
  dialRelay?: number
  dialOffer?: number
  dialAnswer?: number
  /** The call stream open (outgoing). */
  stream?: number
  /** The media session's first SDP offer made (outgoing: made while the connection dials, sent with the invite). */
  offer?: number
  /** The invite written (outgoing). */
  invited?: number
  /** Outgoing: the callee's accept received; incoming: our accept sent. */
  accepted?: number
  /** The first offer/answer exchange done (the media connection can start its checks). */
  negotiated?: number
  /** ICE found a working candidate pair for the media. */
  iceConnected?: number
  /** The media connection up (ICE and DTLS): the call's 'connected'. */
  connected?: number
  /** The first remote track handed to the app. */
  track?: number
  /** Whether the call went over a libp2p connection that was open before it (a repeat call). */
  reusedConnection?: boolean
}

/** The steps of {@link CallSetupTimes} that are times. */
export type SetupStep = Exclude<keyof CallSetupTimes, 'reusedConnection'>

/** A monotonic clock in ms (performance.now() in browsers and Node). */
export function nowMs (): number {
  return globalThis.performance.now()
}

/** @internal records a call's setup steps, each once (the first time it is reached). */
export class CallTimeline {
  readonly startedAt: number
  private readonly times: CallSetupTimes = {}
  private label = ''
  private log: Logger | undefined

  constructor (startedAt = nowMs()) {
    this.startedAt = startedAt
  }

  /** Names the call in the debug log once its id is known; steps reached before then are logged now. */
  attach (label: string, log: Logger): void {
    this.label = label
    this.log = log
    const steps = Object.entries(this.times).filter(([k]) => k !== 'reusedConnection').map(([k, v]) => `${k} ${String(v)}`)
    if (steps.length > 0) log('call %s setup: %s ms', label, steps.join(', '))
  }

  mark (step: SetupStep, at = nowMs()): void {
    if (this.times[step] !== undefined) return
    const ms = Math.round((at - this.startedAt) * 10) / 10
    this.times[step] = ms
    this.log?.('call %s setup: %s at %d ms', this.label, step, ms)
  }

  set reusedConnection (reused: boolean) { this.times.reusedConnection = reused }

  get (): CallSetupTimes { return { ...this.times } }

  /** Marks the media connection's setup steps, 'negotiated' and 'iceConnected' (the media session keeps its own handlers). */
  watchSetup (pc: RTCPeerConnection): void {
    const onSignalling = (): void => {
      if (pc.signalingState !== 'stable' || pc.remoteDescription === null) return
      this.mark('negotiated')
      pc.removeEventListener('signalingstatechange', onSignalling)
    }
    const onIce = (): void => {
      if (pc.iceConnectionState !== 'connected' && pc.iceConnectionState !== 'completed') return
      this.mark('iceConnected')
      pc.removeEventListener('iceconnectionstatechange', onIce)
    }
    pc.addEventListener('signalingstatechange', onSignalling)
    pc.addEventListener('iceconnectionstatechange', onIce)
  }
}
