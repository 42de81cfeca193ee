/**
 * The client's AIC runtime: tool 1's enhancers (one per shipped scale, each in its own worker, from
 * @auralink/aic, loaded on the first video call that wants AIC and shared by later ones), their
 * measured speed, and the mode controller's factory. @auralink/aic is imported dynamically, so an
 * app that never makes a video call with AIC never loads it (nor onnxruntime-web).
 */
import type { FrameEnhancer } from './aic-receiver.js'
import type { ControllerLike } from './aic-sender.js'
import type { AicMode, AicScale } from './aic-wire.js'

/** Options of AIC in calls (AuraLink.create({ aic })). */
export interface AicInit {
  /**
   * How far AIC leans for video this client sends: 'off' (plain WebRTC), 'conservative',
   * 'adaptive', 'aggressive' (docs/aic.md "AIC in calls"). A call's `aic` option overrides it.
   * @default 'adaptive'
   */
  mode?: AicMode
  /** The enhancer's runtime: WebGPU where a hardware adapter exists, else WASM. @default 'auto' */
  runtime?: 'auto' | 'wasm' | 'webgpu'
  /**
   * Which shipped enhancers restore received video: 'fast' (8 channels; 22 ms a 640x360 frame at
   * 2x and 40 ms at 1.5x in Chromium WASM with 2 threads) or 'standard' (16 channels; 60 and 98
   * ms, too slow for a 30 fps call in WASM). The fast ones also scored higher on the held-out
   * pairs and Megamind (docs/aic-fast-variant.md); the crossover table was measured with the
   * standard ones (docs/aic.md says what that means).
   * @default 'fast'
   */
  variant?: 'standard' | 'fast'
  /** WASM threads per enhancer (needs a cross-origin isolated page). @default onnxruntime-web's choice */
  threads?: number
  /** Where the shipped models are served, by scale ('2', '1.5'), for apps whose bundler does not copy them. @default beside @auralink/aic's module */
  modelUrls?: { '2'?: string, '1.5'?: string }
  /** Where onnxruntime-web's .wasm files are served. @default beside onnxruntime-web's module */
  wasmPaths?: string
  /**
   * The crossover table the mode controller reads (where each scale beats plain VP8, by frame
   * height and bits per pixel): an app that measured its own content with bench/aic/enhance.mjs
   * can give its own; checked by @auralink/aic's parseCrossoverTable.
   * @default the table shipped in @auralink/aic (models/aic-crossover.json)
   */
  table?: unknown
  /** A peer that says nothing of AIC for this long is a peer without AIC: its video stays plain. @default 15000 */
  capabilityTimeoutMs?: number
  /**
   * Tool 1's adaptive mode (docs/aic-adaptive.md): while this side sends video at a reduced size
   * to a peer that has it, refit the peer's enhancer to that video and send it the weights (about
   * 1 KB every 2 s); apply the weights a peer sends for video this side receives. Needs the
   * 'fast' variant (the one with adaptive exports) and an encoded transform (Chromium).
   * @default true
   */
  adaptive?: boolean
  /** The share of one CPU core the sender's refitting may take, 0.05 to 1. @default 0.25 */
  adaptiveCpuShare?: number
}

export interface LoadedEnhancer {
  enhancer: FrameEnhancer
  scale: AicScale
  version: number
  /** ms per frame measured at load, at `width` x `height` output. */
  msPerFrame: number
  width: number
  height: number
}

/** What the SDK uses of @auralink/aic's adaptive fitter (createAdaptiveFitter). */
export interface FitterLike {
  add(low: VideoFrame, original: VideoFrame): Promise<{ frames: number, ms: number }>
  update(): Promise<{ bytes: Uint8Array, sequence: number, frames: number, ms: number, heldOutGainDb?: number }>
  close(): Promise<void>
}

/** An adaptive enhancer: a FrameEnhancer that takes the sender's updates. */
export interface AdaptiveEnhancerLike extends FrameEnhancer {
  applyUpdate(bytes: Uint8Array): Promise<{ applied: boolean, sequence: number, reason?: string }>
}

/** Tool 1's adaptive mode in this client, where it is on. */
export interface AicAdaptive {
  /** Scales whose enhancer has an adaptive export (those this side can send and apply updates for). */
  scales: AicScale[]
  cpuShare: number
  createFitter(scale: AicScale): Promise<FitterLike>
  createEnhancer(scale: AicScale): Promise<AdaptiveEnhancerLike>
}

export interface AicRuntime {
  /** The runtime the enhancers run on ('wasm', 'webgpu'); undefined when none loaded. */
  runtime?: string
  /** Loaded enhancers by scale; empty when none loaded (`failure` says why). */
  enhancers: Map<number, LoadedEnhancer>
  failure?: string
  createController(init: { mode: Exclude<AicMode, 'off'>, frame: { width: number, height: number, fps: number }, scales: number[], receiverMsPerFrame: Record<string, number> }): ControllerLike
  /** Tool 1's adaptive mode; undefined where it is off (init.aic.adaptive false, the 'standard' variant). */
  adaptive?: AicAdaptive
}

/** The browser APIs the receiving pipeline needs; the first one missing, or undefined. */
export function missingPipelineApi (): string | undefined {
  const g = globalThis as Record<string, unknown>
  for (const api of ['MediaStreamTrackProcessor', 'MediaStreamTrackGenerator', 'VideoFrame', 'OffscreenCanvas', 'Worker']) {
    if (typeof g[api] !== 'function') return api
  }
  return undefined
}

export const hasEncodedTransform = (): boolean => typeof (globalThis as Record<string, unknown>).RTCRtpScriptTransform === 'function'

/** How long one enhancer may take to load and run its three timed frames. */
const ENHANCER_LOAD_TIMEOUT_MS = 20_000

/** Output sizes the load-time speed check runs at (a 640x360 call). */
const SPEED_CHECK: Record<string, { w: number, h: number }> = { 2: { w: 320, h: 180 }, 1.5: { w: 426, h: 240 } }

interface AicModule {
  createEnhancer(init: Record<string, unknown>): Promise<FrameEnhancer & { info: { runtime: string, scale: number, model: { version: number } } } & Partial<Pick<AdaptiveEnhancerLike, 'applyUpdate'>>>
  createAdaptiveFitter(init: Record<string, unknown>): Promise<FitterLike>
  adaptiveScales(variant: string): number[]
  createAicController(init: Record<string, unknown>): ControllerLike
  shippedCrossoverTable(): unknown
  parseCrossoverTable(json: unknown): unknown
}

/**
 * Loads the enhancers for scales 2 and 1.5 and times each on three frames (the mean of the last
 * two). An enhancer that fails is left out and named in `failure`; rejects only when
 * @auralink/aic itself cannot be loaded.
 */
export async function loadAicRuntime (init: AicInit): Promise<AicRuntime> {
  const aic = await import('@auralink/aic') as unknown as AicModule
  const enhancers = new Map<number, LoadedEnhancer>()
  const failures: string[] = []
  for (const scale of [2, 1.5] as const) {
    // a load that never settles (seen with threads: 2 in bench/aic/call.mjs's pages, cause not found)
    // becomes a stated failure instead of a side that never says what it can do
    let timer: ReturnType<typeof setTimeout> | undefined
    const load = loadOne(aic, init, scale)
    try {
      const loaded = await Promise.race([load, new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => { reject(new Error(`it did not load and run within ${Math.round(ENHANCER_LOAD_TIMEOUT_MS / 1000)} s`)) }, ENHANCER_LOAD_TIMEOUT_MS)
      })])
      enhancers.set(scale, loaded)
    } catch (err) {
      failures.push(`the ${scale}x enhancer failed to load: ${(err as Error).message}`)
      // one that loads after all is closed, not leaked
      void load.then(async (late) => late.enhancer.close(), () => {})
    } finally {
      clearTimeout(timer)
    }
  }
  const table = init.table !== undefined ? aic.parseCrossoverTable(init.table) : aic.shippedCrossoverTable()
  const first = [...enhancers.values()][0]
  const variant = init.variant ?? 'fast'
  const scales = aic.adaptiveScales(variant).filter((s): s is AicScale => s === 2 || s === 1.5)
  // the fitter and the adaptive enhancers run where the shipped enhancers loaded
  const runtime = { ...(first !== undefined ? { runtime: first.enhancer.info.runtime } : {}), ...(init.threads !== undefined ? { threads: init.threads } : {}), ...(init.wasmPaths !== undefined ? { wasmPaths: init.wasmPaths } : {}) }
  const adaptive: AicAdaptive | undefined = init.adaptive !== false && scales.length > 0
    ? {
        scales,
        cpuShare: init.adaptiveCpuShare ?? DEFAULT_ADAPTIVE_CPU_SHARE,
        createFitter: async (scale) => aic.createAdaptiveFitter({ ...runtime, scale }),
        createEnhancer: async (scale) => {
          const e = await aic.createEnhancer({ ...runtime, scale, variant, adaptive: true })
          if (typeof e.applyUpdate !== 'function') { await e.close(); throw new Error('this build of @auralink/aic has no adaptive enhancer') }
          return e as AdaptiveEnhancerLike
        }
      }
    : undefined
  return {
    ...(first !== undefined ? { runtime: first.enhancer.info.runtime } : {}),
    enhancers,
    ...(failures.length > 0 ? { failure: failures.join('; ') } : {}),
    createController: (c) => aic.createAicController({ ...c, table }),
    ...(adaptive !== undefined ? { adaptive } : {})
  }
}

/** The share of one core the sender's refitting may take by default (issue 20's aim: a quarter). */
export const DEFAULT_ADAPTIVE_CPU_SHARE = 0.25

/** One enhancer loaded and timed on three frames (the mean of the last two). */
async function loadOne (aic: AicModule, init: AicInit, scale: 2 | 1.5): Promise<LoadedEnhancer> {
  const url = init.modelUrls?.[String(scale) as '2' | '1.5']
  const enhancer = await aic.createEnhancer({
    scale,
    variant: init.variant ?? 'fast',
    ...(init.runtime !== undefined ? { runtime: init.runtime } : {}),
    ...(init.threads !== undefined ? { threads: init.threads } : {}),
    ...(url !== undefined ? { modelUrl: url } : {}),
    ...(init.wasmPaths !== undefined ? { wasmPaths: init.wasmPaths } : {})
  })
  const { w, h } = SPEED_CHECK[String(scale)]!
  const times: number[] = []
  try {
    for (let i = 0; i < 3; i++) {
      const data = new Uint8Array(w * h * 4).fill(128)
      const frame = new VideoFrame(data, { format: 'RGBA', codedWidth: w, codedHeight: h, timestamp: i })
      const t0 = performance.now()
      try { await enhancer.enhance(frame) } finally { frame.close() }
      times.push(performance.now() - t0)
    }
  } catch (err) {
    await enhancer.close().catch(() => {})
    throw err
  }
  return { enhancer, scale, version: enhancer.info.model.version, msPerFrame: (times[1]! + times[2]!) / 2, width: Math.round(w * scale), height: Math.round(h * scale) }
}

export async function closeAicRuntime (rt: AicRuntime): Promise<void> {
  await Promise.allSettled([...rt.enhancers.values()].map(async (e) => e.enhancer.close()))
}
