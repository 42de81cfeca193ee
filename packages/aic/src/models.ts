/**
 * The models this package ships (`models/manifest.json`, written by training/ship_model.py when a
 * trained model is copied into the package) and how one is chosen.
 */
import { ModelLoadError } from './errors.js'

/** One shipped model, as models/manifest.json lists it. */
export interface ModelEntry {
  /** e.g. 'enhancer-x2' */
  name: string
  /** File name beside the manifest. */
  file: string
  /** 'enhance' (tool 1) or 'codec' (tool 2). */
  tool: 'enhance' | 'codec'
  /** Output size / input size, for enhancers. */
  scale?: number
  /** Tool 2's files: 'analysis', 'hyper-analysis', 'synthesis' (ONNX) and 'tables' (the integer hyper-synthesis and CDF tables). */
  role?: ImageCodecRole
  /** Increases with every retrained model; travels in AIC metadata (protos/aic.proto). */
  version: number
  /** SHA-256 of the file, hex: checked before a session is made. */
  sha256: string
  bytes: number
  input: string
  output: string
  /** What the training run recorded: steps, held-out PSNR, config. */
  training?: Record<string, unknown>
}

export interface ModelManifest {
  models: ModelEntry[]
}

/** Checks the manifest's shape; a damaged manifest names the file and the entry. */
export function parseManifest (json: unknown, file: string): ModelManifest {
  const models = (json as ModelManifest | null)?.models
  if (!Array.isArray(models)) throw new ModelLoadError(file, 'no "models" array')
  models.forEach((m, i) => {
    for (const [key, type] of [['name', 'string'], ['file', 'string'], ['tool', 'string'], ['version', 'number'], ['sha256', 'string'], ['bytes', 'number'], ['input', 'string'], ['output', 'string']] as const) {
      if (typeof (m as unknown as Record<string, unknown>)?.[key] !== type) throw new ModelLoadError(file, `models[${i}].${key} is not a ${type}`)
    }
    if (m.file.includes('/') || m.file.includes('\\')) throw new ModelLoadError(file, `models[${i}].file must be a bare file name, got ${JSON.stringify(m.file)}`)
  })
  return { models }
}

/** The enhancer model for `scale`; RangeError listing the scales shipped when there is none. */
export function enhancerModel (manifest: ModelManifest, scale: number): ModelEntry {
  const enhancers = manifest.models.filter((m) => m.tool === 'enhance')
  const found = enhancers.find((m) => m.scale === scale)
  if (found === undefined) {
    throw new RangeError(`scale must be one of the shipped enhancer scales (${enhancers.map((m) => m.scale).join(', ') || 'none'}), got ${scale}`)
  }
  return found
}

/** The four files of tool 2, the learned image codec. */
export type ImageCodecRole = 'analysis' | 'hyper-analysis' | 'synthesis' | 'tables'
export const IMAGE_CODEC_ROLES: readonly ImageCodecRole[] = ['analysis', 'hyper-analysis', 'synthesis', 'tables']

/**
 * The image codec's four entries (tool 'codec'), which share one version: ModelLoadError naming
 * `file` (the manifest) when one is missing or their versions differ.
 */
export function imageCodecModels (manifest: ModelManifest, file: string): Record<ImageCodecRole, ModelEntry> {
  const codec = manifest.models.filter((m) => m.tool === 'codec')
  const out: Partial<Record<ImageCodecRole, ModelEntry>> = {}
  for (const role of IMAGE_CODEC_ROLES) {
    const entry = codec.find((m) => m.role === role)
    if (entry === undefined) throw new ModelLoadError(file, `no image-codec entry with role "${role}" (tool "codec")`)
    out[role] = entry
  }
  const versions = new Set(Object.values(out).map((m) => m.version))
  if (versions.size !== 1) throw new ModelLoadError(file, `the image-codec entries have different versions (${[...versions].join(', ')}); they ship together`)
  return out as Record<ImageCodecRole, ModelEntry>
}
