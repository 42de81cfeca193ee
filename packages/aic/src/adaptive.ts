/**
 * Tool 1's adaptive mode on a runtime (docs/aic-adaptive.md): the sender's fitter, which runs the
 * shipped model's adaptive export on the frames as the receiver decodes them, refits its tail
 * to the sender's own originals (TailFitter) and makes the WeightUpdates the receiver's adaptive
 * enhancer applies; and what both sides read of the manifest's adaptive entry.
 */
import { InvalidStateError, ModelLoadError } from './errors.js'
import { checkFrame, frameToTensor } from './frame.js'
import { checkFrameForScale } from './enhancer.js'
import { pixelUnshuffle, TailFitter, tailOutputSize } from './tail-fit.js'
import { makeWeightUpdate } from './weight-update.js'
import type { AdaptiveTail, Runtime } from './enhancer.js'
import type { TailWeights } from './tail-fit.js'
import type { Frame } from './frame.js'
import type { ModelEntry } from './models.js'
import type { FloatTensor, InferenceSession } from './runtime.js'

/** Options of `createAdaptiveFitter()`. */
export interface AdaptiveFitterInit {
  /** Which ONNX Runtime runs the adaptive export: 'node' in Node; 'wasm', 'webgpu' or 'auto' in browsers. @default 'auto' */
  runtime?: Runtime
  /** The enhancer whose tail is refitted: 2 or 1.5 (the fast variant's adaptive export). @default 2 */
  scale?: number
  /** Threads for one frame. @default the runtime's own choice */
  threads?: number
  /** Block positions sampled from each frame added. @default 4096 (docs/aic-adaptive.md measured with it) */
  samplesPerFrame?: number
  /** Ridge strength toward the shipped weights, relative to each unknown's own scale. @default 0.01 */
  lambda?: number
}

/** What a fitter runs. */
export interface AdaptiveFitterInfo {
  runtime: Exclude<Runtime, 'auto'>
  executionProvider: string
  scale: number
  threads?: number
  model: { name: string, version: number, file: string, sha256?: string }
  /** Milliseconds from createAdaptiveFitter() to a ready session. */
  loadMs: number
}

/** One update made by `update()`. */
export interface AdaptiveUpdate {
  /** The WeightUpdate's bytes (protos/aic.proto), for the receiver's `enhancer.applyUpdate()`. */
  bytes: Uint8Array
  /** Its sequence: 1 for a fitter's first update, then one more each time. */
  sequence: number
  /** Frames it was fitted on (those added since the previous update). */
  frames: number
  /** Milliseconds the solve and the encoding took. */
  ms: number
  /**
   * How much the update in force before this one (the previous update) did for the frames of this
   * window, which it was not fitted on: 10 log10 of the shipped tail's squared error over its own,
   * on the blocks sampled (dB; positive: it restored them better than the shipped weights).
   * Absent for a fitter's first update.
   */
  heldOutGainDb?: number
}

/**
 * The sender's half of tool 1's adaptive mode: frames in (each decoded low frame with the original
 * it was made from), WeightUpdates out. Each update is fitted on the frames added since the one
 * before: a window, so that the update follows the content the call shows now.
 */
export interface AdaptiveFitter {
  readonly info: AdaptiveFitterInfo
  /**
   * Adds one frame pair: `low` as the receiver decodes it (the reduced size), `original` the
   * sender's full-size frame it was made from (at least `low` times the scale; rows and columns
   * past that are left out). Returns the frames gathered for the next update and what this one cost.
   * RangeError naming the sizes when they do not go together.
   */
  add(low: Frame, original: Frame): Promise<{ frames: number, ms: number }>
  /** Fits the tail on the frames added since the last update and makes the update; InvalidStateError when none were. */
  update(): Promise<AdaptiveUpdate>
  /** Releases the session; idempotent. */
  close(): Promise<void>
}

/** The adaptive export's tail of `entry` (the manifest's `adaptive.tail`) with its shipped weights, read from `tailBytes`. */
export function adaptiveTailOf (entry: ModelEntry, scale: number, tailBytes: Uint8Array, file: string): AdaptiveTail {
  const a = entry.adaptive
  if (a === undefined) throw new RangeError(`adaptive: ${entry.name} has no adaptive export (the fast variants have one: variant 'fast')`)
  const t = a.tail
  const n = t.outChannels * t.channels * t.kernel * t.kernel
  if (tailBytes.byteLength !== 4 * (n + t.outChannels)) throw new ModelLoadError(file, `${tailBytes.byteLength} bytes, the tail needs ${4 * (n + t.outChannels)}`)
  const all = new Float32Array(tailBytes.buffer.slice(tailBytes.byteOffset, tailBytes.byteOffset + tailBytes.byteLength))
  return {
    geometry: { channels: t.channels, outChannels: t.outChannels, kernel: t.kernel, stride: t.stride, padding: t.padding },
    shipped: { weight: all.slice(0, n), bias: all.slice(n) },
    modelVersion: entry.version,
    scaleX100: scale === 2 ? 200 : 150,
    shuffle: t.shuffle
  }
}

/** The tail as the extra inputs of an adaptive export's run. */
export function tailInputs (a: AdaptiveTail, tail = a.shipped): Record<string, FloatTensor> {
  const g = a.geometry
  return { tail_weight: { data: tail.weight, dims: [g.outChannels, g.channels, g.kernel, g.kernel] }, tail_bias: { data: tail.bias, dims: [g.outChannels] } }
}

/** Checks a fitter's options (names the bad one). */
export function checkFitterInit (init: AdaptiveFitterInit): void {
  if (init == null || typeof init !== 'object') throw new TypeError(`init must be an object, got ${String(init)}`)
  if (init.samplesPerFrame !== undefined && (!Number.isInteger(init.samplesPerFrame) || init.samplesPerFrame < 1 || init.samplesPerFrame > 1 << 20)) throw new RangeError(`samplesPerFrame must be a whole number from 1 to ${1 << 20}, got ${String(init.samplesPerFrame)}`)
  if (init.lambda !== undefined && (typeof init.lambda !== 'number' || !(init.lambda > 0) || !Number.isFinite(init.lambda))) throw new RangeError(`lambda must be a finite number > 0, got ${String(init.lambda)}`)
}

/** The runtime-independent fitter: a session of the adaptive export and a TailFitter per window. */
export class SessionAdaptiveFitter implements AdaptiveFitter {
  readonly info: AdaptiveFitterInfo
  private session?: InferenceSession
  private fitter: TailFitter
  private frames = 0
  private sequence = 0
  /** The weights the receiver runs since the last update (dequantised), and this window's errors of the shipped ones and those. */
  private inForce: TailWeights | undefined
  private heldOut = { shipped: 0, inForce: 0 }

  constructor (session: InferenceSession, info: AdaptiveFitterInfo, private readonly tail: AdaptiveTail, private readonly options: Pick<AdaptiveFitterInit, 'samplesPerFrame' | 'lambda'> = {}) {
    this.session = session
    this.info = info
    this.fitter = this.newFitter()
  }

  private newFitter (): TailFitter {
    return new TailFitter(this.tail.geometry, this.tail.shipped, { ...this.options, seed: this.sequence + 1 })
  }

  async add (low: Frame, original: Frame): Promise<{ frames: number, ms: number }> {
    const t0 = performance.now()
    const session = this.session
    if (session === undefined) throw new InvalidStateError('add() on a closed fitter')
    checkFrame(low, 'low')
    checkFrame(original, 'original')
    const { width: w, height: h } = low
    checkFrameForScale(w, h, this.info.scale)
    const { blocksHigh, blocksWide } = tailOutputSize(this.tail.geometry, h, w)
    const s = this.tail.shuffle
    const [outW, outH] = [blocksWide * s, blocksHigh * s]
    // the original is the frame `low` was made from: its size is low's times the scale, give or take the rounding
    if (original.width < outW || original.height < outH || original.width >= outW + s || original.height >= outH + s) {
      throw new RangeError(`original must be ${outW}x${outH} (low ${w}x${h} restored at ${this.info.scale}x; up to ${s - 1} more rows and columns are left out), got ${original.width}x${original.height}`)
    }
    const out = await session.runOutputs(['features', 'base'], frameToTensor(low), [1, 3, h, w], tailInputs(this.tail))
    const { sse } = this.fitter.add({
      features: out.features!.data,
      height: h,
      width: w,
      base: out.base!.data,
      target: pixelUnshuffle(frameToTensor(original), original.height, original.width, s, blocksHigh, blocksWide)
    }, this.inForce !== undefined ? [this.tail.shipped, this.inForce] : [])
    if (sse.length === 2) { this.heldOut.shipped += sse[0]!; this.heldOut.inForce += sse[1]! }
    this.frames++
    return { frames: this.frames, ms: performance.now() - t0 }
  }

  async update (): Promise<AdaptiveUpdate> {
    if (this.session === undefined) throw new InvalidStateError('update() on a closed fitter')
    if (this.frames === 0) throw new InvalidStateError('update() with no frames added since the last update: add() frames first')
    const t0 = performance.now()
    const fitted = this.fitter.solve()
    const g = this.tail.geometry
    this.sequence++
    const { bytes, applied } = makeWeightUpdate({
      modelVersion: this.tail.modelVersion,
      scaleX100: this.tail.scaleX100,
      sequence: this.sequence,
      tensors: [
        { name: 'tail_weight', shape: [g.outChannels, g.channels, g.kernel, g.kernel], values: fitted.weight },
        { name: 'tail_bias', shape: [g.outChannels], values: fitted.bias }
      ]
    })
    const frames = this.frames
    const { shipped, inForce } = this.heldOut
    const heldOutGainDb = this.inForce !== undefined && shipped > 0 && inForce > 0 ? 10 * Math.log10(shipped / inForce) : undefined
    this.inForce = { weight: applied.get('tail_weight')!, bias: applied.get('tail_bias')! }
    this.heldOut = { shipped: 0, inForce: 0 }
    this.fitter = this.newFitter()
    this.frames = 0
    return { bytes, sequence: this.sequence, frames, ms: performance.now() - t0, ...(heldOutGainDb !== undefined ? { heldOutGainDb } : {}) }
  }

  async close (): Promise<void> {
    const session = this.session
    this.session = undefined
    await session?.release()
  }
}
