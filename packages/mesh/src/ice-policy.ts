import type { IceServerSets } from './ice-servers.js'

/** Which ICE servers an outbound WebRTC attempt uses: STUN only ('direct') or TURN only ('turn'). */
export type IcePhase = 'direct' | 'turn'

interface Waiter { phase: IcePhase, resolve(): void, signal?: AbortSignal, onAbort(): void }

/**
 * The RTCConfiguration of every new RTCPeerConnection of a node, and the gate that makes it right
 * for each outbound attempt.
 *
 * libp2p's WebRTC transport asks `rtcConfiguration()` (no arguments) once per new peer
 * connection, outbound and inbound alike, so it cannot tell which dial is asking. The answer is
 * the STUN servers only, except while an attempt of the TURN phase runs: then it is the TURN
 * servers with `iceTransportPolicy: 'relay'`. To keep that from leaking into other outbound
 * attempts, `run()` lets attempts of one phase run together and makes an attempt of the other
 * phase wait (first come, first served) until they have settled: a direct attempt on this node
 * never gathers TURN candidates and a TURN attempt never gathers others. Each attempt is bounded
 * by its own timeout, so a wait is too.
 *
 * What it cannot keep apart: an inbound connection (another peer dialling us) that starts while a
 * TURN attempt of ours runs gets the TURN config as well. It still connects when our TURN server
 * is reachable, but through it, and the dialling peer will report it as 'direct'. Outside that
 * window inbound connections use the STUN servers only.
 *
 * With no TURN servers configured there is no TURN phase and `run()` never waits.
 */
export class IcePolicy {
  private readonly sets: IceServerSets
  private phase: IcePhase = 'direct'
  private running = 0
  private readonly waiting: Waiter[] = []

  constructor (sets: IceServerSets) {
    this.sets = sets
  }

  /** Whether any TURN server is configured. */
  get hasTurn (): boolean { return this.sets.turn.length > 0 }

  /** Attempts of the TURN phase running now. */
  get turnAttempts (): number { return this.phase === 'turn' ? this.running : 0 }

  /**
   * For `webRTC({ rtcConfiguration })`. A fresh object each time: libp2p and node-datachannel
   * fill in and normalise the one they are given.
   */
  readonly rtcConfiguration = (): RTCConfiguration => {
    if (this.turnAttempts > 0) return { iceServers: this.sets.turn.map(copy), iceTransportPolicy: 'relay' }
    return { iceServers: this.sets.stun.map(copy), iceTransportPolicy: 'all' }
  }

  /** Runs one outbound WebRTC attempt of `phase` once no attempt of the other phase runs. */
  async run<T> (phase: IcePhase, attempt: () => Promise<T>, options: { signal?: AbortSignal } = {}): Promise<T> {
    if (!this.hasTurn) return attempt()
    await this.enter(phase, options.signal)
    try {
      return await attempt()
    } finally {
      this.running--
      this.admit()
    }
  }

  private async enter (phase: IcePhase, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted()
    if (this.waiting.length === 0 && (this.running === 0 || this.phase === phase)) {
      this.phase = phase
      this.running++
      return
    }
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        phase,
        resolve,
        ...(signal !== undefined ? { signal } : {}),
        onAbort: () => {
          const i = this.waiting.indexOf(waiter)
          if (i >= 0) this.waiting.splice(i, 1)
          reject(signal?.reason)
          this.admit()
        }
      }
      signal?.addEventListener('abort', waiter.onAbort, { once: true })
      this.waiting.push(waiter)
    })
  }

  /** Lets in the waiting attempts at the head of the queue that may run now. */
  private admit (): void {
    for (let head = this.waiting[0]; head !== undefined; head = this.waiting[0]) {
      if (this.running > 0 && head.phase !== this.phase) return
      this.waiting.shift()
      head.signal?.removeEventListener('abort', head.onAbort)
      this.phase = head.phase
      this.running++
      head.resolve()
    }
  }
}

function copy (server: RTCIceServer): RTCIceServer {
  return { ...server, urls: Array.isArray(server.urls) ? [...server.urls] : server.urls }
}
