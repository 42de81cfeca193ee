/**
 * The sending half of AIC in a call: once a second it reads its video sender's stats (available
 * outgoing bitrate, loss, RTT), gives them with the receiver's last AicReport to the mode
 * controller of @auralink/aic, and applies its decision with `RTCRtpSender.setParameters`
 * through the sender's one writer (sender-params.ts, which also holds a group call's share of the
 * uplink: the controller then sees no more bitrate available than that share)
 * (`scaleResolutionDownBy` 1, 1.5 or 2, `maxBitrate`, and `degradationPreference`
 * 'maintain-resolution' while reduced, so that Chromium's own adaptation does not shrink the
 * frames the enhancer restores). The meta of each frame rides in the frame (encoded transform) when
 * the receiver strips it; else each applied switch is said in an AicSwitch.
 */
import { senderParams } from './sender-params.js'
import type { SenderParams } from './sender-params.js'
import type { AicScale, PeerAicReport } from './aic-wire.js'
import type { Logger } from '@libp2p/interface'

/** The decision the controller makes (the shape of @auralink/aic's AicDecision). */
export interface SenderDecision { scale: AicScale, maxBitrateBps?: number, reason: string }

/** What the sender needs of @auralink/aic's controller. */
export interface ControllerLike {
  update(obs: {
    atMs: number
    availableBitrateBps?: number
    lossFraction?: number
    rttMs?: number
    receiver?: { enhanceMsP95?: number, framesEnhanced: number, framesPassedThrough: number, atMs: number }
  }): { decision: SenderDecision, changed: boolean }
  readonly decision: SenderDecision
  readonly fallback?: { reason: string, atMs: number } | undefined
  /** Takes effect at the next update. */
  setMode(mode: 'off' | 'conservative' | 'adaptive' | 'aggressive'): void
}

export interface SenderHooks {
  /** A decision is about to be applied (setParameters next). */
  applying(decision: SenderDecision): void
  /** A decision was applied (setParameters resolved). */
  applied(decision: SenderDecision): void
  /** setParameters refused a decision. */
  failed(reason: string): void
}

/** One call's sending loop. */
export class AicSender {
  private timer: ReturnType<typeof setInterval> | undefined
  private report: (PeerAicReport & { atMs: number }) | undefined
  private applying = false
  private stopped = false
  /** The decision in force on the sender now. */
  current: SenderDecision = { scale: 1, reason: 'not started' }
  private readonly params: SenderParams

  constructor (
    private readonly pc: RTCPeerConnection,
    private readonly sender: RTCRtpSender,
    private readonly controller: ControllerLike,
    private readonly hooks: SenderHooks,
    private readonly log: Logger,
    private readonly tickMs: number
  ) {
    this.params = senderParams(sender, log)
  }

  start (): void {
    this.timer = setInterval(() => { void this.tick() }, this.tickMs)
  }

  /** The receiver's latest AicReport. */
  onReport (report: PeerAicReport): void {
    this.report = { ...report, atMs: performance.now() }
  }

  get fallback (): { reason: string, atMs: number } | undefined { return this.controller.fallback }

  /** The controller's latest word: why it holds or wants the scale it does (it may not be applied yet). */
  get reason (): string { return this.controller.decision.reason }

  /** A new mode from the app (call.setAicMode): the controller takes it at its next update. */
  setMode (mode: 'off' | 'conservative' | 'adaptive' | 'aggressive'): void {
    this.controller.setMode(mode)
    void this.tick()
  }

  stop (): void {
    this.stopped = true
    clearInterval(this.timer)
  }

  private async tick (): Promise<void> {
    if (this.applying || this.stopped || this.pc.connectionState === 'closed') return
    this.applying = true
    try {
      const obs = await readSenderStats(this.sender)
      const atMs = performance.now()
      // a group call's share of the uplink is all this pair may use: the controller decides within it
      const budget = this.params.budgetBps
      if (budget !== undefined) obs.availableBitrateBps = Math.min(obs.availableBitrateBps ?? budget, budget)
      const { decision, changed } = this.controller.update({
        atMs,
        ...obs,
        ...(this.report !== undefined
          ? { receiver: { enhanceMsP95: this.report.enhanceMsP95, framesEnhanced: this.report.framesEnhanced, framesPassedThrough: this.report.framesPassedThrough, atMs: this.report.atMs } }
          : {})
      })
      if (changed || decision.scale !== this.current.scale) await this.apply(decision)
    } catch (err) {
      if (!this.stopped) this.log('aic: sender tick failed: %s', (err as Error).message)
    } finally {
      this.applying = false
    }
  }

  private async apply (decision: SenderDecision): Promise<void> {
    this.hooks.applying(decision)
    try {
      // through the sender's one writer, which also holds a group call's share (sender-params.ts)
      await this.params.setAic({
        scale: decision.scale,
        ...(decision.maxBitrateBps !== undefined ? { maxBitrateBps: decision.maxBitrateBps } : {}),
        degradationPreference: decision.scale > 1 ? 'maintain-resolution' : 'balanced'
      })
    } catch (err) {
      this.hooks.failed(`setParameters refused scale ${decision.scale}: ${(err as Error).message}`)
      return
    }
    if (this.stopped) return
    this.current = decision
    this.hooks.applied(decision)
  }
}

/**
 * What the sender's stats say: available bitrate and RTT of the selected candidate pair, loss of
 * this sender's video as the receiver reported it. One getStats() on the sender: its report holds
 * its outbound-rtp and what that refers to (transport, candidate pair, remote-inbound-rtp).
 */
export async function readSenderStats (sender: RTCRtpSender): Promise<{ availableBitrateBps?: number, lossFraction?: number, rttMs?: number }> {
  const out: { availableBitrateBps?: number, lossFraction?: number, rttMs?: number } = {}
  const report = await sender.getStats()
  report.forEach((s: Record<string, unknown>) => {
    if (s.type === 'candidate-pair' && (s.nominated === true || s.selected === true) && s.state === 'succeeded') {
      if (typeof s.availableOutgoingBitrate === 'number') out.availableBitrateBps = s.availableOutgoingBitrate
      if (typeof s.currentRoundTripTime === 'number') out.rttMs = s.currentRoundTripTime * 1000
    }
    if (s.type === 'remote-inbound-rtp' && s.kind === 'video' && typeof s.fractionLost === 'number') out.lossFraction = s.fractionLost
  })
  return out
}
