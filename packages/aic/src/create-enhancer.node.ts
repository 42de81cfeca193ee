import { resolveEnhancerInit, SessionEnhancer } from './enhancer.js'
import { readManifest, readModelFile, readShippedModel } from './model-files.node.js'
import { enhancerModel } from './models.js'
import { nodeSessionFactory } from './runtime.node.js'
import { adaptiveTailOf, checkFitterInit, SessionAdaptiveFitter } from './adaptive.js'
import type { AdaptiveFitter, AdaptiveFitterInit } from './adaptive.js'
import type { AdaptiveTail, Enhancer, EnhancerInit } from './enhancer.js'
import type { EnhancerVariant, ModelEntry } from './models.js'

/**
 * Makes tool 1's enhancer on onnxruntime-node (an optional peer dependency): reads the shipped
 * model for `scale` and `variant` (or `modelPath`; or, with `adaptive`, the shipped model's
 * adaptive export and its shipped tail), checks it against the manifest, makes the session.
 * Errors: RangeError/TypeError for bad options, ModelNotFoundError and ModelLoadError naming
 * the file, RuntimeUnavailableError when onnxruntime-node is not installed.
 */
export async function createEnhancer (init: EnhancerInit = {}): Promise<Enhancer> {
  const t0 = performance.now()
  const opts = resolveEnhancerInit(init, ['node'])
  let model: { bytes: Uint8Array, file: string }
  let meta: { name: string, version: number, sha256?: string }
  let io: { input: string, output: string, extraInputs?: string[] } = { input: 'low', output: 'restored' }
  let adaptive: AdaptiveTail | undefined
  if (opts.adaptive) {
    const loaded = await readAdaptive(opts.scale, opts.variant)
    model = loaded.model
    adaptive = loaded.tail
    meta = loaded.meta
    io = { input: 'low', output: 'restored', extraInputs: ['tail_weight', 'tail_bias'] }
  } else if (opts.modelPath !== undefined) {
    model = await readModelFile(opts.modelPath)
    meta = { name: 'custom', version: 0 }
  } else {
    const entry = enhancerModel(await readManifest(), opts.scale, opts.variant)
    model = await readShippedModel(entry)
    meta = { name: entry.name, version: entry.version, sha256: entry.sha256 }
    io = { input: entry.input, output: entry.output }
  }
  const session = await nodeSessionFactory(model.bytes, { ...io, file: model.file, ...(opts.threads !== undefined ? { threads: opts.threads } : {}) })
  return new SessionEnhancer(session, {
    runtime: opts.runtime,
    executionProvider: session.executionProvider,
    scale: opts.scale,
    ...(opts.modelPath === undefined ? { variant: opts.variant } : {}),
    ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
    model: { ...meta, file: model.file },
    ...(adaptive !== undefined ? { adaptive: true } : {}),
    loadMs: performance.now() - t0
  }, adaptive)
}

/** The shipped adaptive export for `scale` and `variant` and its tail, each checked against the manifest. */
async function readAdaptive (scale: number, variant: EnhancerVariant): Promise<{ model: { bytes: Uint8Array, file: string }, tail: AdaptiveTail, meta: { name: string, version: number, sha256: string } }> {
  const entry = enhancerModel(await readManifest(), scale, variant)
  const a = entry.adaptive
  if (a === undefined) throw new RangeError(`adaptive: ${entry.name} has no adaptive export (the fast variants have one: variant 'fast')`)
  const model = await readShippedModel({ ...entry, file: a.file, bytes: a.bytes, sha256: a.sha256 })
  const tail = await readShippedModel({ ...entry, file: a.tail.file, bytes: a.tail.bytes, sha256: a.tail.sha256 } satisfies ModelEntry)
  return { model, tail: adaptiveTailOf(entry, scale, tail.bytes, tail.file), meta: { name: `${entry.name}-adaptive`, version: entry.version, sha256: a.sha256 } }
}

/**
 * Makes the sender's fitter of tool 1's adaptive mode on onnxruntime-node: the shipped fast
 * enhancer's adaptive export for `scale`, whose tail it refits to the frames it is given
 * (docs/aic-adaptive.md). Errors as createEnhancer's.
 */
export async function createAdaptiveFitter (init: AdaptiveFitterInit = {}): Promise<AdaptiveFitter> {
  const t0 = performance.now()
  checkFitterInit(init)
  const opts = resolveEnhancerInit({ runtime: init.runtime ?? 'auto', scale: init.scale ?? 2, variant: 'fast', adaptive: true, ...(init.threads !== undefined ? { threads: init.threads } : {}) }, ['node'])
  const { model, tail, meta } = await readAdaptive(opts.scale, 'fast')
  const session = await nodeSessionFactory(model.bytes, { input: 'low', output: 'restored', extraInputs: ['tail_weight', 'tail_bias'], file: model.file, ...(opts.threads !== undefined ? { threads: opts.threads } : {}) })
  return new SessionAdaptiveFitter(session, {
    runtime: opts.runtime,
    executionProvider: session.executionProvider,
    scale: opts.scale,
    ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
    model: { ...meta, file: model.file },
    loadMs: performance.now() - t0
  }, tail, { ...(init.samplesPerFrame !== undefined ? { samplesPerFrame: init.samplesPerFrame } : {}), ...(init.lambda !== undefined ? { lambda: init.lambda } : {}) })
}
