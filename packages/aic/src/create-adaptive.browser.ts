/**
 * The sender's fitter of tool 1's adaptive mode in browsers: the adaptive export on onnxruntime-web
 * (WASM or WebGPU), in a dedicated worker unless `worker: false`, so that refitting never runs on
 * the page's main thread. Frames travel to the worker as RGBA bytes whose buffers are transferred.
 */
import { checkFitterInit, SessionAdaptiveFitter } from './adaptive.js'
import { fetchAdaptive } from './adaptive-files.browser.js'
import { resolveEnhancerInit } from './enhancer.js'
import { InvalidStateError, RuntimeUnavailableError } from './errors.js'
import { toFrame } from './frame.browser.js'
import { chooseWebRuntime, openOnChoice, webSessionFactory } from './runtime.web.js'
import { EnhancerWorkerClient, openWorkerSession, startEnhancerWorker } from './worker-enhancer.browser.js'
import type { AdaptiveFitter, AdaptiveFitterInfo, AdaptiveFitterInit, AdaptiveUpdate } from './adaptive.js'
import type { FrameSource } from './frame.browser.js'
import type { WasmPaths, WebExecutionProvider } from './runtime.web.js'
import type { FitAddResult } from './worker-protocol.browser.js'

/** Options of `createAdaptiveFitter()` in browsers. */
export interface BrowserAdaptiveFitterInit extends AdaptiveFitterInit {
  /** 'wasm', 'webgpu' or 'auto' (WebGPU on a hardware adapter, else WASM). @default 'auto' */
  runtime?: 'auto' | 'wasm' | 'webgpu'
  /** Run in a dedicated worker. @default true where `Worker` exists */
  worker?: boolean
  /** Where the adaptive export and its tail are served. @default the package's copies */
  modelUrl?: string | URL
  tailUrl?: string | URL
  wasmPaths?: WasmPaths
}

/** A fitter in a browser: takes ImageData and VideoFrame as well as RGBA Frames. */
export interface BrowserAdaptiveFitter extends AdaptiveFitter {
  add(low: FrameSource, original: FrameSource): Promise<{ frames: number, ms: number }>
}

class LocalFitter extends SessionAdaptiveFitter implements BrowserAdaptiveFitter {
  override async add (low: FrameSource, original: FrameSource): Promise<{ frames: number, ms: number }> {
    return super.add(await toFrame(low), await toFrame(original))
  }
}

class WorkerFitter implements BrowserAdaptiveFitter {
  private client?: EnhancerWorkerClient
  constructor (client: EnhancerWorkerClient, readonly info: AdaptiveFitterInfo) { this.client = client }

  async add (lowSource: FrameSource, originalSource: FrameSource): Promise<{ frames: number, ms: number }> {
    if (this.client === undefined) throw new InvalidStateError('add() on a closed fitter')
    const copy = async (s: FrameSource): Promise<{ width: number, height: number, data: Uint8Array }> => {
      const f = await toFrame(s)
      // a VideoFrame's bytes are a fresh copy already; other sources stay the caller's
      const data = typeof VideoFrame === 'function' && s instanceof VideoFrame ? f.data : f.data.slice()
      return { width: f.width, height: f.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) }
    }
    const [low, original] = await Promise.all([copy(lowSource), copy(originalSource)])
    const client = this.client
    if (client === undefined) throw new InvalidStateError('add() on a closed fitter')
    return client.request<FitAddResult>({ type: 'fit-add', low, original }, [low.data.buffer, original.data.buffer])
  }

  async update (): Promise<AdaptiveUpdate> {
    if (this.client === undefined) throw new InvalidStateError('update() on a closed fitter')
    return this.client.request<AdaptiveUpdate>({ type: 'fit-update' })
  }

  async close (): Promise<void> {
    const client = this.client
    this.client = undefined
    await client?.close()
  }
}

/**
 * Makes the sender's fitter of tool 1's adaptive mode in a browser (docs/aic-adaptive.md): the
 * shipped fast enhancer's adaptive export for `scale` on onnxruntime-web, whose tail it refits to
 * the frame pairs it is given. Errors as createEnhancer's.
 */
export async function createAdaptiveFitter (init: BrowserAdaptiveFitterInit = {}, options: { signal?: AbortSignal } = {}): Promise<BrowserAdaptiveFitter> {
  const t0 = performance.now()
  checkFitterInit(init)
  if (init.worker !== undefined && typeof init.worker !== 'boolean') throw new TypeError(`worker must be a boolean, got ${String(init.worker)}`)
  if (init.worker === true && typeof Worker !== 'function') throw new RuntimeUnavailableError('worker: true, but this realm has no Worker')
  const opts = resolveEnhancerInit({ runtime: init.runtime ?? 'auto', scale: init.scale ?? 2, variant: 'fast', adaptive: true, ...(init.threads !== undefined ? { threads: init.threads } : {}) }, ['wasm', 'webgpu'])
  const signal = options.signal
  const worker = init.worker ?? typeof Worker === 'function'
  const choice = await chooseWebRuntime(init.runtime)
  const { model, tail, meta } = await fetchAdaptive(opts.scale, 'fast', { ...(init.modelUrl !== undefined ? { model: init.modelUrl } : {}), ...(init.tailUrl !== undefined ? { tail: init.tailUrl } : {}) }, signal)
  const fit = { ...(init.samplesPerFrame !== undefined ? { samplesPerFrame: init.samplesPerFrame } : {}), ...(init.lambda !== undefined ? { lambda: init.lambda } : {}) }
  const sessionOptions = { input: 'low', output: 'restored', extraInputs: ['tail_weight', 'tail_bias'], file: model.file, ...(opts.threads !== undefined ? { threads: opts.threads } : {}) }
  const open = async (ep: WebExecutionProvider, bytes: Uint8Array): Promise<BrowserAdaptiveFitter> => {
    const info = (executionProvider: string, threads: number): AdaptiveFitterInfo => ({ runtime: ep, executionProvider, scale: opts.scale, threads, model: { ...meta, file: model.file }, loadMs: performance.now() - t0 })
    if (!worker) {
      const session = await webSessionFactory({ executionProvider: ep, ...(init.wasmPaths !== undefined ? { wasmPaths: init.wasmPaths } : {}) })(bytes, sessionOptions)
      return new LocalFitter(session, info(session.executionProvider, session.threads), tail, fit)
    }
    const client = new EnhancerWorkerClient(startEnhancerWorker())
    try {
      const opened = await openWorkerSession(client, { ...sessionOptions, model: bytes, executionProvider: ep, scale: opts.scale, role: 'fit', adaptive: tail, fit, ...(init.wasmPaths !== undefined ? { wasmPaths: init.wasmPaths } : {}) })
      return new WorkerFitter(client, info(opened.executionProvider, opened.threads))
    } catch (err) {
      client.terminate()
      throw err
    }
  }
  return openOnChoice(choice, async (runtime, retryable) => open(runtime, retryable ? model.bytes.slice() : model.bytes), signal)
}
