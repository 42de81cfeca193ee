import { checkFrame, frameToTensor, tensorToFrame } from './frame.js'
import { InvalidStateError, ModelLoadError } from './errors.js'
import type { Frame } from './frame.js'
import type { InferenceSession } from './runtime.js'

export type Runtime = 'auto' | 'webgpu' | 'wasm' | 'node'

export interface EnhancerInit {
  /** Which ONNX Runtime runs the model. 'auto': onnxruntime-node in Node; in browsers WebGPU on a hardware adapter, else WASM. @default 'auto' */
  runtime?: Runtime
  /** Output size over input size; one of the shipped enhancer scales. @default 2 */
  scale?: number
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
  threads?: number
  model: { name: string, version: number, file: string, sha256?: string }
  /** Milliseconds from createEnhancer() to a ready session (file read, checks, session made). */
  loadMs: number
}

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
    options.signal?.throwIfAborted()
    const { width, height } = frame
    const out = await session.run(frameToTensor(frame), [1, 3, height, width])
    options.signal?.throwIfAborted()
    const [n, c, h, w] = out.dims
    const scale = this.info.scale
    if (n !== 1 || c !== 3 || h !== height * scale || w !== width * scale) {
      throw new ModelLoadError(this.info.model.file, `output is ${out.dims.join('x')}, expected 1x3x${height * scale}x${width * scale} for a ${width}x${height} frame at scale ${scale}`)
    }
    return tensorToFrame(out.data, w, h)
  }

  async close (): Promise<void> {
    const session = this.session
    this.session = undefined
    await session?.release()
  }
}

/** Checks EnhancerInit's fields (names the bad one); returns them resolved. */
export function resolveEnhancerInit (init: EnhancerInit, runtimes: ReadonlyArray<Exclude<Runtime, 'auto'>>): { runtime: Exclude<Runtime, 'auto'>, scale: number, threads?: number, modelPath?: string } {
  const runtime = init.runtime ?? 'auto'
  if (!['auto', 'webgpu', 'wasm', 'node'].includes(runtime)) throw new RangeError(`runtime must be 'auto', 'webgpu', 'wasm' or 'node', got ${JSON.stringify(runtime)}`)
  const chosen = runtime === 'auto' ? runtimes[0]! : runtime
  if (!runtimes.includes(chosen)) throw new RangeError(`runtime '${runtime}' does not run here; this build of @auralink/aic offers ${runtimes.map((r) => `'${r}'`).join(', ')} (and 'auto')`)
  const scale = init.scale ?? 2
  if (typeof scale !== 'number' || !Number.isFinite(scale) || scale <= 1) throw new RangeError(`scale must be a number > 1, got ${String(scale)}`)
  if (init.threads !== undefined && (!Number.isInteger(init.threads) || init.threads < 1 || init.threads > 64)) throw new RangeError(`threads must be a whole number from 1 to 64, got ${String(init.threads)}`)
  if (init.modelPath !== undefined && (typeof init.modelPath !== 'string' || init.modelPath === '')) throw new TypeError(`modelPath must be a non-empty string, got ${String(init.modelPath)}`)
  return { runtime: chosen, scale, ...(init.threads !== undefined ? { threads: init.threads } : {}), ...(init.modelPath !== undefined ? { modelPath: init.modelPath } : {}) }
}
