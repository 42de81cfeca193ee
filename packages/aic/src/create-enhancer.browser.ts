import { fetchAdaptive } from './adaptive-files.browser.js'
import { resolveEnhancerInit, SessionEnhancer } from './enhancer.js'
import { RuntimeUnavailableError } from './errors.js'
import { toFrame } from './frame.browser.js'
import { fetchShippedModel, SHIPPED_MANIFEST, shippedModelUrl } from './model-files.browser.js'
import { enhancerModel } from './models.js'
import { chooseWebRuntime, openOnChoice, webSessionFactory } from './runtime.web.js'
import { EnhancerWorkerClient, openWorkerSession, startEnhancerWorker, WorkerEnhancer } from './worker-enhancer.browser.js'
import type { AdaptiveTail, Enhancer, EnhancerInfo, EnhancerInit, EnhanceOptions } from './enhancer.js'
import type { FrameSource } from './frame.browser.js'
import type { Frame } from './frame.js'
import type { WasmPaths, WebExecutionProvider, WebGpuAdapterInfo } from './runtime.web.js'

/** Options of `createEnhancer()` in browsers. */
export interface BrowserEnhancerInit extends Omit<EnhancerInit, 'modelPath'> {
  /**
   * Which runtime: 'wasm' (onnxruntime-web on the CPU), 'webgpu', or 'auto': WebGPU where the
   * browser offers a hardware adapter, else WASM (a software adapter such as SwiftShader is
   * skipped: it is far slower than WASM; ask for 'webgpu' to use one anyway).
   * @default 'auto'
   */
  runtime?: EnhancerInit['runtime']
  /**
   * Threads for one frame (WASM). Threads need SharedArrayBuffer, so a page that is not cross-origin
   * isolated (COOP same-origin and COEP require-corp) runs one, whatever this says. Fixed by the
   * first session of a realm: with `worker: false`, every enhancer of a page shares it.
   * @default onnxruntime-web's choice where cross-origin isolated (half the cores, at most 4), else 1
   */
  threads?: number
  /**
   * Where the shipped model for `scale` is served, for apps whose bundler does not copy it; it is
   * checked against the manifest's size and SHA-256 all the same.
   * @default the package's `models/enhancer-x2.onnx` (`enhancer-x1.5.onnx` at scale 1.5; `enhancer-x2-fast.onnx` and `enhancer-x1.5-fast.onnx` for variant 'fast'), resolved against this module (`new URL(…, import.meta.url)`: Vite, webpack 5 and Parcel copy it)
   */
  modelUrl?: string | URL
  /** With `adaptive`: where the adaptive export's shipped tail is served (`modelUrl` then names the adaptive export). @default the package's `models/<name>-adaptive.tail.bin` */
  tailUrl?: string | URL
  /** A model of your own as bytes instead (input "low", output "restored"; no checksum); `scale` must say its scale. */
  modelBytes?: Uint8Array | ArrayBuffer
  /**
   * Run the session in a dedicated worker, so that inference never blocks the page. Frames travel
   * as RGBA bytes whose buffers are transferred.
   * @default true where `Worker` exists
   */
  worker?: boolean
  /** Where onnxruntime-web's `.wasm` (and `.mjs`) files are served. @default beside onnxruntime-web's module, as a bundler emits them */
  wasmPaths?: WasmPaths
}

/** What a browser enhancer runs. */
export interface BrowserEnhancerInfo extends EnhancerInfo {
  runtime: WebExecutionProvider
  /** The onnxruntime-web execution provider the session was made with: 'wasm' or 'webgpu'. */
  executionProvider: WebExecutionProvider
  /** Threads the WASM module runs (1 where the page is not cross-origin isolated). */
  threads: number
  /** Whether the session runs in a dedicated worker. */
  worker: boolean
  /** The WebGPU adapter seen, when runtime is 'webgpu' or 'auto' looked for one. */
  adapter?: WebGpuAdapterInfo
}

/** Tool 1 in a browser: takes ImageData and VideoFrame as well as RGBA Frames. */
export interface BrowserEnhancer extends Enhancer {
  readonly info: BrowserEnhancerInfo
  enhance(frame: FrameSource, options?: EnhanceOptions): Promise<Frame>
}

/** The in-thread enhancer (worker: false): the shared SessionEnhancer, after the frame source becomes RGBA. */
class LocalEnhancer extends SessionEnhancer implements BrowserEnhancer {
  declare readonly info: BrowserEnhancerInfo
  override async enhance (frame: FrameSource, options: EnhanceOptions = {}): Promise<Frame> {
    return super.enhance(await toFrame(frame), options)
  }
}

/**
 * Where the package's copies of the 'fast' variant's models are: as model-files.browser.ts does for
 * the others, each named literally in `new URL('…', import.meta.url)` so that bundlers copy it,
 * and only it, into the app's build (here, beside the variant's only user).
 */
const FAST_URLS: Record<string, () => URL> = {
  'enhancer-x2-fast.onnx': () => new URL('../models/enhancer-x2-fast.onnx', import.meta.url),
  'enhancer-x1.5-fast.onnx': () => new URL('../models/enhancer-x1.5-fast.onnx', import.meta.url)
}

function checkBrowserInit (init: BrowserEnhancerInit): void {
  if (init == null || typeof init !== 'object') throw new TypeError(`init must be an object, got ${String(init)}`)
  if ('modelPath' in init) throw new TypeError('modelPath is for Node; in a browser give modelUrl (the shipped model served elsewhere) or modelBytes (a model of your own)')
  if (init.modelUrl !== undefined && !(init.modelUrl instanceof URL) && (typeof init.modelUrl !== 'string' || init.modelUrl === '')) {
    throw new TypeError(`modelUrl must be a URL or a non-empty string, got ${String(init.modelUrl)}`)
  }
  if (init.modelBytes !== undefined && !(init.modelBytes instanceof Uint8Array) && !(init.modelBytes instanceof ArrayBuffer)) {
    throw new TypeError('modelBytes must be a Uint8Array or an ArrayBuffer')
  }
  if (init.modelBytes !== undefined && init.modelUrl !== undefined) throw new TypeError('give modelUrl or modelBytes, not both')
  if (init.tailUrl !== undefined && init.adaptive !== true) throw new TypeError('tailUrl is for adaptive enhancers (adaptive: true)')
  if (init.tailUrl !== undefined && !(init.tailUrl instanceof URL) && (typeof init.tailUrl !== 'string' || init.tailUrl === '')) throw new TypeError(`tailUrl must be a URL or a non-empty string, got ${String(init.tailUrl)}`)
  if (init.worker !== undefined && typeof init.worker !== 'boolean') throw new TypeError(`worker must be a boolean, got ${String(init.worker)}`)
  if (init.worker === true && typeof Worker !== 'function') throw new RuntimeUnavailableError('worker: true, but this realm has no Worker')
  const p = init.wasmPaths
  if (p !== undefined && typeof p !== 'string' && (p === null || typeof p !== 'object')) throw new TypeError(`wasmPaths must be a URL prefix string or { mjs?, wasm? }, got ${String(p)}`)
}

/**
 * Makes tool 1's enhancer in a browser, on onnxruntime-web (an optional peer dependency):
 * fetches the shipped model for `scale` and `variant` (or takes `modelBytes`), checks it against the manifest
 * (SHA-256 by WebCrypto), picks WebGPU or WASM, and makes the session, in a dedicated worker
 * unless `worker: false`. `info` says what runs.
 * Errors: RangeError/TypeError for bad options; ModelNotFoundError (404) and ModelLoadError
 * (fetch failed, wrong size or checksum, refused by onnxruntime-web) naming the URL;
 * RuntimeUnavailableError when the runtime asked for cannot start (no WebGPU adapter, ort's
 * `.wasm` not where `wasmPaths` says).
 */
export async function createEnhancer (init: BrowserEnhancerInit = {}, options: { signal?: AbortSignal } = {}): Promise<BrowserEnhancer> {
  const t0 = performance.now()
  checkBrowserInit(init)
  const opts = resolveEnhancerInit({ ...init, modelPath: undefined }, ['wasm', 'webgpu'], init.modelBytes !== undefined)
  const signal = options.signal
  signal?.throwIfAborted()
  const worker = init.worker ?? typeof Worker === 'function'

  const choice = await chooseWebRuntime(init.runtime)
  const adapter = choice.adapter

  let model: { bytes: Uint8Array, file: string }
  let meta: { name: string, version: number, sha256?: string }
  let io: { input: string, output: string, extraInputs?: string[] } = { input: 'low', output: 'restored' }
  let adaptive: AdaptiveTail | undefined
  if (opts.adaptive) {
    const loaded = await fetchAdaptive(opts.scale, opts.variant, { ...(init.modelUrl !== undefined ? { model: init.modelUrl } : {}), ...(init.tailUrl !== undefined ? { tail: init.tailUrl } : {}) }, signal)
    model = loaded.model
    meta = loaded.meta
    adaptive = loaded.tail
    io = { input: 'low', output: 'restored', extraInputs: ['tail_weight', 'tail_bias'] }
  } else if (init.modelBytes !== undefined) {
    // a copy: its buffer goes to the worker (transferred), the caller's stays the caller's
    model = { bytes: init.modelBytes instanceof ArrayBuffer ? new Uint8Array(init.modelBytes.slice(0)) : init.modelBytes.slice(), file: 'modelBytes' }
    meta = { name: 'custom', version: 0 }
  } else {
    const entry = enhancerModel(SHIPPED_MANIFEST, opts.scale, opts.variant)
    model = await fetchShippedModel(entry, String(init.modelUrl ?? FAST_URLS[entry.file]?.() ?? shippedModelUrl(entry)), signal)
    meta = { name: entry.name, version: entry.version, sha256: entry.sha256 }
    io = { input: entry.input, output: entry.output }
  }
  signal?.throwIfAborted()

  const open = async (ep: WebExecutionProvider, bytes: Uint8Array): Promise<BrowserEnhancer> => {
    const base = { scale: opts.scale, ...(init.modelBytes === undefined ? { variant: opts.variant } : {}), model: { ...meta, file: model.file }, worker, ...(adapter !== undefined ? { adapter } : {}), ...(adaptive !== undefined ? { adaptive: true } : {}) }
    const sessionOptions = { ...io, file: model.file, ...(opts.threads !== undefined ? { threads: opts.threads } : {}) }
    if (!worker) {
      const session = await webSessionFactory({ executionProvider: ep, ...(init.wasmPaths !== undefined ? { wasmPaths: init.wasmPaths } : {}) })(bytes, sessionOptions)
      return new LocalEnhancer(session, { ...base, runtime: ep, executionProvider: session.executionProvider, threads: session.threads, loadMs: performance.now() - t0 }, adaptive)
    }
    const client = new EnhancerWorkerClient(startEnhancerWorker())
    try {
      const opened = await openWorkerSession(client, { ...sessionOptions, model: bytes, executionProvider: ep, scale: opts.scale, ...(init.wasmPaths !== undefined ? { wasmPaths: init.wasmPaths } : {}), ...(adaptive !== undefined ? { adaptive } : {}) })
      return new WorkerEnhancer(client, { ...base, runtime: ep, executionProvider: opened.executionProvider, threads: opened.threads, loadMs: performance.now() - t0 })
    } catch (err) {
      client.terminate()
      throw err
    }
  }

  // a try that WASM may follow gets a copy of the bytes: they go to the worker (transferred)
  return openOnChoice(choice, async (runtime, retryable) => open(runtime, retryable ? model.bytes.slice() : model.bytes), signal)
}
