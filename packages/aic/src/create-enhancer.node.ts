import { resolveEnhancerInit, SessionEnhancer } from './enhancer.js'
import { readManifest, readModelFile, readShippedModel } from './model-files.node.js'
import { enhancerModel } from './models.js'
import { nodeSessionFactory } from './runtime.node.js'
import type { AdaptiveTail, Enhancer, EnhancerInit } from './enhancer.js'
import type { ModelEntry } from './models.js'

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
    const entry = enhancerModel(await readManifest(), opts.scale, opts.variant)
    const a = entry.adaptive
    if (a === undefined) throw new RangeError(`adaptive: ${entry.name} has no adaptive export (the fast variants have one: createEnhancer({ adaptive: true, variant: 'fast' }))`)
    model = await readShippedModel({ ...entry, file: a.file, bytes: a.bytes, sha256: a.sha256 })
    const tail = await readShippedModel({ ...entry, file: a.tail.file, bytes: a.tail.bytes, sha256: a.tail.sha256 } satisfies ModelEntry)
    const all = new Float32Array(tail.bytes.buffer.slice(tail.bytes.byteOffset, tail.bytes.byteOffset + tail.bytes.byteLength))
    const n = a.tail.outChannels * a.tail.channels * a.tail.kernel * a.tail.kernel
    adaptive = {
      geometry: { channels: a.tail.channels, outChannels: a.tail.outChannels, kernel: a.tail.kernel, stride: a.tail.stride, padding: a.tail.padding },
      shipped: { weight: all.slice(0, n), bias: all.slice(n) },
      modelVersion: entry.version,
      scaleX100: opts.scale === 2 ? 200 : 150
    }
    meta = { name: `${entry.name}-adaptive`, version: entry.version, sha256: a.sha256 }
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
