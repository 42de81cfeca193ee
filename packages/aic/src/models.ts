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
  /** Enhancers: which variant of the model for `scale` this is; absent means 'standard'. */
  variant?: EnhancerVariant
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
  /** Enhancers: the export for tool 1's adaptive mode (training/export_adaptive.py), where there is one. */
  adaptive?: AdaptiveEntry
}

/**
 * An enhancer's adaptive export: the same network with its tail's weights as inputs
 * (`tail_weight`, `tail_bias`) and the tail's input (`features`) and the skip path (`base`) as more
 * outputs; the shipped tail in `tail.file` (float32 little-endian, weight then bias).
 */
export interface AdaptiveEntry {
  file: string
  bytes: number
  sha256: string
  inputs: string[]
  outputs: string[]
  tail: { file: string, bytes: number, sha256: string, channels: number, outChannels: number, kernel: number, stride: number, padding: number, shuffle: number }
}

/** The shipped models' manifest (`models/manifest.json`), as `parseManifest()` returns it. */
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
    if (m.variant !== undefined && !ENHANCER_VARIANTS.includes(m.variant)) throw new ModelLoadError(file, `models[${i}].variant must be one of ${ENHANCER_VARIANTS.join(', ')}, got ${JSON.stringify(m.variant)}`)
    if (m.adaptive !== undefined) checkAdaptive(m.adaptive, `models[${i}].adaptive`, file)
  })
  return { models }
}

function checkAdaptive (a: AdaptiveEntry, at: string, file: string): void {
  const bad = (what: string): never => { throw new ModelLoadError(file, `${at}.${what}`) }
  for (const [key, type] of [['file', 'string'], ['bytes', 'number'], ['sha256', 'string']] as const) if (typeof a?.[key] !== type) bad(`${key} is not a ${type}`)
  if (!Array.isArray(a.inputs) || !Array.isArray(a.outputs)) bad('inputs and outputs must be arrays of names')
  const t = a.tail
  for (const [key, type] of [['file', 'string'], ['bytes', 'number'], ['sha256', 'string'], ['channels', 'number'], ['outChannels', 'number'], ['kernel', 'number'], ['stride', 'number'], ['padding', 'number'], ['shuffle', 'number']] as const) {
    if (typeof t?.[key] !== type) bad(`tail.${key} is not a ${type}`)
  }
  for (const f of [a.file, t.file]) if (f.includes('/') || f.includes('\\')) bad(`files must be bare file names, got ${JSON.stringify(f)}`)
  if (t.bytes !== 4 * (t.outChannels * t.channels * t.kernel * t.kernel + t.outChannels)) bad(`tail.bytes is ${t.bytes}, not 4 bytes for each of the tail's ${t.outChannels}x${t.channels}x${t.kernel}x${t.kernel} weights and ${t.outChannels} biases`)
}

/**
 * The enhancer variants: 'standard' (the full network) and 'fast' (a smaller one for CPUs
 * that cannot run the standard one at call frame rates, e.g. WASM in browsers).
 */
export type EnhancerVariant = 'standard' | 'fast'
export const ENHANCER_VARIANTS: readonly EnhancerVariant[] = ['standard', 'fast']

/**
 * The enhancer model for `scale` and `variant` (an entry without `variant` is 'standard');
 * RangeError listing the scales shipped for that variant when there is none.
 */
export function enhancerModel (manifest: ModelManifest, scale: number, variant: EnhancerVariant = 'standard'): ModelEntry {
  const enhancers = manifest.models.filter((m) => m.tool === 'enhance' && (m.variant ?? 'standard') === variant)
  const found = enhancers.find((m) => m.scale === scale)
  if (found === undefined) {
    const scales = [...new Set(enhancers.map((m) => m.scale))].sort((a, b) => (a ?? 0) - (b ?? 0))
    throw new RangeError(`scale must be one of the shipped ${variant === 'standard' ? '' : `'${variant}' `}enhancer scales (${scales.join(', ') || 'none'}), got ${scale}`)
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
