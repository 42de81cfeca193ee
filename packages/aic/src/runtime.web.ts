import { ModelLoadError, RuntimeUnavailableError } from './errors.js'
import type { FloatTensor, InferenceSession, SessionOptions } from './runtime.js'
import type * as OrtModule from 'onnxruntime-web'

type Ort = typeof OrtModule

/** The execution providers of onnxruntime-web that AIC uses. */
export type WebExecutionProvider = 'wasm' | 'webgpu'

/**
 * Where onnxruntime-web's own files are served: a URL prefix for its `.mjs` and `.wasm` files, or
 * each file's URL (ort's `env.wasm.wasmPaths`). Unset, ort finds its `.wasm` beside its own module
 * (`new URL('ort-wasm-simd-threaded.wasm', import.meta.url)`), which bundlers (Vite, webpack 5)
 * copy into the build.
 */
export type WasmPaths = string | { mjs?: string | URL, wasm?: string | URL }

export interface WebRuntimeInit {
  executionProvider: WebExecutionProvider
  wasmPaths?: WasmPaths
}

// one onnxruntime-web build per execution provider: the WASM-only build (a 14 MB .wasm) and the
// WebGPU build (27 MB); each is its own module with its own `env`, so an app that uses one
// downloads only that one (static specifiers: bundlers split them into chunks of their own)
const loaded: Partial<Record<WebExecutionProvider, Promise<Ort>>> = {}

async function loadOrt (ep: WebExecutionProvider): Promise<Ort> {
  const ort = loaded[ep] ??= (ep === 'webgpu' ? import('onnxruntime-web/webgpu') : import('onnxruntime-web/wasm'))
  return ort.catch((err: unknown) => {
    // a failed import may succeed later (a network hiccup): forget it
    loaded[ep] = undefined
    throw new RuntimeUnavailableError(`runtime "${ep}" needs the optional peer dependency onnxruntime-web (npm install onnxruntime-web); it did not load: ${(err as Error).message}`, { cause: err })
  })
}

/** True where SharedArrayBuffer may be used: a cross-origin isolated page or worker. */
export function isCrossOriginIsolated (): boolean {
  return (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true && typeof SharedArrayBuffer === 'function'
}

/**
 * ort's WASM settings, set once before its first session in this realm (ort reads them once,
 * when it starts its WASM module): threads only where the realm is cross-origin isolated;
 * ort's own proxy worker off (the worker enhancer is AIC's own). Returns the threads in use.
 */
function configure (ort: Ort, init: WebRuntimeInit, threads: number | undefined): number {
  const wasm = ort.env.wasm
  if (started.has(ort)) return started.get(ort)!
  const n = isCrossOriginIsolated() ? (threads ?? Math.max(1, Math.min(4, Math.ceil((globalThis.navigator?.hardwareConcurrency ?? 1) / 2)))) : 1
  wasm.numThreads = n
  wasm.proxy = false
  if (init.wasmPaths !== undefined) {
    const p = init.wasmPaths
    wasm.wasmPaths = typeof p === 'string'
      ? p
      : { ...(p.mjs !== undefined ? { mjs: String(p.mjs) } : {}), ...(p.wasm !== undefined ? { wasm: String(p.wasm) } : {}) }
  }
  ort.env.logLevel = 'error'
  started.set(ort, n)
  return n
}
const started = new WeakMap<object, number>()

/** A session of onnxruntime-web: also says how many threads its WASM module runs. */
export interface WebInferenceSession extends InferenceSession {
  readonly executionProvider: WebExecutionProvider
  /** Fixed by the first session in a realm (ort starts its WASM module once). */
  readonly threads: number
}

/** What AIC reads of a GPUAdapter (TypeScript's DOM types have no WebGPU yet). */
export interface WebGpuAdapterInfo {
  vendor: string
  architecture: string
  /** True for a software adapter (SwiftShader): it works, far slower than WASM. */
  isFallbackAdapter: boolean
}

interface GpuLike { requestAdapter(): Promise<{ info?: Partial<WebGpuAdapterInfo>, isFallbackAdapter?: boolean } | null> }

/** The WebGPU adapter this realm gets, or undefined where there is none (no navigator.gpu, or requestAdapter() gives null). */
export async function webGpuAdapter (): Promise<WebGpuAdapterInfo | undefined> {
  const gpu = (globalThis.navigator as { gpu?: GpuLike } | undefined)?.gpu
  if (gpu === undefined) return undefined
  let adapter: Awaited<ReturnType<GpuLike['requestAdapter']>>
  try {
    adapter = await gpu.requestAdapter()
  } catch {
    return undefined // a browser that refuses (a blocklisted GPU) has no adapter for us either
  }
  if (adapter == null) return undefined
  return {
    vendor: adapter.info?.vendor ?? '',
    architecture: adapter.info?.architecture ?? '',
    isFallbackAdapter: adapter.info?.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false
  }
}

/**
 * A SessionFactory on onnxruntime-web with exactly one execution provider: 'wasm', or 'webgpu'
 * (onnxruntime-web then runs on the CPU only the nodes WebGPU has no kernel for: shape
 * arithmetic here). The session reports the provider it was made with; when that provider
 * cannot start (no WebGPU adapter, no WASM), creation fails with RuntimeUnavailableError rather
 * than running on another one unannounced.
 */
export function webSessionFactory (init: WebRuntimeInit): (model: Uint8Array, options: SessionOptions) => Promise<WebInferenceSession> {
  const ep = init.executionProvider
  if (ep !== 'wasm' && ep !== 'webgpu') throw new RangeError(`executionProvider must be 'wasm' or 'webgpu', got ${JSON.stringify(ep)}`)
  return async (model: Uint8Array, options: SessionOptions): Promise<WebInferenceSession> => {
    if (ep === 'webgpu' && await webGpuAdapter() === undefined) {
      throw new RuntimeUnavailableError('runtime "webgpu" needs a WebGPU adapter and this browser offers none (navigator.gpu is missing or requestAdapter() gave null); use runtime "wasm" or "auto"')
    }
    const ort = await loadOrt(ep)
    const threads = configure(ort, init, options.threads)
    let session: OrtModule.InferenceSession
    try {
      session = await ort.InferenceSession.create(model, {
        executionProviders: [ep],
        graphOptimizationLevel: 'all',
        // the output is read back on the CPU at once: no GPU buffer outlives a run
        preferredOutputLocation: 'cpu'
      })
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err)
      // ort's words when the provider itself cannot start (its .wasm not found, no WebGPU device)
      if (/no available backend/i.test(message)) {
        throw new RuntimeUnavailableError(`onnxruntime-web could not start its ${ep} execution provider: ${message}`, { cause: err })
      }
      throw new ModelLoadError(options.file, `onnxruntime-web (${ep}) refused it (${message})`, { cause: err })
    }
    const inputs = [options.input, ...(options.extraInputs ?? [])]
    if (inputs.some((i) => !session.inputNames.includes(i)) || !session.outputNames.includes(options.output)) {
      await session.release()
      throw new ModelLoadError(options.file, `expected inputs ${JSON.stringify(inputs)} and output "${options.output}", the model has ${JSON.stringify(session.inputNames)} and ${JSON.stringify(session.outputNames)}`)
    }
    // one run at a time per session: onnxruntime-web does not run one session concurrently
    let queue: Promise<unknown> = Promise.resolve()
    const runOutputs = async (names: readonly string[], input: Float32Array, dims: readonly number[], extra: Readonly<Record<string, FloatTensor>> = {}): Promise<Record<string, FloatTensor>> => {
      const missing = names.filter((n) => !session.outputNames.includes(n))
      if (missing.length > 0) throw new RangeError(`runOutputs(): the model has no output ${missing.map((n) => `"${n}"`).join(', ')} (it has ${JSON.stringify(session.outputNames)})`)
      const run = queue.then(async () => {
        const feeds: Record<string, OrtModule.Tensor> = { [options.input]: new ort.Tensor('float32', input, dims) }
        for (const name of options.extraInputs ?? []) {
          const t = extra[name]
          if (t === undefined) throw new RangeError(`run(): the model's input "${name}" was not given`)
          feeds[name] = new ort.Tensor('float32', t.data, t.dims)
        }
        // only the outputs asked for are fetched (an adaptive model's other outputs are not read back)
        const result = await session.run(feeds, [...names])
        const out: Record<string, FloatTensor> = {}
        for (const name of names) {
          const t = result[name]
          if (t === undefined || t.type !== 'float32') throw new ModelLoadError(options.file, `no float32 output "${name}"`)
          out[name] = { data: await t.getData(true) as Float32Array, dims: t.dims }
        }
        return out
      })
      queue = run.catch(() => {})
      return run
    }
    return {
      executionProvider: ep,
      threads,
      async run (input, dims, extra) {
        return (await runOutputs([options.output], input, dims, extra))[options.output]!
      },
      runOutputs,
      async release () {
        await queue
        await session.release()
      }
    }
  }
}

/** The execution provider a browser tool starts on, as `chooseWebRuntime()` picked it. */
export interface WebRuntimeChoice {
  runtime: WebExecutionProvider
  /** The caller asked for 'auto': a WebGPU that cannot start falls back to WASM. */
  auto: boolean
  /** The WebGPU adapter seen, when 'webgpu' or 'auto' looked for one. */
  adapter?: WebGpuAdapterInfo
}

/**
 * 'auto' (or nothing): WebGPU on a hardware adapter, else WASM (a software adapter such as
 * SwiftShader is far slower than WASM); 'webgpu': RuntimeUnavailableError when there is no adapter;
 * 'wasm': WASM.
 */
export async function chooseWebRuntime (requested: string | undefined): Promise<WebRuntimeChoice> {
  const auto = (requested ?? 'auto') === 'auto'
  if (!auto && requested !== 'webgpu') return { runtime: 'wasm', auto }
  const adapter = await webGpuAdapter()
  if (!auto && adapter === undefined) throw new RuntimeUnavailableError('runtime "webgpu" needs a WebGPU adapter and this browser offers none (navigator.gpu is missing or requestAdapter() gave null); use runtime "wasm" or "auto"')
  const runtime = auto ? (adapter !== undefined && !adapter.isFallbackAdapter ? 'webgpu' : 'wasm') : 'webgpu'
  return { runtime, auto, ...(adapter !== undefined ? { adapter } : {}) }
}

/**
 * `open(choice.runtime)`; when 'auto' chose WebGPU and it cannot start (no device), `open('wasm')`
 * instead (`retryable` says whether a WASM try may follow). Closes what it opened and rethrows when
 * `signal` aborted meanwhile.
 */
export async function openOnChoice<T extends { close(): Promise<void> }> (choice: WebRuntimeChoice, open: (runtime: WebExecutionProvider, retryable: boolean) => Promise<T>, signal?: AbortSignal): Promise<T> {
  let opened: T
  if (choice.runtime === 'webgpu' && choice.auto) {
    try {
      opened = await open('webgpu', true)
    } catch (err) {
      if (!(err instanceof RuntimeUnavailableError)) throw err
      opened = await open('wasm', false)
    }
  } else {
    opened = await open(choice.runtime, false)
  }
  if (signal?.aborted === true) {
    await opened.close()
    signal.throwIfAborted()
  }
  return opened
}
