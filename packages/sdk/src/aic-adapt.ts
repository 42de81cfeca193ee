/**
 * Tool 1's adaptive mode in a call (docs/aic-adaptive.md "In calls"): the sender refits the peer's
 * enhancer to the video it sends and sends the weights; the receiver applies them.
 *
 * Sender (AdaptiveSender): while the call sends at a reduced scale whose peer enhancer is
 * adaptive, the encoded transform's worker decodes the frames sent, as the receiver decodes them,
 * and hands the page a few at a time; the page pairs each with the original it was made from (the
 * local camera track, read by a MediaStreamTrackProcessor: of the few originals and decoded frames
 * of one sample, the pair whose 32x18 luma thumbnails differ least) and gives the pair to the
 * fitter, in @auralink/aic's worker. Every `windowMs` the fitter's update goes to the peer as an
 * AicWeightUpdate. The work is paced to `cpuShare` of one core (each sample's cost, measured,
 * sets the wait before the next) and stops for a window while the encoder says the CPU limits it.
 *
 * Receiver (AdaptiveReceiver): an update for a scale makes this call's own adaptive enhancer for
 * that scale (once; the client's shared ones stay as shipped), applies the update, and from then
 * on the call's video at that scale goes through it. Updates arrive checked whole by
 * @auralink/aic (size, model, scale, shapes, checksum); one that fails is refused and counted.
 */
import { decodeWeightUpdate } from '@auralink/protocol'
import { scaleFromX100 } from './aic-wire.js'
import type { AdaptiveEnhancerLike, FitterLike } from './aic-runtime.js'
import type { DecodedMessage, TransformCommand } from './aic-transform-worker.js'
import type { AicScale } from './aic-wire.js'
import type { Logger } from '@libp2p/interface'

/** `stats().aic.adaptive`: the adaptive mode of this call, each way. */
export interface AicAdaptiveStats {
  /** For video this side sends: whether it refits, and what it sent. */
  sending?: {
    state: 'starting' | 'fitting' | 'backing-off' | 'stopped' | 'failed'
    scale: AicScale
    updatesSent: number
    /** Bytes of the last update sent. */
    updateBytes?: number
    /** Frame pairs fitted since the call began. */
    framesFitted: number
    /** Samples left out: no decoded frame matched an original closely enough, or their sizes did not go together. */
    samplesSkipped: number
    /**
     * What the update in force did for the frames sent since (frames it was not fitted on), as the
     * sender measures it on the blocks it samples: dB over the shipped weights; negative when the
     * content changed under it (the next update is fitted on the new content).
     */
    gainDb?: number
    /** The sender's refitting work per second of call (ms of one core, last window): what `cpuShare` bounds. */
    cpuMsPerSecond?: number
    reason?: string
  }
  /** For video this side receives: the peer's updates. */
  receiving?: {
    updatesApplied: number
    updatesRefused: number
    /** The sequence of the update in force (0: the shipped weights). */
    sequence: number
    lastError?: string
  }
}

/** Frames a sample takes: originals, and decoded frames asked of the worker. */
const SAMPLE_ORIGINALS = 2
const SAMPLE_DECODED = 4
/** How long a sample waits for its decoded frames. */
const SAMPLE_WAIT_MS = 1_000
/** At most 5 samples a second, whatever the budget allows (docs/aic-adaptive.md measured with 5). */
const MIN_SAMPLE_INTERVAL_MS = 200
/** A pair whose thumbnails differ by more than this (mean absolute luma, 0-255) is not the same picture. */
const MAX_PAIR_DIFFERENCE = 12
/** A pair further apart than the sample's closest pair by more than this (levels) is a neighbouring frame's. */
const PAIR_MARGIN = 2
/** Fewer pairs than this in a window: no update for it. */
const MIN_FRAMES_PER_UPDATE = 3
export const DEFAULT_ADAPTIVE_WINDOW_MS = 2_000

const THUMB_W = 32
const THUMB_H = 18

export interface AdaptiveSenderInit {
  /** The local video track the call sends (the originals). */
  track: MediaStreamTrack
  /** The sender's encoded transform worker (aic-transform-worker.ts), which decodes what is sent. */
  worker: Worker
  createFitter(scale: AicScale): Promise<FitterLike>
  send(bytes: Uint8Array): void
  /** Whether the video encoder says the CPU limits it now (outbound-rtp qualityLimitationReason 'cpu'). */
  cpuLimited(): Promise<boolean>
  changed(): void
  log: Logger
  cpuShare: number
  windowMs?: number
}

/** The sender's half: one per call, started and stopped as the call's scale changes. */
export class AdaptiveSender {
  stats: NonNullable<AicAdaptiveStats['sending']> | undefined
  private generation = 0
  private fitter: { scale: AicScale, fitter: Promise<FitterLike> } | undefined
  private reader: ReadableStreamDefaultReader<VideoFrame> | undefined
  private originalTrack: MediaStreamTrack | undefined
  /** Originals the current sample still wants, and where they go. */
  private collecting: { want: number, frames: VideoFrame[], done: () => void } | undefined
  private decodedWaiter: { frames: VideoFrame[], want: number, done: () => void } | undefined
  private readonly canvas = new OffscreenCanvas(THUMB_W, THUMB_H)
  private stopped = false

  constructor (private readonly init: AdaptiveSenderInit) {
    init.worker.addEventListener('message', (ev: MessageEvent<DecodedMessage | { type: string }>) => { this.onWorker(ev.data) })
  }

  /**
   * A scale is about to be applied: the worker starts decoding what is sent before the change
   * (the encoder's first frame at the new size is a key frame, where a decoder can start).
   */
  prepare (scale: AicScale, adaptive: boolean): void {
    if (!this.stopped && scale > 1 && adaptive) this.post({ type: 'decode', on: true })
  }

  /** The scale the call sends at now: adapting runs at 1.5 and 2 where the peer's enhancer is adaptive, stops at 1. */
  setScale (scale: AicScale, adaptive: boolean): void {
    if (this.stopped) return
    if (scale === 1 || !adaptive) {
      if (this.stats !== undefined && this.stats.state !== 'stopped' && this.stats.state !== 'failed') {
        this.stats = { ...this.stats, state: 'stopped', reason: scale === 1 ? 'the call sends full size' : `the peer's ${scale}x enhancer is not adaptive` }
        this.init.changed()
      }
      this.halt()
      this.post({ type: 'decode', on: false })
      return
    }
    if (this.stats?.scale === scale && (this.stats.state === 'fitting' || this.stats.state === 'starting' || this.stats.state === 'backing-off')) return
    this.halt()
    const gen = ++this.generation
    this.stats = { state: 'starting', scale, updatesSent: this.stats?.updatesSent ?? 0, framesFitted: this.stats?.framesFitted ?? 0, samplesSkipped: this.stats?.samplesSkipped ?? 0 }
    this.init.changed()
    void this.run(gen, scale).catch((err: unknown) => {
      if (gen !== this.generation || this.stopped) return
      this.init.log('aic: adaptive sender stopped: %s', (err as Error).message)
      if (this.stats !== undefined) this.stats = { ...this.stats, state: 'failed', reason: (err as Error).message }
      this.halt()
      this.post({ type: 'decode', on: false })
      this.init.changed()
    })
  }

  stop (): void {
    if (this.stopped) return
    this.halt()
    this.post({ type: 'decode', on: false })
    this.stopped = true
    const f = this.fitter
    this.fitter = undefined
    void f?.fitter.then(async (x) => x.close(), () => {})
  }

  /** Stops the current loop and the originals' reader (the worker goes on decoding: see prepare()). */
  private halt (): void {
    this.generation++
    this.collecting?.done()
    this.decodedWaiter?.done()
    void this.reader?.cancel().catch(() => {})
    this.reader = undefined
    this.originalTrack?.stop()
    this.originalTrack = undefined
  }

  private post (cmd: TransformCommand): void {
    try { this.init.worker.postMessage(cmd) } catch {}
  }

  private onWorker (msg: DecodedMessage | { type: string }): void {
    if (msg.type === 'decoded') {
      const { frame } = msg as Extract<DecodedMessage, { type: 'decoded' }>
      const w = this.decodedWaiter
      if (w === undefined || this.stopped) { frame.close(); return }
      w.frames.push(frame)
      if (w.frames.length >= w.want) w.done()
    } else if (msg.type === 'decode-error') {
      this.init.log('aic: the sender could not decode its own stream: %s', (msg as Extract<DecodedMessage, { type: 'decode-error' }>).message)
    }
  }

  private fitterFor (scale: AicScale): Promise<FitterLike> {
    if (this.fitter?.scale === scale) return this.fitter.fitter
    const old = this.fitter
    void old?.fitter.then(async (f) => f.close(), () => {})
    const fitter = this.init.createFitter(scale)
    this.fitter = { scale, fitter }
    return fitter
  }

  /** Reads every original as it comes, keeping only those a sample asks for. */
  private async pumpOriginals (reader: ReadableStreamDefaultReader<VideoFrame>, gen: number): Promise<void> {
    for (;;) {
      let r: ReadableStreamReadResult<VideoFrame>
      try { r = await reader.read() } catch { return }
      if (r.done) return
      const c = this.collecting
      if (gen !== this.generation || c === undefined) { r.value.close(); continue }
      c.frames.push(r.value)
      if (c.frames.length >= c.want) c.done()
    }
  }

  private async run (gen: number, scale: AicScale): Promise<void> {
    const fitter = await this.fitterFor(scale)
    if (gen !== this.generation) return
    const Processor = (globalThis as unknown as { MediaStreamTrackProcessor: new (i: { track: MediaStreamTrack }) => { readable: ReadableStream<VideoFrame> } }).MediaStreamTrackProcessor
    this.originalTrack = this.init.track.clone()
    this.reader = new Processor({ track: this.originalTrack }).readable.getReader()
    void this.pumpOriginals(this.reader, gen)
    // on already when prepare() saw the scale coming; else it starts at the next key frame
    this.post({ type: 'decode', on: true })
    const windowMs = this.init.windowMs ?? DEFAULT_ADAPTIVE_WINDOW_MS
    let windowStart = performance.now()
    let windowCost = 0
    let inWindow = 0
    while (gen === this.generation && !this.stopped) {
      if (await this.init.cpuLimited()) {
        this.set(gen, { state: 'backing-off', reason: 'the video encoder is limited by the CPU: no refitting for a window' })
        await sleep(windowMs)
        windowStart = performance.now()
        windowCost = 0
        continue
      }
      const t0 = performance.now()
      const cost = await this.sample(gen, fitter)
      if (gen !== this.generation) return
      inWindow += cost.fitted
      windowCost += cost.ms
      // an update once the window is over and holds enough pairs (a slow camera's window runs longer)
      if (performance.now() - windowStart >= windowMs && inWindow >= MIN_FRAMES_PER_UPDATE) {
        const u = await fitter.update()
        if (gen !== this.generation) return
        windowCost += u.ms
        this.init.send(u.bytes)
        const seconds = (performance.now() - windowStart) / 1000
        this.set(gen, { state: 'fitting', updatesSent: (this.stats?.updatesSent ?? 0) + 1, updateBytes: u.bytes.byteLength, cpuMsPerSecond: Math.round(windowCost / seconds), ...(u.heldOutGainDb !== undefined ? { gainDb: Math.round(u.heldOutGainDb * 100) / 100 } : {}) })
        windowStart = performance.now()
        windowCost = 0
        inWindow = 0
      }
      // the next sample waits so that the work stays within cpuShare of one core
      const wait = Math.max(MIN_SAMPLE_INTERVAL_MS, cost.ms / this.init.cpuShare) - (performance.now() - t0)
      if (wait > 0) await sleep(wait)
    }
  }

  private set (gen: number, s: Partial<NonNullable<AicAdaptiveStats['sending']>>): void {
    const now = this.stats
    if (gen !== this.generation || now === undefined) return
    const next = { ...now, ...s }
    if (s.state === 'fitting' && s.reason === undefined) delete next.reason
    this.stats = next
    if ((s.state !== undefined && s.state !== now.state) || s.updatesSent !== undefined) this.init.changed()
  }

  /** One sample: a few originals and decoded frames, each original with its own decoded frame to the fitter. Returns its cost (ms of work) and the pairs fitted. */
  private async sample (gen: number, fitter: FitterLike): Promise<{ ms: number, fitted: number }> {
    // both at once: the decoded frames of the originals gathered here come out of the worker a
    // little later (encoding and decoding), those of the frames just before them a little earlier
    this.post({ type: 'want', count: SAMPLE_DECODED })
    const [decoded, originals] = await Promise.all([
      this.collect<VideoFrame>((want, frames, done) => { this.decodedWaiter = { want, frames, done } }, () => { this.decodedWaiter = undefined; this.post({ type: 'want', count: 0 }) }, SAMPLE_DECODED),
      this.collect<VideoFrame>((want, frames, done) => { this.collecting = { want, frames, done } }, () => { this.collecting = undefined }, SAMPLE_ORIGINALS)
    ])
    const t0 = performance.now()
    try {
      if (gen !== this.generation) return { ms: 0, fitted: 0 }
      if (originals.length === 0 || decoded.length === 0) {
        this.set(gen, { samplesSkipped: (this.stats?.samplesSkipped ?? 0) + 1, reason: `last sample left out: ${originals.length === 0 ? 'no original frame came from the camera track' : 'no decoded frame came from the sender\'s transform'} within ${SAMPLE_WAIT_MS} ms` })
        return { ms: 0, fitted: 0 }
      }
      const o = originals.map((f) => this.thumb(f))
      const d = decoded.map((f) => this.thumb(f))
      // each original's closest decoded frame; pairs much further apart than the closest pair of
      // the sample are a neighbouring frame's, not the original's own, and are left out
      const pairs = o.map((oi, i) => {
        let best = { diff: Infinity, i, j: -1 }
        d.forEach((dj, j) => { const diff = meanAbs(oi, dj); if (diff < best.diff) best = { diff, i, j } })
        return best
      }).sort((a, b) => a.diff - b.diff)
      const closest = pairs[0]!
      const scale = this.stats?.scale ?? 2
      const usedDecoded = new Set<number>()
      let fitted = 0
      for (const p of pairs) {
        if (p.diff > Math.min(MAX_PAIR_DIFFERENCE, closest.diff + PAIR_MARGIN) || usedDecoded.has(p.j)) continue
        const low = decoded[p.j]!
        const original = originals[p.i]!
        if (Math.abs(low.displayWidth * scale - original.displayWidth) >= scale + 1 || Math.abs(low.displayHeight * scale - original.displayHeight) >= scale + 1) {
          this.set(gen, { samplesSkipped: (this.stats?.samplesSkipped ?? 0) + 1, reason: `last sample left out: a decoded ${low.displayWidth}x${low.displayHeight} frame does not go with a ${original.displayWidth}x${original.displayHeight} original at ${scale}x` })
          break
        }
        usedDecoded.add(p.j)
        await fitter.add(low, original)
        if (gen !== this.generation) break
        fitted++
      }
      if (fitted === 0) {
        if (closest.diff > MAX_PAIR_DIFFERENCE) this.set(gen, { samplesSkipped: (this.stats?.samplesSkipped ?? 0) + 1, reason: `last sample left out: no decoded frame matched an original (closest: ${closest.diff.toFixed(1)} levels apart on average)` })
        return { ms: performance.now() - t0, fitted: 0 }
      }
      this.set(gen, { state: 'fitting', framesFitted: (this.stats?.framesFitted ?? 0) + fitted })
      return { ms: performance.now() - t0, fitted }
    } catch (err) {
      // sizes that do not go together (a frame in the middle of a scale change): this sample is left out
      if (err instanceof RangeError) {
        this.set(gen, { samplesSkipped: (this.stats?.samplesSkipped ?? 0) + 1, reason: `last sample left out: ${err.message}` })
        return { ms: performance.now() - t0, fitted: 0 }
      }
      throw err
    } finally {
      for (const f of [...originals, ...decoded]) f.close()
    }
  }

  /** Gathers `want` frames through the slot `open` sets; what came when SAMPLE_WAIT_MS ran out, or the loop stopped. */
  private async collect<T> (open: (want: number, frames: T[], done: () => void) => void, close: () => void, want: number): Promise<T[]> {
    const frames: T[] = []
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, SAMPLE_WAIT_MS)
      function done (): void { clearTimeout(timer); resolve() }
      open(want, frames, done)
    })
    close()
    return frames
  }

  /** The frame's luma at 32x18 (the canvas's scaling), BT.601. */
  private thumb (frame: VideoFrame): Float32Array {
    const ctx = this.canvas.getContext('2d', { willReadFrequently: true })
    if (ctx === null) throw new Error('no 2d context for the adaptive sender\'s thumbnails')
    ctx.drawImage(frame, 0, 0, THUMB_W, THUMB_H)
    const px = ctx.getImageData(0, 0, THUMB_W, THUMB_H).data
    const out = new Float32Array(THUMB_W * THUMB_H)
    for (let i = 0; i < out.length; i++) out[i] = 0.299 * px[i * 4]! + 0.587 * px[i * 4 + 1]! + 0.114 * px[i * 4 + 2]!
    return out
  }
}

function meanAbs (a: Float32Array, b: Float32Array): number {
  let s = 0
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!)
  return s / a.length
}

async function sleep (ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}

export interface AdaptiveReceiverInit {
  /** Scales this side applies updates for (those it said were adaptive). */
  scales: readonly AicScale[]
  createEnhancer(scale: AicScale): Promise<AdaptiveEnhancerLike>
  /** The call's adaptive enhancer for `scale` is ready and holds an update: its video goes through it. */
  use(scale: AicScale, enhancer: AdaptiveEnhancerLike): void
  changed(): void
  log: Logger
}

/** The receiver's half: the call's own adaptive enhancers and the updates they took. */
export class AdaptiveReceiver {
  stats: NonNullable<AicAdaptiveStats['receiving']> | undefined
  private readonly enhancers = new Map<AicScale, Promise<AdaptiveEnhancerLike>>()
  /** Per scale: the update waiting to be applied (the latest wins) and whether one is being applied. */
  private readonly queue = new Map<AicScale, { next?: Uint8Array, busy: boolean }>()
  private stopped = false

  constructor (private readonly init: AdaptiveReceiverInit) {}

  /** An AicWeightUpdate's bytes from the peer. */
  onUpdate (bytes: Uint8Array): void {
    if (this.stopped) return
    let scale: AicScale | undefined
    try {
      // the size and shape checks of the WeightUpdate itself; the model's own come when it is applied
      scale = scaleFromX100(decodeWeightUpdate(bytes).scaleX100 ?? 0)
      if (scale === undefined || scale === 1 || !this.init.scales.includes(scale)) throw new RangeError(`WeightUpdate.scale_x100 is not one this side said it adapts (${this.init.scales.map((s) => s * 100).join(', ')})`)
    } catch (err) {
      this.refused((err as Error).message)
      return
    }
    const q = this.queue.get(scale) ?? { busy: false }
    this.queue.set(scale, q)
    // a copy: the message's bytes may be a view of a buffer the stream reuses
    q.next = Uint8Array.from(bytes)
    if (!q.busy) void this.drain(scale, q)
  }

  private async drain (scale: AicScale, q: { next?: Uint8Array, busy: boolean }): Promise<void> {
    q.busy = true
    try {
      while (q.next !== undefined && !this.stopped) {
        const bytes = q.next
        q.next = undefined
        let enhancer: AdaptiveEnhancerLike
        try {
          let p = this.enhancers.get(scale)
          if (p === undefined) {
            p = this.init.createEnhancer(scale)
            this.enhancers.set(scale, p)
          }
          enhancer = await p
        } catch (err) {
          this.refused(`the ${scale}x adaptive enhancer did not load: ${(err as Error).message}`)
          continue
        }
        if (this.stopped) return
        try {
          const r = await enhancer.applyUpdate(bytes)
          const s = this.stats ?? { updatesApplied: 0, updatesRefused: 0, sequence: 0 }
          this.stats = r.applied ? { ...s, updatesApplied: s.updatesApplied + 1, sequence: r.sequence } : { ...s, updatesRefused: s.updatesRefused + 1, lastError: r.reason ?? 'not applied' }
          if (r.applied && !this.stopped) this.init.use(scale, enhancer)
          this.init.changed()
        } catch (err) {
          this.refused((err as Error).message)
        }
      }
    } finally {
      q.busy = false
    }
  }

  private refused (why: string): void {
    this.init.log('aic: refusing the peer\'s weight update: %s', why)
    const s = this.stats ?? { updatesApplied: 0, updatesRefused: 0, sequence: 0 }
    this.stats = { ...s, updatesRefused: s.updatesRefused + 1, lastError: why.slice(0, 256) }
    this.init.changed()
  }

  stop (): void {
    if (this.stopped) return
    this.stopped = true
    for (const p of this.enhancers.values()) void p.then(async (e) => e.close(), () => {})
    this.enhancers.clear()
  }
}
