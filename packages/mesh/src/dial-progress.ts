import { AttemptTimeoutError } from './errors.js'
import type { AbortOptions } from '@libp2p/interface'

// The time limit of one WebRTC dial attempt: a limit on time without progress, scaled by the
// relay's measured round-trip time, inside a limit on the whole attempt.

/** How an attempt's limits are set: see {@link stallLimitMs} and {@link AttemptClock}. */
export interface AttemptLimits {
  /** The whole attempt's limit (`MeshNodeInit.dial.timeoutMs`). */
  timeoutMs: number
  /** Least time without progress after which the attempt is given up. */
  stallMs: number
  /** The stall limit is at least this many round trips to the relay the attempt is signalled through. */
  stallRtts: number
}

/**
 * How long an attempt signalled through a relay whose measured round-trip time is `rttMs` may go
 * without progress: `stallRtts` round trips, at least `stallMs`, at most `timeoutMs`. A machine
 * or a network that is slow shows it in the RTT (the relay keeper's pings cross the same busy
 * event loops and links as the dial's signalling), so the limit grows with it.
 */
export function stallLimitMs (limits: AttemptLimits, rttMs: number | undefined): number {
  const scaled = rttMs !== undefined && Number.isFinite(rttMs) && rttMs > 0 ? rttMs * limits.stallRtts : 0
  return Math.min(limits.timeoutMs, Math.max(limits.stallMs, Math.round(scaled)))
}

/**
 * The signal of one attempt: it aborts when the attempt has made no progress for `stallMs` (no
 * progress event from libp2p: relay dialled, signalling stream opened, SDP offer sent, answer read,
 * an ICE candidate added, the upgrade's steps), when `timeoutMs` have passed since it started, or
 * when the caller's signal aborts (with the caller's reason). It records the steps it saw, so a
 * failed attempt can say where it stopped and a slow one where its time went.
 */
export class AttemptClock {
  readonly signal: AbortSignal
  private readonly controller = new AbortController()
  private readonly started = Date.now()
  private readonly stallMs: number
  private readonly steps: Array<{ step: string, atMs: number }> = []
  private stallTimer: ReturnType<typeof setTimeout> | undefined
  private readonly totalTimer: ReturnType<typeof setTimeout>
  private readonly onCallerAbort: () => void
  private readonly caller: AbortSignal | undefined

  constructor (timeoutMs: number, stallMs: number, options: AbortOptions = {}) {
    this.stallMs = stallMs
    this.caller = options.signal
    this.onCallerAbort = () => { this.stop(this.caller?.reason) }
    this.signal = this.controller.signal
    if (this.caller?.aborted === true) {
      this.controller.abort(this.caller.reason)
    } else {
      this.caller?.addEventListener('abort', this.onCallerAbort, { once: true })
    }
    this.totalTimer = setTimeout(() => {
      this.stop(new AttemptTimeoutError(`the attempt took over ${timeoutMs} ms (${this.describe()})`))
    }, timeoutMs)
    this.armStall()
  }

  /** A progress event of the attempt: the stall limit starts again. */
  step (name: string): void {
    if (this.signal.aborted) return
    this.steps.push({ step: name, atMs: Date.now() - this.started })
    this.armStall()
  }

  /** ms since the attempt started. */
  get elapsedMs (): number { return Date.now() - this.started }

  /** The steps seen and when (ms since the start), the last first: `'webrtc:read-ice-candidates' at 40 ms, ...`. */
  describe (): string {
    const last = this.steps.at(-1)
    if (last === undefined) return 'no progress at all'
    const since = this.elapsedMs - last.atMs
    return `last progress '${last.step}' at ${last.atMs} ms, ${since} ms before; ${this.steps.length} step${this.steps.length === 1 ? '' : 's'}`
  }

  /** Every step with its time, for a debug log line. */
  timeline (): string {
    return this.steps.map((s) => `${s.step}@${s.atMs}`).join(' ')
  }

  /** Releases the timers and the caller's listener; the signal stays as it is. */
  dispose (): void {
    clearTimeout(this.stallTimer)
    clearTimeout(this.totalTimer)
    this.caller?.removeEventListener('abort', this.onCallerAbort)
  }

  private armStall (): void {
    clearTimeout(this.stallTimer)
    this.stallTimer = setTimeout(() => {
      this.stop(new AttemptTimeoutError(`no progress for ${this.stallMs} ms (${this.describe()})`))
    }, this.stallMs)
  }

  private stop (reason: unknown): void {
    this.dispose()
    if (!this.controller.signal.aborted) this.controller.abort(reason)
  }
}
