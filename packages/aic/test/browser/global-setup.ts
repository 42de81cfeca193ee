// Runs in Node before the browser tests: tool 1 on onnxruntime-node (the reference the browser
// runtimes must agree with) on a held-out VP8 frame, and tool 2 (the image codec) on cuts of a
// held-out still, made afresh from the shipped models on every run. It goes to the page through
// vitest's provide()/inject().
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { createAdaptiveFitter, createEnhancer, createImageCodec, imageCodecModels, parseCodecTables, readManifest } from '../../src/index.node.js'
import { readShippedModel } from '../../src/model-files.node.js'
import { streamIndices, toB64 } from './codec-stream.js'
import { heldOutFrames } from '../../../../test-utils/aic-video.js'
import type { Frame } from '../../src/index.node.js'
import type SharpModule from 'sharp'
import type { TestProject } from 'vitest/node'

/** What the browser tests get from here (base64 of RGBA bytes). */
export interface AicBrowserFixture {
  /** Frame 10 of the held-out clip through VP8 at 200 kbps, 320x180. */
  low: { width: number, height: number, rgba: string }
  /** onnxruntime-node's restoration of `low`, 640x360. */
  nodeOut: { width: number, height: number, rgba: string }
  /** A 40x24 crop of `low` (the WebGPU case: SwiftShader is slow) and its restoration in Node. */
  smallLow: { width: number, height: number, rgba: string }
  smallNodeOut: { width: number, height: number, rgba: string }
  /** Where Vite's dev server serves onnxruntime-web's WASM-only .wasm (/@fs/<its path on disk>). */
  ortWasmPath: string
  /** Tool 1 at 1.5x: frame 10 through VP8 at 426x240 and 300 kbps, its restoration in Node (639x360); a 40x24 crop (60x36) and a 20x12 one (30x18, the WebGPU case). */
  x1_5: { low: B64Frame, nodeOut: B64Frame, smallLow: B64Frame, smallNodeOut: B64Frame, tinyLow: B64Frame, tinyNodeOut: B64Frame }
  /**
   * Tool 1's adaptive mode at 2x: frames 0-3 of the held-out clip (VP8 at 400 kbps, 320x180) and
   * their originals (640x360); Node's fitter's update from those four pairs (base64 bytes), and
   * Node's adaptive enhancer's restoration of frame 4 before and after that update.
   */
  adaptive: { low: B64Frame[], original: B64Frame[], update: string, next: B64Frame, nodeShipped: B64Frame, nodeUpdated: B64Frame }
}

type B64Frame = { width: number, height: number, rgba: string }

/** One picture coded by tool 2 in Node at one level: what the page must decode alike. */
export interface AicCodecCase {
  quality: number
  /** The picture (RGBA). */
  image: { width: number, height: number, rgba: string }
  /** Node's bitstream of it. */
  bytes: string
  /** Node's decode of `bytes` (RGBA). */
  nodeOut: { width: number, height: number, rgba: string }
  /** The table index of every y value (Uint8Array) and the y symbols (Uint32Array), from `bytes` in Node. */
  index: string
  ySymbols: string
}

/** Tool 2's fixtures, made afresh on every run from the shipped model (so they follow a re-shipped model). */
export type AicCodecFixture = {
  /** The tables' model version (the bitstream's model_version). */
  version: number
  levels: number
  /** A 300x200 cut of the held-out still (not multiples of 64: padding and crop), at two levels: the WASM cases. */
  wasm: AicCodecCase[]
  /** A 64x64 cut at one level: the WebGPU (SwiftShader) case. */
  small: AicCodecCase
} | { skip: string }

declare module 'vitest' {
  export interface ProvidedContext {
    aic: AicBrowserFixture
    aicCodec: AicCodecFixture
  }
}

// a validation still (the training's split), never trained on: the one test/image-codec.test.ts uses
const HELD_OUT_STILL = '/usr/share/doc/opencv-doc/examples/data/building.jpg'

/** Tool 2 in Node (onnxruntime-node, 1 thread) on cuts of the held-out still; the reference for the page. */
async function codecFixture (): Promise<AicCodecFixture> {
  let sharp: typeof SharpModule
  try {
    sharp = (await import('sharp')).default
  } catch {
    return { skip: 'sharp is not installed (it decodes the held-out JPEG)' }
  }
  // as the training data sees stills: downscaled 2x (Lanczos), then cut
  const cut = async (left: number, top: number, width: number, height: number): Promise<Frame> => {
    const { data, info } = await sharp(HELD_OUT_STILL).resize({ width: 434, kernel: 'lanczos3' }).extract({ left, top, width, height }).ensureAlpha().raw().toBuffer({ resolveWithObject: true })
    return { width: info.width, height: info.height, data: new Uint8Array(data) }
  }
  const manifest = await readManifest()
  const entries = imageCodecModels(manifest, 'models/manifest.json')
  const tablesFile = await readShippedModel(entries.tables)
  const tables = parseCodecTables(tablesFile.bytes, tablesFile.file)
  const levels = tables.levels
  const one = async (image: Frame, quality: number): Promise<AicCodecCase> => {
    const codec = await createImageCodec({ runtime: 'node', quality, threads: 1 })
    try {
      const bytes = await codec.encode(image)
      const out = await codec.decode(bytes)
      const { index, ySymbols } = streamIndices(bytes, tables)
      return { quality, image: b64(image), bytes: toB64(bytes), nodeOut: b64(out), index: toB64(index), ySymbols: toB64(ySymbols) }
    } finally {
      await codec.close()
    }
  }
  const big = await cut(40, 40, 300, 200)
  return {
    version: entries.tables.version,
    levels,
    wasm: [await one(big, 1), await one(big, levels - 1)],
    small: await one(await cut(180, 120, 64, 64), Math.floor(levels / 2))
  }
}

const b64 = (f: Frame): { width: number, height: number, rgba: string } => ({ width: f.width, height: f.height, rgba: Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength).toString('base64') })

function crop (f: Frame, x0: number, y0: number, w: number, h: number): Frame {
  const data = new Uint8Array(w * h * 4)
  for (let y = 0; y < h; y++) data.set(f.data.subarray(((y0 + y) * f.width + x0) * 4, ((y0 + y) * f.width + x0 + w) * 4), y * w * 4)
  return { width: w, height: h, data }
}

/** The 1.5x fixture: the shipped enhancer-x1.5 on onnxruntime-node, 1 thread. */
async function x1_5Fixture (): Promise<AicBrowserFixture['x1_5']> {
  const frame = heldOutFrames(11, 300, 1.5).low[10]!
  const small = crop(frame, 140, 60, 40, 24)
  const tiny = crop(frame, 200, 100, 20, 12)
  const enhancer = await createEnhancer({ runtime: 'node', scale: 1.5, threads: 1 })
  try {
    return {
      low: b64(frame),
      nodeOut: b64(await enhancer.enhance(frame)),
      smallLow: b64(small),
      smallNodeOut: b64(await enhancer.enhance(small)),
      tinyLow: b64(tiny),
      tinyNodeOut: b64(await enhancer.enhance(tiny))
    }
  } finally {
    await enhancer.close()
  }
}

/** The adaptive fixture: the fitter and the adaptive enhancer on onnxruntime-node, 1 thread. */
async function adaptiveFixture (): Promise<AicBrowserFixture['adaptive']> {
  const { ref, low } = heldOutFrames(5, 400, 2)
  const fitter = await createAdaptiveFitter({ runtime: 'node', scale: 2, threads: 1 })
  const enhancer = await createEnhancer({ runtime: 'node', scale: 2, variant: 'fast', threads: 1, adaptive: true })
  try {
    for (let i = 0; i < 4; i++) await fitter.add(low[i]!, ref[i]!)
    const { bytes } = await fitter.update()
    const nodeShipped = b64(await enhancer.enhance(low[4]!))
    await enhancer.applyUpdate!(bytes)
    return { low: low.slice(0, 4).map(b64), original: ref.slice(0, 4).map(b64), update: Buffer.from(bytes).toString('base64'), next: b64(low[4]!), nodeShipped, nodeUpdated: b64(await enhancer.enhance(low[4]!)) }
  } finally {
    await fitter.close()
    await enhancer.close()
  }
}

export default async function setup (project: TestProject): Promise<void> {
  const { low } = heldOutFrames(11, 200)
  const frame = low[10]!
  const small = crop(frame, 140, 60, 40, 24)
  const enhancer = await createEnhancer({ runtime: 'node', scale: 2, threads: 1 })
  try {
    const out = await enhancer.enhance(frame)
    const smallOut = await enhancer.enhance(small)
    const ortDist = dirname(createRequire(import.meta.url).resolve('onnxruntime-web'))
    project.provide('aicCodec', await codecFixture())
    project.provide('aic', { low: b64(frame), nodeOut: b64(out), smallLow: b64(small), smallNodeOut: b64(smallOut), ortWasmPath: `/@fs${join(ortDist, 'ort-wasm-simd-threaded.wasm')}`, x1_5: await x1_5Fixture(), adaptive: await adaptiveFixture() })
  } finally {
    await enhancer.close()
  }
}
