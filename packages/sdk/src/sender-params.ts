/**
 * The one writer of a call's video sender's encoding (`RTCRtpSender.setParameters`). Two parts of
 * the SDK set it: AIC's sender (the scale it sends at, the bitrate it asks of the encoder, the
 * degradation preference) and a group call (its pair's share of the uplink, docs/group-calls.md
 * "Bitrate per pair"). Each says what it wants here; this merges the two (the lower bitrate wins)
 * and writes one at a time, each write reading the latest of both, so two writers never race over
 * one sender's parameters (the likely cause of a pair's video stopping when a group cap was first
 * tried beside AIC).
 */
import type { Logger } from '@libp2p/interface'

/** What AIC's sender wants of the encoder. */
export interface AicEncoding {
  /** `scaleResolutionDownBy`: 1, 1.5 or 2. */
  scale: number
  /** The bitrate AIC asks for, if any. */
  maxBitrateBps?: number
  /** 'maintain-resolution' while AIC sends reduced (Chromium's adaptation must not shrink the frames the enhancer restores). */
  degradationPreference?: 'maintain-resolution' | 'balanced'
}

/** The lowest share a group may give a pair: below it the encoder cannot send a useful picture. */
export const MIN_VIDEO_BUDGET_BPS = 30_000

/** The writer of one video sender's parameters. */
export class SenderParams {
  private aic: AicEncoding | undefined
  private budget: number | undefined
  private queue: Promise<void> = Promise.resolve()

  constructor (private readonly sender: RTCRtpSender, private readonly log: Logger) {}

  /** The group's share of the uplink for this sender, if one was set. */
  get budgetBps (): number | undefined { return this.budget }

  /** AIC's wish; resolves once written, rejects when the browser refuses it. */
  async setAic (encoding: AicEncoding): Promise<void> {
    this.aic = encoding
    await this.write()
  }

  /** A group's share of the uplink for this sender (undefined: none); resolves once written. */
  async setBudget (bps: number | undefined): Promise<void> {
    if (bps !== undefined && !(Number.isFinite(bps) && bps >= MIN_VIDEO_BUDGET_BPS)) throw new RangeError(`setBudget(${bps}): a budget must be at least ${MIN_VIDEO_BUDGET_BPS} bit/s`)
    if (bps === this.budget) return
    this.budget = bps
    await this.write()
  }

  /** One write after those before it; it reads both wishes as they are when it runs. */
  private async write (): Promise<void> {
    const next = this.queue.catch(() => {}).then(async () => { await this.apply() })
    this.queue = next
    await next
  }

  private async apply (): Promise<void> {
    const params = this.sender.getParameters() as RTCRtpSendParameters & { degradationPreference?: string }
    const enc = params.encodings?.[0]
    if (enc === undefined) throw new Error('the video sender has no encoding to set')
    if (this.aic !== undefined) {
      enc.scaleResolutionDownBy = this.aic.scale
      if (this.aic.degradationPreference !== undefined) params.degradationPreference = this.aic.degradationPreference
    }
    const max = Math.min(this.aic?.maxBitrateBps ?? Infinity, this.budget ?? Infinity)
    if (Number.isFinite(max)) enc.maxBitrate = Math.round(max)
    else delete enc.maxBitrate
    await this.sender.setParameters(params)
    this.log.trace('video sender: scale %s, maxBitrate %s', enc.scaleResolutionDownBy ?? 1, enc.maxBitrate ?? 'none')
  }
}

const writers = new WeakMap<RTCRtpSender, SenderParams>()

/** The writer of `sender`'s parameters (one per sender, made on first use). */
export function senderParams (sender: RTCRtpSender, log: Logger): SenderParams {
  let w = writers.get(sender)
  if (w === undefined) {
    w = new SenderParams(sender, log)
    writers.set(sender, w)
  }
  return w
}
