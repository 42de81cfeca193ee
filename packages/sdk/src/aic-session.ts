/**
 * AIC in one video call (docs/aic.md "AIC in calls"): negotiation, the sending loop, the receiving
 * pipelines, stats and the `aic` event.
 *
 * Negotiation: once its receiving side is ready (the enhancers loaded and timed, or why not), each
 * side sends an AicCapability. Video A sends to B is reduced only when A's mode is not 'off', B said
 * it is available and B's mode is not 'off' either; the sender's mode then decides how far it leans.
 * A peer that says nothing within `capabilityTimeoutMs` is a peer without AIC. Whatever is missing
 * (peer, browser API, model), the call stays plain WebRTC and `stats().aic.fallback` says why.
 */
import { decodeEnhanceMeta, encodeEnhanceMeta } from '@auralink/protocol'
import { AdaptiveReceiver, AdaptiveSender } from './aic-adapt.js'
import { AicReceiverPipeline } from './aic-receiver.js'
import { hasEncodedTransform, missingPipelineApi } from './aic-runtime.js'
import { AicSender } from './aic-sender.js'
import { checkCapability, checkReport, modeToWire, scaleFromX100, scaleToX100 } from './aic-wire.js'
import type { AicAdaptiveStats } from './aic-adapt.js'
import type { FrameEnhancer } from './aic-receiver.js'
import type { AicRuntime } from './aic-runtime.js'
import type { SenderDecision } from './aic-sender.js'
import type { TransformCommand, TrailerSeen } from './aic-transform-worker.js'
import type { AicMode, AicScale, AicSignal, PeerAicCapability } from './aic-wire.js'
import type { SignalMessageFields } from '@auralink/protocol'
import type { Logger } from '@libp2p/interface'

/** `call.stats().aic` and the `aic` event's payload. */
export interface AicStats {
  /** The mode in force for video this side sends: 'off' when it is plain (see `fallback` for why). */
  mode: AicMode
  /** 'negotiating' until both sides have said what they can; 'plain' or 'active' (AIC may reduce what this side sends) after. */
  state: 'negotiating' | 'plain' | 'active'
  /** The scale this side sends at now (1: full size). */
  scale: AicScale
  /** The bitrate the controller asks of the encoder (maxBitrate), when it sets one. */
  targetBitrateBps?: number
  /** The controller's last reason, in words with its numbers. */
  reason?: string
  /** How the frames' metadata travels to the peer: in the encoded frames, or in AicSwitch messages. */
  metaTransport?: 'encoded-transform' | 'signal'
  /** This side's enhancer (for video it receives): the runtime that ran it. */
  runtime?: string
  /** ms per enhanced frame, last 60 frames. */
  enhanceMs?: { p50: number, p95: number }
  /** Received frames restored by the enhancer, and passed through upscaled (not restored in time). */
  framesEnhanced: number
  framesPassedThrough: number
  /** The scale of the video this side receives now. */
  receivingScale: AicScale
  /** What the peer said it can do, once it has. */
  peer?: { available: boolean, mode: AicMode, runtime?: string, reason?: string }
  /** The last fallback to plain video, and why. `atMs` is Date.now() at the time. */
  fallback?: { reason: string, atMs: number }
  /** Tool 1's adaptive mode in this call (docs/aic-adaptive.md), each way, once it has started. */
  adaptive?: AicAdaptiveStats
}

export interface AicSessionComponents {
  log: Logger
  /** Sends an AIC message on the call stream. */
  send(fields: Omit<SignalMessageFields, 'callId'>): void
  /** The client's runtime (enhancers, controller), loaded once. */
  runtime(): Promise<AicRuntime>
  /** Something in the stats changed. */
  changed(stats: AicStats): void
  capabilityTimeoutMs: number
  tickMs: number
}

export class AicSession {
  private readonly pipelines = new Set<AicReceiverPipeline>()
  private readonly workers = new Set<Worker>()
  private rt: AicRuntime | undefined
  private sender: AicSender | undefined
  private senderWorker: Worker | undefined
  private peerCap: PeerAicCapability | undefined
  private localReady = false
  private capTimer: ReturnType<typeof setTimeout> | undefined
  private fallback: AicStats['fallback']
  private decision: SenderDecision = { scale: 1, reason: 'plain until both sides have said what they can' }
  private metaTransport: AicStats['metaTransport']
  private receivingScale: AicScale = 1
  private reportTimer: ReturnType<typeof setInterval> | undefined
  private stopped = false
  private pc: RTCPeerConnection | undefined
  private readonly localMissing: string | undefined
  private adaptSender: AdaptiveSender | undefined
  private adaptReceiver: AdaptiveReceiver | undefined
  /** This call's adaptive enhancers, by scale, once each holds an update: they restore its video in place of the shared ones. */
  private readonly adapted = new Map<number, FrameEnhancer>()

  constructor (private mode: AicMode, private readonly c: AicSessionComponents) {
    this.localMissing = missingPipelineApi()
  }

  /**
   * The app changes the mode mid-call (call.setAicMode). It governs the video this side sends:
   * 'off' brings it back to full size at the next controller update; another mode starts or
   * retunes the controller. What this side receives is restored as its metadata says, whatever
   * this side's mode.
   */
  setMode (mode: AicMode): void {
    if (this.stopped || mode === this.mode) return
    this.mode = mode
    if (this.sender !== undefined) this.sender.setMode(mode)
    else this.maybeStartSender()
    this.emit()
  }

  /**
   * The media session's peer connection exists: get ready and say what this side can do.
   * `senderWorker`: the transform that installSenderTransform() put on the video sender before the
   * connection's first offer (a caller's media session made before its invite), taken over here.
   */
  start (pc: RTCPeerConnection, senderWorker?: Worker): void {
    this.pc = pc
    // the sender's transform goes on now, before the first frame is encoded and before the
    // connection's first offer (Chromium does not start one set later); it writes no trailer
    // until the peer has said it strips them
    if (senderWorker !== undefined) {
      this.senderWorker = senderWorker
    } else {
      this.senderWorker = this.mode !== 'off' ? installSenderTransform(pc) : undefined
    }
    this.capTimer = setTimeout(() => {
      if (this.peerCap === undefined) this.fall(`the peer said nothing of AIC within ${Math.round(this.c.capabilityTimeoutMs / 1000)} s (a peer without AIC)`)
    }, this.c.capabilityTimeoutMs)
    void this.getReady()
  }

  private async getReady (): Promise<void> {
    let available = false
    let reason = ''
    const models: Array<{ scaleX100: number, version: number, msPerFrame: number, width: number, height: number, adaptive: boolean }> = []
    if (this.mode === 'off') {
      reason = 'AIC is off on this side'
    } else if (this.localMissing !== undefined) {
      reason = `this browser has no ${this.localMissing}`
    } else {
      try {
        this.rt = await this.c.runtime()
        for (const e of this.rt.enhancers.values()) models.push({ scaleX100: scaleToX100(e.scale), version: e.version, msPerFrame: e.msPerFrame, width: e.width, height: e.height, adaptive: this.rt.adaptive?.scales.includes(e.scale) === true })
        available = models.length > 0
        if (!available) reason = this.rt.failure ?? 'no enhancer loaded'
        for (const p of this.pipelines) p.setEnhancers(this.enhancers())
      } catch (err) {
        reason = `AIC could not be loaded: ${(err as Error).message}`
      }
    }
    if (this.stopped) return
    if (!available && this.mode !== 'off') this.fall(reason)
    this.localReady = true
    this.c.send({
      aicCapability: {
        available,
        reason: reason.slice(0, 256),
        mode: modeToWire(this.mode),
        models,
        runtime: this.rt?.runtime ?? '',
        metaInFrame: available && hasEncodedTransform()
      }
    })
    if (available) this.reportTimer = setInterval(() => { this.sendReport() }, this.c.tickMs)
    this.maybeStartSender()
    this.emit()
  }

  /**
   * A remote track arrived: video goes through a receiving pipeline when this side can restore it;
   * returns the track and stream the app gets.
   */
  wrapTrack (track: MediaStreamTrack, stream: MediaStream, receiver: RTCRtpReceiver | undefined): { track: MediaStreamTrack, stream: MediaStream } {
    if (track.kind !== 'video' || this.mode === 'off' || this.localMissing !== undefined || this.stopped) return { track, stream }
    const pipeline = new AicReceiverPipeline(track, this.c.log, (scale) => { this.receivingScale = scale; this.emit() }, () => {
      // the remote track ended (removed by the sender, or the call is over): so does ours
      stream.removeTrack(pipeline.track)
      this.pipelines.delete(pipeline)
    })
    pipeline.setEnhancers(this.enhancers())
    this.pipelines.add(pipeline)
    if (receiver !== undefined && hasEncodedTransform()) {
      const worker = startTransformWorker()
      this.workers.add(worker)
      worker.onmessage = (ev: MessageEvent<TrailerSeen>) => { if (ev.data?.type === 'trailer') pipeline.onTrailer(ev.data) }
      receiver.transform = new RTCRtpScriptTransform(worker, { side: 'receive' })
    }
    // the app keeps the remote stream it would have had (its id is the sender's stream id, which
    // apps match screen shares by), with the restored track in place of the decoded one; a
    // renegotiation that puts the decoded one back finds it taken out again
    stream.removeTrack(track)
    stream.addTrack(pipeline.track)
    stream.addEventListener('addtrack', (e) => { if (e.track === track) stream.removeTrack(track) })
    return { track: pipeline.track, stream }
  }

  /** The loaded enhancers by scale, for the receiving pipelines (none until the runtime is loaded). */
  private enhancers (): Map<number, FrameEnhancer> {
    const shared = new Map([...(this.rt?.enhancers ?? [])].map(([s, e]) => [s, e.enhancer]))
    for (const [s, e] of this.adapted) shared.set(s, e)
    return shared
  }

  /** The peer's AicWeightUpdate: this call's adaptive enhancer for its scale applies it. */
  private onWeightUpdate (bytes: Uint8Array): void {
    const adaptive = this.rt?.adaptive
    if (adaptive === undefined || this.mode === 'off') {
      this.c.log('aic: dropping the peer\'s weight update: this side said it does not adapt')
      return
    }
    this.adaptReceiver ??= new AdaptiveReceiver({
      scales: adaptive.scales,
      createEnhancer: async (scale) => adaptive.createEnhancer(scale),
      use: (scale, enhancer) => {
        if (this.adapted.get(scale) === enhancer) return
        this.adapted.set(scale, enhancer)
        for (const p of this.pipelines) p.setEnhancers(this.enhancers())
      },
      changed: () => { this.emit() },
      log: this.c.log
    })
    this.adaptReceiver.onUpdate(bytes)
  }

  /** An AIC message from the peer (already past the call machine). */
  onSignal (sig: AicSignal): void {
    if (this.stopped) return
    try {
      if (sig.type === 'capability') {
        if (this.peerCap !== undefined) return
        this.peerCap = checkCapability(sig.capability)
        clearTimeout(this.capTimer)
        if (!this.peerCap.available) this.fall(`the peer cannot restore video: ${this.peerCap.reason ?? 'no reason given'}`)
        else if (this.peerCap.mode === 'off') this.fall('AIC is off on the peer\'s side')
        this.maybeStartSender()
        this.emit()
      } else if (sig.type === 'report') {
        this.sender?.onReport(checkReport(sig.report))
      } else if (sig.type === 'weightUpdate') {
        this.onWeightUpdate(sig.update.update ?? new Uint8Array(0))
      } else {
        const scale = scaleFromX100(sig.switch.meta != null && sig.switch.meta.byteLength > 0 ? (decodeEnhanceMeta(sig.switch.meta).scaleX100 ?? 0) : 100)
        if (scale === undefined) throw new TypeError('AicSwitch.meta has a scale other than 1, 1.5 or 2')
        for (const p of this.pipelines) p.onSwitch(scale, sig.switch.width ?? 0, sig.switch.height ?? 0)
      }
    } catch (err) {
      this.c.log('aic: dropping the peer\'s %s: %s', sig.type, (err as Error).message)
    }
  }

  private maybeStartSender (): void {
    // a browser without AIC's pipeline (Firefox: no MediaStreamTrackProcessor) sends plain video
    // too, whenever the peer's capability comes (docs/aic.md): it had fallen back already
    if (this.sender !== undefined || this.stopped || this.mode === 'off' || this.pc === undefined || this.localMissing !== undefined) return
    const cap = this.peerCap
    if (cap === undefined || !cap.available || cap.mode === 'off') return
    const rt = this.rt
    if (rt === undefined) {
      // this side's own enhancers failed or are loading: the sender needs only the controller
      if (!this.localReady) return
    }
    const videoSender = this.pc.getSenders().find((s) => s.track?.kind === 'video')
    if (videoSender?.track == null) {
      this.decision = { scale: 1, reason: 'this side sends no video' }
      return
    }
    const videoTrack = videoSender.track
    const settings = videoTrack.getSettings()
    const frame = { width: settings.width ?? 640, height: settings.height ?? 360, fps: settings.frameRate ?? 30 }
    const outPixels = frame.width * frame.height
    const receiverMsPerFrame: Record<string, number> = {}
    for (const m of cap.models) receiverMsPerFrame[String(m.scale)] = m.msPerFrame * outPixels / (m.width * m.height)
    void this.c.runtime().then((runtime) => {
      if (this.stopped || this.sender !== undefined || this.pc === undefined) return
      let postMeta: (engaged: boolean) => void = () => {}
      const controller = runtime.createController({ mode: this.mode as Exclude<AicMode, 'off'>, frame, scales: cap.models.map((m) => m.scale), receiverMsPerFrame })
      if (cap.metaInFrame && this.senderWorker !== undefined) {
        const versions: Record<string, number> = {}
        for (const m of cap.models) versions[String(m.scale)] = m.version
        // mode 0 until the controller engages a scale: frames Chromium's own adaptation shrinks
        // in a plain call are then shown as they are, not sent through the enhancer
        postMeta = (engaged) => { this.senderWorker?.postMessage({ type: 'meta', modelVersion: versions, mode: engaged ? modeToWire(this.mode) : 0, fullWidth: frame.width } satisfies TransformCommand) }
        postMeta(false)
        this.metaTransport = 'encoded-transform'
      } else {
        this.metaTransport = 'signal'
      }
      this.sender = new AicSender(this.pc, videoSender, controller, {
        // frames are marked as AIC's before the first reduced one is encoded, and unmarked once full size is back
        applying: (d) => {
          if (d.scale > 1) postMeta(true)
          this.adaptSender?.prepare(d.scale, cap.models.find((m) => m.scale === d.scale)?.adaptive === true)
        },
        applied: (d) => {
          if (d.scale === 1) postMeta(false)
          this.adaptSender?.setScale(d.scale, cap.models.find((m) => m.scale === d.scale)?.adaptive === true)
          const wasReduced = this.decision.scale > 1
          this.decision = d
          if (wasReduced && d.scale === 1 && controller.fallback !== undefined) this.fall(controller.fallback.reason)
          if (this.metaTransport === 'signal') {
            const version = cap.models.find((m) => m.scale === d.scale)?.version ?? 0
            this.c.send({ aicSwitch: { meta: encodeEnhanceMeta({ scaleX100: scaleToX100(d.scale), modelVersion: version, mode: modeToWire(this.mode) }), width: frame.width, height: frame.height } })
          }
          this.emit()
        },
        failed: (reason) => { this.fall(reason) }
      }, this.c.log, this.c.tickMs)
      // tool 1's adaptive mode needs the sender's transform (it decodes what is sent) and a peer that adapts
      const adaptive = runtime.adaptive
      if (adaptive !== undefined && this.senderWorker !== undefined && cap.models.some((m) => m.adaptive)) {
        this.adaptSender = new AdaptiveSender({
          track: videoTrack,
          worker: this.senderWorker,
          createFitter: async (scale) => adaptive.createFitter(scale),
          send: (bytes) => { this.c.send({ aicWeightUpdate: { update: bytes } }) },
          cpuLimited: async () => {
            let limited = false
            const report = await videoSender.getStats().catch(() => undefined)
            report?.forEach((s: Record<string, unknown>) => { if (s.type === 'outbound-rtp' && s.qualityLimitationReason === 'cpu') limited = true })
            return limited
          },
          changed: () => { this.emit() },
          log: this.c.log,
          cpuShare: adaptive.cpuShare
        })
      }
      this.sender.start()
      this.emit()
    }, (err: unknown) => { this.fall(`AIC could not be loaded: ${(err as Error).message}`) })
  }

  private sendReport (): void {
    let framesEnhanced = 0
    let framesPassedThrough = 0
    let ms: { p50: number, p95: number } | undefined
    for (const p of this.pipelines) {
      framesEnhanced += p.counters.framesEnhanced
      framesPassedThrough += p.counters.framesPassedThrough
      ms = p.counters.enhanceMs ?? ms
    }
    this.c.send({ aicReport: { enhanceMsP50: ms?.p50 ?? 0, enhanceMsP95: ms?.p95 ?? 0, framesEnhanced, framesPassedThrough } })
  }

  private fall (reason: string): void {
    this.fallback = { reason, atMs: Date.now() }
    this.c.log('aic: plain video: %s', reason)
    this.emit()
  }

  stats (): AicStats {
    let framesEnhanced = 0
    let framesPassedThrough = 0
    let enhanceMs: AicStats['enhanceMs']
    for (const p of this.pipelines) {
      framesEnhanced += p.counters.framesEnhanced
      framesPassedThrough += p.counters.framesPassedThrough
      enhanceMs = p.counters.enhanceMs ?? enhanceMs
    }
    const active = this.sender !== undefined
    const cap = this.peerCap
    return {
      mode: active ? this.mode : 'off',
      state: active ? 'active' : (this.localReady && cap !== undefined) || this.fallback !== undefined || this.mode === 'off' ? 'plain' : 'negotiating',
      scale: this.decision.scale,
      ...(this.decision.maxBitrateBps !== undefined ? { targetBitrateBps: this.decision.maxBitrateBps } : {}),
      reason: this.sender?.reason ?? this.decision.reason,
      ...(this.metaTransport !== undefined ? { metaTransport: this.metaTransport } : {}),
      ...(this.rt?.runtime !== undefined ? { runtime: this.rt.runtime } : {}),
      ...(enhanceMs !== undefined ? { enhanceMs } : {}),
      framesEnhanced,
      framesPassedThrough,
      receivingScale: this.receivingScale,
      ...(cap !== undefined ? { peer: { available: cap.available, mode: cap.mode, ...(cap.runtime !== undefined ? { runtime: cap.runtime } : {}), ...(cap.reason !== undefined ? { reason: cap.reason } : {}) } } : {}),
      ...(this.fallback !== undefined ? { fallback: this.fallback } : {}),
      ...(this.adaptSender?.stats !== undefined || this.adaptReceiver?.stats !== undefined
        ? { adaptive: { ...(this.adaptSender?.stats !== undefined ? { sending: { ...this.adaptSender.stats } } : {}), ...(this.adaptReceiver?.stats !== undefined ? { receiving: { ...this.adaptReceiver.stats } } : {}) } }
        : {})
    }
  }

  private emit (): void {
    if (!this.stopped) this.c.changed(this.stats())
  }

  stop (): void {
    if (this.stopped) return
    this.stopped = true
    clearTimeout(this.capTimer)
    clearInterval(this.reportTimer)
    this.sender?.stop()
    this.adaptSender?.stop()
    this.adaptReceiver?.stop()
    for (const p of this.pipelines) p.stop()
    this.pipelines.clear()
    for (const w of this.workers) w.terminate()
    this.senderWorker?.terminate()
  }
}

/**
 * @internal Puts AIC's encoded transform on `pc`'s video sender where this browser can run AIC
 * (it must go on before the connection's first offer); returns its worker, or undefined.
 */
export function installSenderTransform (pc: RTCPeerConnection): Worker | undefined {
  const videoSender = pc.getSenders().find((s) => s.track?.kind === 'video')
  if (videoSender === undefined || missingPipelineApi() !== undefined || !hasEncodedTransform()) return undefined
  const worker = startTransformWorker()
  videoSender.transform = new RTCRtpScriptTransform(worker, { side: 'send' })
  return worker
}

function startTransformWorker (): Worker {
  // the literal `new URL(…, import.meta.url)` inside `new Worker` is what bundlers build and copy
  return new Worker(new URL('./aic-transform-worker.js', import.meta.url), { type: 'module', name: 'auralink-aic-transform' })
}
