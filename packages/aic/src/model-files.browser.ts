import manifestJson from '../models/manifest.json' with { type: 'json' }
import { ModelLoadError, ModelNotFoundError } from './errors.js'
import { imageCodecModels, parseManifest } from './models.js'
import type { ModelEntry, ModelManifest } from './models.js'

/**
 * The manifest of the models this package ships, built into the code (a bundler inlines the
 * JSON): the checksum that a model file is checked against travels with the code, not beside
 * the file it checks.
 */
export const SHIPPED_MANIFEST: ModelManifest = parseManifest(manifestJson, 'models/manifest.json')

/**
 * The model version of tool 2 (the learned image codec) this package ships: the version of the
 * bitstreams `createImageCodec()` writes and reads with the shipped files. Needs no runtime: an
 * app (the SDK's call.sendImage()) can say what it decodes before loading anything.
 */
export function shippedImageCodecVersion (): number {
  return imageCodecModels(SHIPPED_MANIFEST, 'models/manifest.json').tables.version
}

/**
 * Where the package's copy of each browser-shipped model is: `models/<file>` beside `dist/` (and
 * `src/`), resolved against this module. Each is named literally so that bundlers (Vite,
 * webpack 5, Parcel) see `new URL('…', import.meta.url)` and copy that file, and only that one,
 * into the app's build.
 */
const SHIPPED_URLS: Record<string, () => URL> = {
  'enhancer-x2.onnx': () => new URL('../models/enhancer-x2.onnx', import.meta.url),
  'enhancer-x1.5.onnx': () => new URL('../models/enhancer-x1.5.onnx', import.meta.url),
  // tool 2, the learned image codec: its three transforms and its integer tables
  'image-codec-analysis.onnx': () => new URL('../models/image-codec-analysis.onnx', import.meta.url),
  'image-codec-hyper-analysis.onnx': () => new URL('../models/image-codec-hyper-analysis.onnx', import.meta.url),
  'image-codec-synthesis.onnx': () => new URL('../models/image-codec-synthesis.onnx', import.meta.url),
  'image-codec-tables.bin': () => new URL('../models/image-codec-tables.bin', import.meta.url)
}

/** The URL of a shipped model's file; ModelNotFoundError for one this build has no URL for (give modelUrl). */
export function shippedModelUrl (entry: ModelEntry): URL {
  const url = SHIPPED_URLS[entry.file]
  if (url === undefined) throw new ModelNotFoundError(`models/${entry.file}`)
  return url()
}

async function fetchBytes (url: string, signal: AbortSignal | undefined): Promise<Uint8Array> {
  let res: Response
  try {
    res = await fetch(url, { signal: signal ?? null, credentials: 'same-origin' })
  } catch (err) {
    if (signal?.aborted === true) throw signal.reason
    throw new ModelLoadError(url, `fetch failed (${(err as Error).message})`, { cause: err })
  }
  if (res.status === 404 || res.status === 410) throw new ModelNotFoundError(url)
  if (!res.ok) throw new ModelLoadError(url, `the server answered ${res.status} ${res.statusText}`.trim())
  try {
    return new Uint8Array(await res.arrayBuffer())
  } catch (err) {
    if (signal?.aborted === true) throw signal.reason
    throw new ModelLoadError(url, `reading the response failed (${(err as Error).message})`, { cause: err })
  }
}

function hex (buf: ArrayBuffer): string {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('')
}

/**
 * Fetches a shipped model from `url` and checks it against the manifest's size and SHA-256
 * (WebCrypto). ModelNotFoundError (404) and ModelLoadError (any other failure, a wrong size or
 * checksum) name the URL.
 */
export async function fetchShippedModel (entry: ModelEntry, url: string, signal?: AbortSignal): Promise<{ bytes: Uint8Array, file: string }> {
  const bytes = await fetchBytes(url, signal)
  if (bytes.length !== entry.bytes) throw new ModelLoadError(url, `${bytes.length} bytes, the manifest says ${entry.bytes} (truncated or replaced)`)
  const subtle = globalThis.crypto?.subtle
  if (subtle === undefined) throw new ModelLoadError(url, 'WebCrypto (crypto.subtle) is not available to check its SHA-256: serve the page over https or from localhost')
  const sha = hex(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>))
  if (sha !== entry.sha256) throw new ModelLoadError(url, `SHA-256 ${sha} differs from the manifest's ${entry.sha256}`)
  return { bytes, file: url }
}
