import { resolveEnhancerInit, SessionEnhancer } from './enhancer.js'
import { readManifest, readModelFile, readShippedModel } from './model-files.node.js'
import { enhancerModel } from './models.js'
import { nodeSessionFactory } from './runtime.node.js'
import type { Enhancer, EnhancerInit } from './enhancer.js'

/**
 * Makes tool 1's enhancer on onnxruntime-node (an optional peer dependency): reads the shipped
 * model for `scale` and `variant` (or `modelPath`), checks it against the manifest, makes the session.
 * Errors: RangeError/TypeError for bad options, ModelNotFoundError and ModelLoadError naming
 * the file, RuntimeUnavailableError when onnxruntime-node is not installed.
 */
export async function createEnhancer (init: EnhancerInit = {}): Promise<Enhancer> {
  const t0 = performance.now()
  const opts = resolveEnhancerInit(init, ['node'])
  let model: { bytes: Uint8Array, file: string }
  let meta: { name: string, version: number, sha256?: string }
  let io = { input: 'low', output: 'restored' }
  if (opts.modelPath !== undefined) {
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
    loadMs: performance.now() - t0
  })
}
