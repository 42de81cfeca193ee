/**
 * Where the package's copies of the adaptive exports and their shipped tails are (tool 1's adaptive
 * mode), each named literally in `new URL('…', import.meta.url)` so that bundlers copy them, and only
 * them, into an app's build; and their fetch, checked against the manifest.
 */
import { adaptiveTailOf } from './adaptive.js'
import { ModelNotFoundError } from './errors.js'
import { fetchShippedModel, SHIPPED_MANIFEST } from './model-files.browser.js'
import { enhancerModel } from './models.js'
import type { AdaptiveTail } from './enhancer.js'

const ADAPTIVE_URLS: Record<string, () => URL> = {
  'enhancer-x2-fast-adaptive.onnx': () => new URL('../models/enhancer-x2-fast-adaptive.onnx', import.meta.url),
  'enhancer-x2-fast-adaptive.tail.bin': () => new URL('../models/enhancer-x2-fast-adaptive.tail.bin', import.meta.url),
  'enhancer-x1.5-fast-adaptive.onnx': () => new URL('../models/enhancer-x1.5-fast-adaptive.onnx', import.meta.url),
  'enhancer-x1.5-fast-adaptive.tail.bin': () => new URL('../models/enhancer-x1.5-fast-adaptive.tail.bin', import.meta.url)
}

function urlOf (file: string): string {
  const url = ADAPTIVE_URLS[file]
  if (url === undefined) throw new ModelNotFoundError(`models/${file}`)
  return String(url())
}

/**
 * Fetches the shipped adaptive export for `scale` and `variant` and its tail, each checked
 * against the manifest's size and SHA-256. `urls` overrides where each is served.
 */
export async function fetchAdaptive (scale: number, variant: 'standard' | 'fast', urls: { model?: string | URL, tail?: string | URL } = {}, signal?: AbortSignal): Promise<{ model: { bytes: Uint8Array, file: string }, tail: AdaptiveTail, meta: { name: string, version: number, sha256: string } }> {
  const entry = enhancerModel(SHIPPED_MANIFEST, scale, variant)
  const a = entry.adaptive
  if (a === undefined) throw new RangeError(`adaptive: ${entry.name} has no adaptive export (the fast variants have one: variant 'fast')`)
  const [model, tail] = await Promise.all([
    fetchShippedModel({ ...entry, file: a.file, bytes: a.bytes, sha256: a.sha256 }, String(urls.model ?? urlOf(a.file)), signal),
    fetchShippedModel({ ...entry, file: a.tail.file, bytes: a.tail.bytes, sha256: a.tail.sha256 }, String(urls.tail ?? urlOf(a.tail.file)), signal)
  ])
  return { model, tail: adaptiveTailOf(entry, scale, tail.bytes, tail.file), meta: { name: `${entry.name}-adaptive`, version: entry.version, sha256: a.sha256 } }
}

/** The enhancer scales whose shipped `variant` model has an adaptive export (the 'fast' ones: 2 and 1.5). */
export function adaptiveScales (variant: 'standard' | 'fast' = 'fast'): number[] {
  return SHIPPED_MANIFEST.models
    .filter((m) => m.tool === 'enhance' && (m.variant ?? 'standard') === variant && m.adaptive !== undefined && m.scale !== undefined)
    .map((m) => m.scale!)
}
