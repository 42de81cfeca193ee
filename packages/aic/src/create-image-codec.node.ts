import { join } from 'node:path'
import { ModelLoadError } from './errors.js'
import { resolveImageCodecInit, SessionImageCodec } from './image-codec.js'
import { parseCodecTables } from './image-codec-tables.js'
import { MODELS_DIR, readManifest, readShippedModel } from './model-files.node.js'
import { imageCodecModels } from './models.js'
import { nodeSessionFactory } from './runtime.node.js'
import type { ImageCodec, ImageCodecInit } from './image-codec.js'
import type { InferenceSession } from './runtime.js'

/**
 * Makes tool 2, the learned image codec, on onnxruntime-node (an optional peer dependency):
 * reads the four shipped files (or those in `modelDir`), checks each against the manifest's size
 * and SHA-256, parses the integer tables, makes the three sessions.
 * Errors: RangeError/TypeError for bad options (a quality the model lacks included),
 * ModelNotFoundError and ModelLoadError naming the file, RuntimeUnavailableError when
 * onnxruntime-node is not installed.
 *
 * @example
 * ```ts
 * const codec = await createImageCodec({ runtime: 'node', quality: 3 })
 * const bytes = await codec.encode({ width, height, data: rgba })
 * const frame = await codec.decode(bytes) // RGBA, width x height
 * console.log(codec.info.executionProvider) // 'cpu'
 * await codec.close()
 * ```
 */
export async function createImageCodec (init: ImageCodecInit = {}): Promise<ImageCodec> {
  const t0 = performance.now()
  const opts = resolveImageCodecInit(init, ['node'])
  const dir = opts.modelDir === undefined ? MODELS_DIR : join(opts.modelDir, '/')
  const manifest = await readManifest(dir)
  const entries = imageCodecModels(manifest, `${dir}manifest.json`)
  const tablesFile = await readShippedModel(entries.tables, dir)
  const tables = parseCodecTables(tablesFile.bytes, tablesFile.file)
  if (opts.quality >= tables.levels) throw new RangeError(`quality must be from 0 to ${tables.levels - 1} (the model's levels), got ${opts.quality}`)
  const threads = opts.threads !== undefined ? { threads: opts.threads } : {}
  const sessions: InferenceSession[] = []
  const files: string[] = []
  try {
    for (const entry of [entries.analysis, entries['hyper-analysis'], entries.synthesis]) {
      const model = await readShippedModel(entry, dir)
      files.push(model.file)
      sessions.push(await nodeSessionFactory(model.bytes, { input: entry.input, output: entry.output, file: model.file, ...threads }))
    }
  } catch (err) {
    await Promise.all(sessions.map(async (s) => { await s.release() }))
    throw err
  }
  const [analysis, hyperAnalysis, synthesis] = sessions as [InferenceSession, InferenceSession, InferenceSession]
  if (analysis.executionProvider !== synthesis.executionProvider) throw new ModelLoadError(files[2]!, 'the sessions run on different execution providers')
  const version = entries.tables.version
  return new SessionImageCodec({ analysis, hyperAnalysis, synthesis }, tables, {
    quality: opts.quality, version, maxWidth: opts.maxWidth, maxHeight: opts.maxHeight, maxBytes: opts.maxBytes
  }, {
    runtime: opts.runtime,
    executionProvider: analysis.executionProvider,
    quality: opts.quality,
    levels: tables.levels,
    ...threads,
    model: { name: tables.name, version, files: [...files, tablesFile.file] },
    loadMs: performance.now() - t0
  }, { analysis: files[0]!, hyperAnalysis: files[1]!, synthesis: files[2]! })
}
