import { checkFrame, frameToTensor, tensorToFrame } from './frame.js'
import { InvalidStateError, ModelLoadError } from './errors.js'
import { ENHANCER_VARIANTS } from './models.js'
import type { Frame } from './frame.js'
import type { EnhancerVariant } from './models.js'
import type { InferenceSession } from './runtime.js'

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

  constructor (session: InferenceSession, info: EnhancerInfo) {
    this.session = session
    this.info = info
  }

  async enhance (frame: Frame, options: EnhanceOptions = {}): Promise<Frame> {
    const session = this.session
    if (session === undefined) throw new InvalidStateError('enhance() on a closed enhancer')
    checkFrame(frame, 'frame')
    const { width, height } = frame
    const scale = this.info.scale
    checkFrameForScale(width, height, scale)
    options.signal?.throwIfAborted()
    const out = await session.run(frameToTensor(frame), [1, 3, height, width])
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
export function resolveEnhancerInit (init: EnhancerInit, runtimes: ReadonlyArray<Exclude<Runtime, 'auto'>>, custom = false): { runtime: Exclude<Runtime, 'auto'>, scale: number, variant: EnhancerVariant, threads?: number, modelPath?: string } {
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
  return { runtime: chosen, scale, variant, ...(init.threads !== undefined ? { threads: init.threads } : {}), ...(init.modelPath !== undefined ? { modelPath: init.modelPath } : {}) }
}
