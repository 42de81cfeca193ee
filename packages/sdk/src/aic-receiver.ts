/**
 * The receiving half of AIC in a call: decoded video frames go through tool 1's enhancer on their
 * way to the app (`MediaStreamTrackProcessor` -> enhancer in its worker -> `MediaStreamTrackGenerator`).
 *
 * Each frame's scale comes from its EnhanceMeta: the trailer the encoded transform stripped (matched
 * by RTP timestamp), else the sender's last AicSwitch when the frame's size agrees with it, else
 * none (the frame is shown as it is). A reduced frame goes to the enhancer when it is idle; a frame
 * the enhancer cannot finish within one frame interval, or that arrives while it is busy, is passed
 * through upscaled (bilinear, by the canvas), never queued: the picture must not lag the audio.
 */
import { scaleFromX100 } from './aic-wire.js'
import type { AicScale } from './aic-wire.js'
import type { TrailerSeen } from './aic-transform-worker.js'
import type { Logger } from '@libp2p/interface'

/** What the receiver needs of tool 1's enhancer (the browser enhancer of @auralink/aic). */
export interface FrameEnhancer {
  readonly info: { runtime: string, scale: number, model: { version: number } }
  enhance(frame: VideoFrame): Promise<{ width: number, height: number, data: Uint8Array | Uint8ClampedArray }>
  close(): Promise<void>
}

export interface ReceiverCounters {
  framesEnhanced: number
  framesPassedThrough: number
  /** The scale of the last reduced or full-size frame seen. */
  scale: AicScale
  /** ms per enhanced frame over the last 60 (from the frame going in to the restored frame coming out). */
  enhanceMs?: { p50: number, p95: number }
}

interface Job { frame: VideoFrame, outW: number, outH: number, done: boolean }

const RECENT = 60
const MAX_TRAILERS = 256

/** One remote video track's pipeline. */
export class AicReceiverPipeline {
  readonly track: MediaStreamTrack
  private readonly generator: MediaStreamTrack & { writable: WritableStream<VideoFrame> }
  private readonly writer: WritableStreamDefaultWriter<VideoFrame>
  private readonly reader: ReadableStreamDefaultReader<VideoFrame>
  private readonly trailers = new Map<number, { scaleX100: number, mode: number }>()
  private switchMeta: { scale: AicScale, width: number, height: number } | undefined
  private enhancers = new Map<number, FrameEnhancer>()
  private busy = false
  private pending: Job | undefined
  private deadline: ReturnType<typeof setTimeout> | undefined
  private readonly times: number[] = []
  private lastTs: number | undefined
  private intervalMs = 1000 / 30
  private canvas: OffscreenCanvas | undefined
  private stopped = false
  readonly counters: ReceiverCounters = { framesEnhanced: 0, framesPassedThrough: 0, scale: 1 }

  constructor (source: MediaStreamTrack, private readonly log: Logger, private readonly onScale: (scale: AicScale) => void, private readonly onEnded: () => void = () => {}) {
    const Processor = (globalThis as unknown as { MediaStreamTrackProcessor: new (i: { track: MediaStreamTrack }) => { readable: ReadableStream<VideoFrame> } }).MediaStreamTrackProcessor
    const Generator = (globalThis as unknown as { MediaStreamTrackGenerator: new (i: { kind: 'video' }) => MediaStreamTrack & { writable: WritableStream<VideoFrame> } }).MediaStreamTrackGenerator
    this.reader = new Processor({ track: source }).readable.getReader()
    this.generator = new Generator({ kind: 'video' })
    this.writer = this.generator.writable.getWriter()
    this.track = this.generator
    void this.pump()
  }

  /** The enhancers loaded for this call, by scale. */
  setEnhancers (enhancers: Map<number, FrameEnhancer>): void { this.enhancers = enhancers }

  /** A trailer the encoded transform stripped (from its worker). */
  onTrailer (t: TrailerSeen): void {
    this.trailers.set(t.rtpTimestamp >>> 0, { scaleX100: t.scaleX100, mode: t.mode })
    if (this.trailers.size > MAX_TRAILERS) this.trailers.delete(this.trailers.keys().next().value as number)
  }

  /** The sender's AicSwitch (meta that could not ride in the frames). */
  onSwitch (scale: AicScale, width: number, height: number): void {
    this.switchMeta = { scale, width, height }
  }

  stop (): void {
    if (this.stopped) return
    this.stopped = true
    clearTimeout(this.deadline)
    void this.reader.cancel().catch(() => {})
    void this.writer.close().catch(() => {})
    this.generator.stop()
    this.pending?.frame.close()
    this.pending = undefined
    this.onEnded()
  }

  private async pump (): Promise<void> {
    // ends when the remote track ends or stop() cancels the reader
    for (;;) {
      let r: ReadableStreamReadResult<VideoFrame>
      try {
        r = await this.reader.read()
      } catch {
        break
      }
      if (r.done) break
      if (this.stopped) { r.value.close(); break }
      try {
        this.onFrame(r.value)
      } catch (err) {
        this.log('aic: a frame failed in the pipeline: %s', (err as Error).message)
        try { r.value.close() } catch {}
      }
    }
    this.stop()
  }

  /** The scale this frame was sent at, and the size it restores to; 1 when it is full size or unknown. */
  private scaleOf (frame: VideoFrame): { scale: AicScale, outW: number, outH: number } {
    const w = frame.displayWidth
    const h = frame.displayHeight
    const rtp = (frame as VideoFrame & { metadata?: () => { rtpTimestamp?: number } }).metadata?.().rtpTimestamp
    const fromTrailer = rtp !== undefined ? this.trailers.get(rtp >>> 0) : undefined
    let scale: AicScale | undefined
    if (fromTrailer !== undefined) {
      this.trailers.delete(rtp! >>> 0)
      // mode 0: the sender has not engaged AIC (a frame its browser shrank on its own is shown as it is)
      scale = fromTrailer.mode === 0 ? 1 : scaleFromX100(fromTrailer.scaleX100)
    } else if (this.switchMeta !== undefined) {
      const m = this.switchMeta
      // the switch applies only to frames whose size says so (a frame still at the old size is shown as it is)
      if (Math.abs(w * m.scale - m.width) <= m.scale && Math.abs(h * m.scale - m.height) <= m.scale) scale = m.scale
    }
    if (scale === undefined || scale === 1) return { scale: 1, outW: w, outH: h }
    return { scale, outW: Math.round(w * scale), outH: Math.round(h * scale) }
  }

  private onFrame (frame: VideoFrame): void {
    if (this.lastTs !== undefined && frame.timestamp > this.lastTs) {
      const dt = (frame.timestamp - this.lastTs) / 1000
      if (dt > 5 && dt < 500) this.intervalMs = this.intervalMs * 0.9 + dt * 0.1
    }
    this.lastTs = frame.timestamp
    // the frame before this one is still in the enhancer: it is late, show it upscaled now
    if (this.pending !== undefined) this.passLate()
    const { scale, outW, outH } = this.scaleOf(frame)
    if (scale !== this.counters.scale) { this.counters.scale = scale; this.onScale(scale) }
    if (scale === 1) { this.write(frame); return }
    const enhancer = this.enhancers.get(scale)
    // at 1.5 the enhancer takes even sizes only (2x2 blocks become 3x3)
    const fits = enhancer !== undefined && (scale !== 1.5 || (frame.displayWidth % 2 === 0 && frame.displayHeight % 2 === 0))
    if (!fits || this.busy) { this.upscale(frame, outW, outH); frame.close(); return }
    const job: Job = { frame, outW, outH, done: false }
    this.pending = job
    this.busy = true
    const t0 = performance.now()
    this.deadline = setTimeout(() => { if (this.pending === job) this.passLate() }, this.intervalMs)
    enhancer.enhance(frame).then((out) => {
      this.recordTime(performance.now() - t0)
      if (job.done || this.stopped) return
      job.done = true
      this.pending = undefined
      clearTimeout(this.deadline)
      const data = out.data instanceof Uint8Array ? out.data : new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength)
      const restored = new VideoFrame(data, { format: 'RGBA', codedWidth: out.width, codedHeight: out.height, timestamp: frame.timestamp })
      this.counters.framesEnhanced++
      this.write(restored)
    }, (err: unknown) => {
      this.log('aic: the enhancer failed on a frame: %s', (err as Error).message)
      if (!job.done && !this.stopped) { job.done = true; this.pending = undefined; clearTimeout(this.deadline); this.upscale(frame, outW, outH) }
    }).finally(() => {
      this.busy = false
      frame.close()
    })
  }

  /** The pending frame missed its interval: upscale it now; its enhanced result will be dropped. */
  private passLate (): void {
    const job = this.pending
    if (job === undefined) return
    this.pending = undefined
    clearTimeout(this.deadline)
    job.done = true
    this.upscale(job.frame, job.outW, job.outH)
  }

  /** Shows `frame` at outW x outH without the enhancer (the canvas's bilinear scaling); does not close it. */
  private upscale (frame: VideoFrame, outW: number, outH: number): void {
    if (this.canvas === undefined || this.canvas.width !== outW || this.canvas.height !== outH) this.canvas = new OffscreenCanvas(outW, outH)
    const ctx = this.canvas.getContext('2d')
    if (ctx === null) { this.write(frame.clone()); return }
    ctx.drawImage(frame, 0, 0, outW, outH)
    this.counters.framesPassedThrough++
    this.write(new VideoFrame(this.canvas, { timestamp: frame.timestamp }))
  }

  private write (frame: VideoFrame): void {
    if (this.stopped) { frame.close(); return }
    // the generator takes ownership of the frame and closes it
    this.writer.write(frame).catch(() => { try { frame.close() } catch {} })
  }

  private recordTime (ms: number): void {
    this.times.push(ms)
    if (this.times.length > RECENT) this.times.shift()
    const sorted = [...this.times].sort((a, b) => a - b)
    const q = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!
    this.counters.enhanceMs = { p50: q(0.5), p95: q(0.95) }
  }
}
