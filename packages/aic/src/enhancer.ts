import { checkFrame, frameToTensor, tensorToFrame } from './frame.js'
import { InvalidStateError, ModelLoadError } from './errors.js'
import { ENHANCER_VARIANTS } from './models.js'
import type { Frame } from './frame.js'
import type { EnhancerVariant } from './models.js'
import { readWeightUpdate } from './weight-update.js'
import type { InferenceSession } from './runtime.js'
import type { TailGeometry, TailWeights } from './tail-fit.js'

/** Which ONNX Runtime runs a model: 'node' (onnxruntime-node), 'wasm' or 'webgpu' (onnxruntime-web), or 'auto' to choose. */
export type Runtime = 'auto' | 'webgpu' | 'wasm' | 'node'

/** Options of `createEnhancer()`. */
export interface EnhancerInit {
  /** Which ONNX Runtime runs the model. 'auto': onnxruntime-node in Node; in browsers WebGPU on a hardware adapter, else WASM. @default 'auto' */
  runtime?: Runtime
  /**
   * Output size over input size; one of the shipped enhancer scales: 2, or 1.5 (every 2x2 block of
   * input pixels becomes 3x3, so frames at 1.5 must have an even width and height).
   * @default 2
   */
  scale?: number
  /**
   * Which shipped model for `scale`: 'standard', or 'fast', a narrower network (8 channels where
   * the standard one has 16) for CPUs that cannot run the standard one at call frame rates, such
   * as onnxruntime-web's WASM (about 3 times faster there, for a little less restoration: the
   * figures are in docs/aic.md). Not with a model of your own.
   * @default 'standard'
   */
  variant?: EnhancerVariant
  /** Threads for one frame. @default the runtime's own choice (onnxruntime-node: one per physical core) */
  threads?: number
  /** A model file of your own instead of the shipped one (input "low", output "restored"); `scale` must say its scale. */
  modelPath?: string
  /**
   * Tool 1's adaptive mode (docs/aic-adaptive.md): run the shipped model's adaptive export, whose
   * last layer the sender refits to its own frames and sends as WeightUpdates
   * (`enhancer.applyUpdate()`). Until an update comes it restores frames as the shipped model does.
   * The fast variants have one.
   * @default false
   */
  adaptive?: boolean
}

/** What an enhancer runs: reported so that stats and benchmarks say what actually ran. */
export interface EnhancerInfo {
  /** The runtime that was chosen ('node', 'wasm', 'webgpu'). */
  runtime: Exclude<Runtime, 'auto'>
  /** The execution provider that runs the model ('cpu' in onnxruntime-node; 'wasm' or 'webgpu' in onnxruntime-web). */
  executionProvider: string
  scale: number
  /** The shipped variant that runs ('standard' or 'fast'); absent for a model of your own. */
  variant?: EnhancerVariant
  threads?: number
  model: { name: string, version: number, file: string, sha256?: string }
  /** Whether this is an adaptive enhancer (`applyUpdate()` takes the sender's WeightUpdates). */
  adaptive?: boolean
  /** Milliseconds from createEnhancer() to a ready session (file read, checks, session made). */
  loadMs: number
}

/** Options of one `enhance()` call. */
export interface EnhanceOptions {
  signal?: AbortSignal
}

/** Tool 1: restores frames the native codec sent at 1/scale the size. */
export interface Enhancer {
  readonly info: EnhancerInfo
  /** An RGBA frame in; the restored RGBA frame, `scale` times wider and taller, out. */
  enhance(frame: Frame, options?: EnhanceOptions): Promise<Frame>
  /** Releases the session; idempotent. enhance() after close() throws InvalidStateError. */
  close(): Promise<void>
  /**
   * An adaptive enhancer's update from the sender (a `WeightUpdate`'s bytes): its weights run from
   * the next frame enhance() starts on (a frame in progress finishes with the weights it started
   * with). An update not newer than the last one applied is not applied, and the result says so;
   * one that is malformed, for another model or scale, or fails its checksum throws
   * MalformedMessageError naming the field. InvalidStateError on an enhancer that is not adaptive.
   */
  applyUpdate?(bytes: Uint8Array): Promise<WeightUpdateResult>
}

/** What applyUpdate() did. */
export interface WeightUpdateResult {
  applied: boolean
  /** The sequence of the update in force now (0: the shipped weights). */
  sequence: number
  /** Why the update was not applied. */
  reason?: string
}

/** An adaptive enhancer's tail: its shape, the shipped weights, and what an update must be for. */
export interface AdaptiveTail {
  geometry: TailGeometry
  shipped: TailWeights
  modelVersion: number
  scaleX100: 150 | 200
  /** The pixel shuffle after the tail: each of the tail's output positions becomes shuffle x shuffle pixels. */
  shuffle: number
}

/**
 * Input pixels per block side at `scale`: the smallest n for which n x scale is whole (1 at 2x,
 * 2 at 1.5x, where a 2x2 block becomes 3x3); 0 when no n up to 8 gives whole output sizes.
 */
export function blockOf (scale: number): number {
  for (let n = 1; n <= 8; n++) if (Math.abs(n * scale - Math.round(n * scale)) < 1e-9) return n
  return 0
}

/** RangeError naming the frame's size when `scale` cannot restore it (at 1.5: an odd width or height). */
export function checkFrameForScale (width: number, height: number, scale: number): void {
  const n = blockOf(scale)
  if (n > 1 && (width % n !== 0 || height % n !== 0)) {
    throw new RangeError(`frame must have a width and height that are multiples of ${n} at scale ${scale} (each ${n}x${n} block becomes ${Math.round(n * scale)}x${Math.round(n * scale)}), got ${width}x${height}`)
  }
}

/** The runtime-independent part: frame checks, tensor layout, the output's size. */
export class SessionEnhancer implements Enhancer {
  readonly info: EnhancerInfo
  private session?: InferenceSession
  private readonly adaptive: AdaptiveTail | undefined
  /** The tail in force (an adaptive enhancer's), and the sequence of the update that set it. */
  private tail: TailWeights | undefined
  private sequence = 0

  constructor (session: InferenceSession, info: EnhancerInfo, adaptive?: AdaptiveTail) {
    this.session = session
    this.info = info
    this.adaptive = adaptive
    this.tail = adaptive?.shipped
  }

  async applyUpdate (bytes: Uint8Array): Promise<WeightUpdateResult> {
    const a = this.adaptive
    if (a === undefined) throw new InvalidStateError('applyUpdate() on an enhancer that is not adaptive (createEnhancer({ adaptive: true }))')
    if (this.session === undefined) throw new InvalidStateError('applyUpdate() on a closed enhancer')
    const g = a.geometry
    const got = readWeightUpdate(bytes, {
      modelVersion: a.modelVersion,
      scaleX100: a.scaleX100,
      shapes: new Map([['tail_weight', [g.outChannels, g.channels, g.kernel, g.kernel]], ['tail_bias', [g.outChannels]]])
    })
    if (got.sequence <= this.sequence) return { applied: false, sequence: this.sequence, reason: `update ${got.sequence} is not newer than update ${this.sequence}, in force` }
    const now = this.tail ?? a.shipped
    // one assignment: a frame that starts from here on runs the whole update, none runs half of it
    this.tail = { weight: got.tensors.get('tail_weight') ?? now.weight, bias: got.tensors.get('tail_bias') ?? now.bias }
    this.sequence = got.sequence
    return { applied: true, sequence: got.sequence }
  }

  async enhance (frame: Frame, options: EnhanceOptions = {}): Promise<Frame> {
    const session = this.session
    if (session === undefined) throw new InvalidStateError('enhance() on a closed enhancer')
    checkFrame(frame, 'frame')
    const { width, height } = frame
    const scale = this.info.scale
    checkFrameForScale(width, height, scale)
    options.signal?.throwIfAborted()
    const tail = this.tail
    const g = this.adaptive?.geometry
    const extra = tail !== undefined && g !== undefined
      ? { tail_weight: { data: tail.weight, dims: [g.outChannels, g.channels, g.kernel, g.kernel] }, tail_bias: { data: tail.bias, dims: [g.outChannels] } }
      : undefined
    const out = await session.run(frameToTensor(frame), [1, 3, height, width], extra)
    options.signal?.throwIfAborted()
    const [n, c, h, w] = out.dims
    const outH = Math.round(height * scale)
    const outW = Math.round(width * scale)
    if (n !== 1 || c !== 3 || h !== outH || w !== outW) {
      throw new ModelLoadError(this.info.model.file, `output is ${out.dims.join('x')}, expected 1x3x${outH}x${outW} for a ${width}x${height} frame at scale ${scale}`)
    }
    return tensorToFrame(out.data, w, h)
  }

  async close (): Promise<void> {
    const session = this.session
    this.session = undefined
    await session?.release()
  }
}

/**
 * Checks EnhancerInit's fields (names the bad one); returns them resolved. `custom` says that the
 * caller gives a model of its own by another field (a browser's modelBytes), which no variant fits.
 */
export function resolveEnhancerInit (init: EnhancerInit, runtimes: ReadonlyArray<Exclude<Runtime, 'auto'>>, custom = false): { runtime: Exclude<Runtime, 'auto'>, scale: number, variant: EnhancerVariant, threads?: number, modelPath?: string, adaptive: boolean } {
  const runtime = init.runtime ?? 'auto'
  if (!['auto', 'webgpu', 'wasm', 'node'].includes(runtime)) throw new RangeError(`runtime must be 'auto', 'webgpu', 'wasm' or 'node', got ${JSON.stringify(runtime)}`)
  const chosen = runtime === 'auto' ? runtimes[0]! : runtime
  if (!runtimes.includes(chosen)) throw new RangeError(`runtime '${runtime}' does not run here; this build of @auralink/aic offers ${runtimes.map((r) => `'${r}'`).join(', ')} (and 'auto')`)
  const scale = init.scale ?? 2
  if (typeof scale !== 'number' || !Number.isFinite(scale) || scale <= 1 || blockOf(scale) === 0) throw new RangeError(`scale must be a number > 1 that makes whole output sizes (the shipped ones: 2, 1.5), got ${String(scale)}`)
  if (init.threads !== undefined && (!Number.isInteger(init.threads) || init.threads < 1 || init.threads > 64)) throw new RangeError(`threads must be a whole number from 1 to 64, got ${String(init.threads)}`)
  if (init.modelPath !== undefined && (typeof init.modelPath !== 'string' || init.modelPath === '')) throw new TypeError(`modelPath must be a non-empty string, got ${String(init.modelPath)}`)
  const variant = init.variant ?? 'standard'
  if (!ENHANCER_VARIANTS.includes(variant)) throw new RangeError(`variant must be ${ENHANCER_VARIANTS.map((v) => `'${v}'`).join(' or ')}, got ${JSON.stringify(variant)}`)
  if (init.variant !== undefined && (init.modelPath !== undefined || custom)) throw new TypeError('variant chooses one of the shipped models; a model of your own has none: give one or the other')
  const adaptive = init.adaptive ?? false
  if (typeof adaptive !== 'boolean') throw new TypeError(`adaptive must be a boolean, got ${String(adaptive)}`)
  if (adaptive && (init.modelPath !== undefined || custom)) throw new TypeError('adaptive runs the adaptive export of a shipped model; a model of your own has none: give one or the other')
  return { runtime: chosen, scale, variant, adaptive, ...(init.threads !== undefined ? { threads: init.threads } : {}), ...(init.modelPath !== undefined ? { modelPath: init.modelPath } : {}) }
}
