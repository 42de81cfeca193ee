import { ModelLoadError } from './errors.js'
import { resolveImageCodecInit, SessionImageCodec } from './image-codec.js'
import { parseCodecTables } from './image-codec-tables.js'
import { fetchShippedModel, SHIPPED_MANIFEST, shippedModelUrl } from './model-files.browser.js'
import { imageCodecModels } from './models.js'
import { chooseWebRuntime, openOnChoice, webSessionFactory } from './runtime.web.js'
import type { CodecTables } from './image-codec-tables.js'
import type { ImageCodec, ImageCodecInfo, ImageCodecInit } from './image-codec.js'
import type { ModelEntry } from './models.js'
import type { WasmPaths, WebExecutionProvider, WebGpuAdapterInfo, WebInferenceSession } from './runtime.web.js'

/** Options of `createImageCodec()` in browsers. */
export interface BrowserImageCodecInit extends Omit<ImageCodecInit, 'modelDir' | 'runtime'> {
  /**
   * Which runtime runs the three transforms: 'wasm' (onnxruntime-web on the CPU), 'webgpu', or
   * 'auto': WebGPU where the browser offers a hardware adapter, else WASM (a software adapter such
   * as SwiftShader is skipped: it is far slower than WASM; ask for 'webgpu' to use one anyway).
   * Whichever runs, the same bytes decode to the same pixels within one level (the table indices
   * come from integers alone).
   * @default 'auto'
   */
  runtime?: 'auto' | 'wasm' | 'webgpu'
  /**
   * Threads for one transform (WASM). Threads need SharedArrayBuffer, so a page that is not
   * cross-origin isolated runs one, whatever this says. Fixed by the first onnxruntime-web session
   * of a realm: tool 1 with `worker: false` and every codec of a page share it.
   * @default onnxruntime-web's choice where cross-origin isolated (half the cores, at most 4), else 1
   */
  threads?: number
  /**
   * The folder where the codec's four files (`image-codec-*.onnx`, `image-codec-tables.bin`) are
   * served, for apps whose bundler does not copy them; they are checked against the manifest's
   * sizes and SHA-256 all the same.
   * @default the package's `models/`, resolved against this module (`new URL(…, import.meta.url)`: Vite, webpack 5 and Parcel copy each file)
   */
  modelBaseUrl?: string | URL
  /** Where onnxruntime-web's `.wasm` (and `.mjs`) files are served. @default beside onnxruntime-web's module, as a bundler emits them */
  wasmPaths?: WasmPaths
}

/** What a browser image codec runs. */
export interface BrowserImageCodecInfo extends ImageCodecInfo {
  runtime: WebExecutionProvider
  executionProvider: WebExecutionProvider
  /** Threads the WASM module runs (1 where the page is not cross-origin isolated). */
  threads: number
  /** The WebGPU adapter seen, when runtime is 'webgpu' or 'auto' looked for one. */
  adapter?: WebGpuAdapterInfo
}

/** Tool 2 in a browser: the shared SessionImageCodec on onnxruntime-web, in the calling thread. */
export interface BrowserImageCodec extends ImageCodec {
  readonly info: BrowserImageCodecInfo
}

const ROLES = ['analysis', 'hyper-analysis', 'synthesis'] as const

function checkBrowserInit (init: BrowserImageCodecInit): void {
  if (init == null || typeof init !== 'object') throw new TypeError(`init must be an object, got ${String(init)}`)
  if ('modelDir' in init) throw new TypeError('modelDir is for Node; in a browser give modelBaseUrl (the folder where the codec\'s files are served)')
  const base = init.modelBaseUrl
  if (base !== undefined && !(base instanceof URL) && (typeof base !== 'string' || base === '')) {
    throw new TypeError(`modelBaseUrl must be a URL or a non-empty string, got ${String(base)}`)
  }
  const p = init.wasmPaths
  if (p !== undefined && typeof p !== 'string' && (p === null || typeof p !== 'object')) throw new TypeError(`wasmPaths must be a URL prefix string or { mjs?, wasm? }, got ${String(p)}`)
}

/** The URL of one of the codec's files: under modelBaseUrl (a folder) where given, else the package's copy. */
function fileUrl (entry: ModelEntry, base: string | URL | undefined): string {
  if (base === undefined) return String(shippedModelUrl(entry))
  const folder = String(base).endsWith('/') ? String(base) : `${String(base)}/`
  return String(new URL(entry.file, new URL(folder, globalThis.location?.href)))
}

/**
 * Makes tool 2, the learned image codec, in a browser, on onnxruntime-web (an optional peer
 * dependency): fetches the four shipped files (or those under `modelBaseUrl`), checks each against
 * the manifest built into the code (size and SHA-256, by WebCrypto), parses the integer tables,
 * picks WebGPU or WASM and makes the three sessions. They run on the calling thread (no worker:
 * one picture is one call, and a page that must not block calls this from a worker of its own).
 * Errors: RangeError/TypeError for bad options (a quality the model lacks included);
 * ModelNotFoundError (404) and ModelLoadError (fetch failed, wrong size or checksum, refused by
 * onnxruntime-web) naming the URL; RuntimeUnavailableError when the runtime asked for cannot
 * start (no WebGPU adapter, ort's `.wasm` not where `wasmPaths` says).
 *
 * @example
 * ```ts
 * const codec = await createImageCodec({ runtime: 'wasm', quality: 3 })
 * const bytes = await codec.encode({ width, height, data: rgba })
 * const frame = await codec.decode(bytes) // RGBA, width x height
 * await codec.close()
 * ```
 */
export async function createImageCodec (init: BrowserImageCodecInit = {}, options: { signal?: AbortSignal } = {}): Promise<BrowserImageCodec> {
  const t0 = performance.now()
  checkBrowserInit(init)
  const opts = resolveImageCodecInit({ ...init, runtime: init.runtime === undefined || init.runtime === 'auto' ? 'wasm' : init.runtime }, ['wasm', 'webgpu'])
  const signal = options.signal
  signal?.throwIfAborted()

  const choice = await chooseWebRuntime(init.runtime)
  const adapter = choice.adapter

  const entries = imageCodecModels(SHIPPED_MANIFEST, 'models/manifest.json')
  const [tablesFile, ...modelFiles] = await Promise.all([entries.tables, ...ROLES.map((r) => entries[r])].map(async (e) => fetchShippedModel(e, fileUrl(e, init.modelBaseUrl), signal)))
  signal?.throwIfAborted()
  const tables: CodecTables = parseCodecTables(tablesFile!.bytes, tablesFile!.file)
  if (opts.quality >= tables.levels) throw new RangeError(`quality must be from 0 to ${tables.levels - 1} (the model's levels), got ${opts.quality}`)
  const files = modelFiles.map((m) => m.file) as [string, string, string]

  const open = async (ep: WebExecutionProvider): Promise<BrowserImageCodec> => {
    const factory = webSessionFactory({ executionProvider: ep, ...(init.wasmPaths !== undefined ? { wasmPaths: init.wasmPaths } : {}) })
    const sessions: WebInferenceSession[] = []
    try {
      for (const [i, role] of ROLES.entries()) {
        const entry = entries[role]
        sessions.push(await factory(modelFiles[i]!.bytes, { input: entry.input, output: entry.output, file: files[i]!, ...(opts.threads !== undefined ? { threads: opts.threads } : {}) }))
      }
    } catch (err) {
      await Promise.all(sessions.map(async (s) => { await s.release() }))
      throw err
    }
    const [analysis, hyperAnalysis, synthesis] = sessions as [WebInferenceSession, WebInferenceSession, WebInferenceSession]
    if (analysis.executionProvider !== synthesis.executionProvider) {
      await Promise.all(sessions.map(async (s) => { await s.release() }))
      throw new ModelLoadError(files[2], 'the sessions run on different execution providers')
    }
    const version = entries.tables.version
    const info: BrowserImageCodecInfo = {
      runtime: ep,
      executionProvider: analysis.executionProvider,
      quality: opts.quality,
      levels: tables.levels,
      threads: analysis.threads,
      model: { name: tables.name, version, files: [...files, tablesFile!.file] },
      ...(adapter !== undefined ? { adapter } : {}),
      loadMs: performance.now() - t0
    }
    const codec = new SessionImageCodec({ analysis, hyperAnalysis, synthesis }, tables, {
      quality: opts.quality, version, maxWidth: opts.maxWidth, maxHeight: opts.maxHeight, maxBytes: opts.maxBytes
    }, info, { analysis: files[0], hyperAnalysis: files[1], synthesis: files[2] })
    return codec as SessionImageCodec & BrowserImageCodec
  }

  return openOnChoice(choice, async (runtime) => open(runtime), signal)
}
