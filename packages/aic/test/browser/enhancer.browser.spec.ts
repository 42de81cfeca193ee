import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createEnhancer, ModelLoadError } from '../../src/index.js'
import { difference, fromB64 } from './compare.js'
import type { BrowserEnhancer, Frame } from '../../src/index.js'

// Real inference in Chromium on the model this package ships, against onnxruntime-node's output
// for the same held-out VP8 frame (test/browser/global-setup.ts). Float sums differ between
// onnxruntime's x86 kernels (Node) and its WASM SIMD kernels in the last bits: a value that
// lands near a rounding edge may go either way, by one level.
const fixture = inject('aic')
const low = fromB64(fixture.low)
const nodeOut = fromB64(fixture.nodeOut)

function agreesWithNode (out: Frame, what: string, reference: Frame = nodeOut): void {
  expect([out.width, out.height]).toEqual([reference.width, reference.height])
  const d = difference(out, reference)
  console.log(`[aic] ${what} vs Node at ${reference.width}x${reference.height}: max ${d.maxDiff} level(s), ${d.differing} of ${d.values} values differ (${(d.share * 100).toFixed(4)}%)`)
  expect(d.maxDiff).toBeLessThanOrEqual(1)
  expect(d.share).toBeLessThan(0.001)
}

/** RGBA to I420 planes, BT.709 limited range, chroma averaged over 2x2 pixels (even sizes). */
function toI420 (f: Frame): Uint8Array {
  const { width: w, height: h, data: d } = f
  const out = new Uint8Array(w * h * 3 / 2)
  const luma = (p: number): number => 0.2126 * d[p]! + 0.7152 * d[p + 1]! + 0.0722 * d[p + 2]!
  for (let i = 0; i < w * h; i++) out[i] = Math.round(16 + (219 / 255) * luma(i * 4))
  for (let y = 0; y < h / 2; y++) {
    for (let x = 0; x < w / 2; x++) {
      let cb = 0
      let cr = 0
      for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]] as const) {
        const p = ((2 * y + dy) * w + 2 * x + dx) * 4
        const yv = luma(p)
        cb += (d[p + 2]! - yv) / (2 * (1 - 0.0722))
        cr += (d[p]! - yv) / (2 * (1 - 0.2126))
      }
      out[w * h + y * (w / 2) + x] = Math.round(128 + (224 / 255) * cb / 4)
      out[w * h * 5 / 4 + y * (w / 2) + x] = Math.round(128 + (224 / 255) * cr / 4)
    }
  }
  return out
}

describe('createEnhancer({ runtime: "wasm", worker: false }) in Chromium', () => {
  let enhancer: BrowserEnhancer
  beforeAll(async () => { enhancer = await createEnhancer({ runtime: 'wasm', worker: false }) })
  afterAll(async () => { await enhancer?.close() })

  it('info says what runs: onnxruntime-web\'s wasm provider, in this thread, and the shipped model with its checksum', () => {
    expect(enhancer.info).toMatchObject({ runtime: 'wasm', executionProvider: 'wasm', worker: false, scale: 2, model: { name: 'enhancer-x2', version: 1 } })
    expect(enhancer.info.model.file).toMatch(/\/models\/enhancer-x2\.onnx$/)
    expect(enhancer.info.model.sha256).toMatch(/^[0-9a-f]{64}$/)
    expect(enhancer.info.threads).toBeGreaterThanOrEqual(1)
    expect(enhancer.info.loadMs).toBeGreaterThan(0)
  })

  it('enhance() of a held-out VP8 frame agrees with onnxruntime-node within 1 level per value', async () => {
    agreesWithNode(await enhancer.enhance(low), `WASM in the page (${enhancer.info.threads} thread(s))`)
  })

  it('enhance() takes ImageData and a VideoFrame (RGBA, and I420 converted by the browser) as well as a Frame', async () => {
    const image = new ImageData(new Uint8ClampedArray(low.data), low.width, low.height)
    expect(difference(await enhancer.enhance(image), nodeOut).maxDiff).toBeLessThanOrEqual(1)
    const rgba = new VideoFrame(new Uint8Array(low.data), { format: 'RGBA', codedWidth: low.width, codedHeight: low.height, timestamp: 0 })
    try {
      expect(difference(await enhancer.enhance(rgba), nodeOut).maxDiff).toBeLessThanOrEqual(1)
    } finally {
      rgba.close()
    }
    // a camera or a decoder gives YUV: the same pixels as I420 (BT.709, limited range), which the
    // browser converts back; chroma at a quarter of the pixels moves values, so only closeness is asked
    const i420Bytes = toI420(low)
    const i420 = new VideoFrame(i420Bytes, { format: 'I420', codedWidth: low.width, codedHeight: low.height, timestamp: 0, colorSpace: { matrix: 'bt709', primaries: 'bt709', transfer: 'bt709', fullRange: false } })
    try {
      const out = await enhancer.enhance(i420)
      expect([out.width, out.height]).toEqual([640, 360])
      let sum = 0
      for (let i = 0; i < out.data.length; i++) sum += Math.abs(out.data[i]! - nodeOut.data[i]!)
      console.log(`[aic] I420 VideoFrame: mean absolute difference from Node's output of the RGBA frame ${(sum / out.data.length).toFixed(3)} levels`)
      expect(sum / out.data.length).toBeLessThan(3)
    } finally {
      i420.close()
    }
    expect(image.data).toEqual(low.data) // the caller's bytes are not touched
  })

  it('enhance() refuses a frame whose data does not match its size, naming it, and honours an aborted signal', async () => {
    await expect(enhancer.enhance({ width: 10, height: 10, data: new Uint8Array(399) })).rejects.toThrow(/frame\.data has 399 bytes, expected 10 x 10 x 4 = 400 \(RGBA\)/)
    await expect(enhancer.enhance(null as unknown as Frame)).rejects.toThrow(TypeError)
    await expect(enhancer.enhance({ width: 8, height: 8, data: new Uint8Array(256) }, { signal: AbortSignal.abort() })).rejects.toThrow(/aborted/)
  })
})

describe('createEnhancer({ runtime: "wasm" }) in a dedicated worker (the default)', () => {
  let enhancer: BrowserEnhancer
  beforeAll(async () => { enhancer = await createEnhancer({ runtime: 'wasm', threads: 2 }) })
  afterAll(async () => { await enhancer?.close() })

  it('runs the session in a worker, with 2 threads where the page is cross-origin isolated', () => {
    expect(crossOriginIsolated).toBe(true) // vitest.browser.config.ts serves COOP and COEP
    expect(enhancer.info).toMatchObject({ runtime: 'wasm', executionProvider: 'wasm', worker: true, threads: 2 })
  })

  it('enhance() in the worker agrees with onnxruntime-node within 1 level, and leaves the caller\'s frame whole', async () => {
    const copy = new Uint8ClampedArray(low.data)
    agreesWithNode(await enhancer.enhance(copy === low.data ? low : { ...low, data: copy }), 'WASM in a worker (2 threads)')
    expect(copy.byteLength).toBe(low.data.byteLength) // copied for the worker, not transferred away
    expect(copy).toEqual(low.data)
  })

  it('enhance() calls made at once all resolve, each with its own frame', async () => {
    const a = { width: 16, height: 8, data: new Uint8Array(16 * 8 * 4).fill(40) }
    const b = { width: 8, height: 16, data: new Uint8Array(8 * 16 * 4).fill(200) }
    const [oa, ob, oc] = await Promise.all([enhancer.enhance(a), enhancer.enhance(b), enhancer.enhance(low)])
    expect([oa.width, oa.height, ob.width, ob.height]).toEqual([32, 16, 16, 32])
    expect(Math.abs(oa.data[0]! - 40)).toBeLessThan(4)
    expect(Math.abs(ob.data[0]! - 200)).toBeLessThan(4)
    expect(difference(oc, nodeOut).maxDiff).toBeLessThanOrEqual(1)
  })

  it('enhance() in the worker refuses a bad frame with the same typed error, and an aborted signal', async () => {
    await expect(enhancer.enhance({ width: 10, height: 10, data: new Uint8Array(399) })).rejects.toThrow(RangeError)
    const ac = new AbortController()
    const p = enhancer.enhance(low, { signal: ac.signal })
    ac.abort()
    await expect(p).rejects.toThrow(/aborted/)
    // the worker is still usable after an abort
    expect((await enhancer.enhance({ width: 4, height: 4, data: new Uint8Array(64) })).width).toBe(8)
  })

  it('wasmPaths says where onnxruntime-web\'s .wasm is served; a wrong one gives RuntimeUnavailableError', async () => {
    // each worker is a realm of its own, with its own onnxruntime-web settings
    const wasm = new URL(fixture.ortWasmPath, location.href).href
    const e = await createEnhancer({ runtime: 'wasm', wasmPaths: { wasm } })
    try {
      expect((await e.enhance({ width: 4, height: 4, data: new Uint8Array(64) })).width).toBe(8)
    } finally {
      await e.close()
    }
    await expect(createEnhancer({ runtime: 'wasm', wasmPaths: { wasm: new URL('/__aic__/missing.wasm', location.href).href } })).rejects.toMatchObject({ name: 'RuntimeUnavailableError' })
    await expect(createEnhancer({ runtime: 'wasm', wasmPaths: new URL('/__aic__/nowhere/', location.href).href })).rejects.toMatchObject({ name: 'RuntimeUnavailableError', message: expect.stringContaining('could not start its wasm execution provider') })
  })

  it('close() is idempotent and enhance() after it throws InvalidStateError', async () => {
    const e = await createEnhancer({ runtime: 'wasm' })
    await e.close()
    await e.close()
    await expect(e.enhance({ width: 4, height: 4, data: new Uint8Array(64) })).rejects.toMatchObject({ name: 'InvalidStateError' })
  })
})

// Tool 1 at 1.5x: the shipped enhancer-x1.5 (426x240 in, 639x360 out), in the page and in the worker
describe('createEnhancer({ runtime: "wasm", scale: 1.5 }) in Chromium', () => {
  const low15 = fromB64(fixture.x1_5.low)
  const nodeOut15 = fromB64(fixture.x1_5.nodeOut)

  it('picks the shipped enhancer-x1.5 model; enhance() of a held-out 426x240 VP8 frame agrees with onnxruntime-node within 1 level, in the page', async () => {
    const e = await createEnhancer({ runtime: 'wasm', worker: false, scale: 1.5 })
    try {
      expect(e.info).toMatchObject({ runtime: 'wasm', scale: 1.5, model: { name: 'enhancer-x1.5' } })
      expect(e.info.model.file).toMatch(/\/models\/enhancer-x1\.5\.onnx$/)
      agreesWithNode(await e.enhance(low15), `1.5x WASM in the page (${e.info.threads} thread(s))`, nodeOut15)
    } finally {
      await e.close()
    }
  })

  it('in the worker: agrees with onnxruntime-node within 1 level, and refuses an odd frame size with a RangeError naming it', async () => {
    const e = await createEnhancer({ runtime: 'wasm', scale: 1.5, threads: 2 })
    try {
      expect(e.info).toMatchObject({ worker: true, scale: 1.5, model: { name: 'enhancer-x1.5' } })
      agreesWithNode(await e.enhance(low15), '1.5x WASM in a worker (2 threads)', nodeOut15)
      agreesWithNode(await e.enhance(fromB64(fixture.x1_5.smallLow)), '1.5x WASM in a worker, 40x24 crop', fromB64(fixture.x1_5.smallNodeOut))
      await expect(e.enhance({ width: 37, height: 24, data: new Uint8Array(37 * 24 * 4) })).rejects.toThrow(/multiples of 2 at scale 1\.5 .*got 37x24/)
      // the worker is still usable after the refusal
      expect((await e.enhance({ width: 4, height: 4, data: new Uint8Array(64) })).width).toBe(6)
    } finally {
      await e.close()
    }
  })
})

describe('createEnhancer() model errors in Chromium', () => {
  const url = (path: string): string => new URL(path, location.href).href

  it('a missing model gives ModelNotFoundError naming the URL', async () => {
    const missing = url('/__aic__/missing.onnx')
    await expect(createEnhancer({ runtime: 'wasm', worker: false, modelUrl: missing })).rejects.toMatchObject({ name: 'ModelNotFoundError', file: missing, message: expect.stringContaining(missing) })
  })

  it('a truncated model, or a server error, gives ModelLoadError naming the URL', async () => {
    const truncated = url('/__aic__/truncated.onnx')
    await expect(createEnhancer({ runtime: 'wasm', modelUrl: truncated })).rejects.toMatchObject({ name: 'ModelLoadError', file: truncated, message: expect.stringMatching(/truncated\.onnx cannot be loaded: 5000 bytes, the manifest says 90005/) })
    const failing = url('/__aic__/server-error.onnx')
    await expect(createEnhancer({ runtime: 'wasm', modelUrl: failing })).rejects.toMatchObject({ name: 'ModelLoadError', file: failing, message: expect.stringContaining('503') })
  })

  it('a model of the right size with one byte altered fails its SHA-256 check (ModelLoadError naming the URL)', async () => {
    const bytes = new Uint8Array(await (await fetch(url('/models/enhancer-x2.onnx'))).arrayBuffer())
    bytes[bytes.length - 10] = bytes[bytes.length - 10]! ^ 0xff
    const altered = URL.createObjectURL(new Blob([bytes]))
    try {
      await expect(createEnhancer({ runtime: 'wasm', modelUrl: altered })).rejects.toMatchObject({ name: 'ModelLoadError', file: altered, message: expect.stringMatching(/SHA-256 [0-9a-f]{64} differs from the manifest's/) })
    } finally {
      URL.revokeObjectURL(altered)
    }
  })

  it('modelBytes that onnxruntime-web cannot parse give ModelLoadError, in the page and from the worker', async () => {
    const junk = new Uint8Array(5000).map((_, i) => (i * 31) % 256)
    await expect(createEnhancer({ runtime: 'wasm', worker: false, modelBytes: junk })).rejects.toMatchObject({ name: 'ModelLoadError', file: 'modelBytes' })
    await expect(createEnhancer({ runtime: 'wasm', worker: true, modelBytes: junk })).rejects.toMatchObject({ name: 'ModelLoadError', file: 'modelBytes', message: expect.stringContaining('onnxruntime-web (wasm) refused it') })
    // the worker's error crosses postMessage as its code and comes back as the very class
    await expect(createEnhancer({ runtime: 'wasm', worker: true, modelBytes: junk })).rejects.toBeInstanceOf(ModelLoadError)
    await expect(createEnhancer({ runtime: 'wasm', worker: true, modelBytes: junk })).rejects.toMatchObject({ code: 'ERR_MODEL_LOAD' })
  })

  it('createEnhancer() refuses bad options, naming them', async () => {
    await expect(createEnhancer({ runtime: 'node' })).rejects.toThrow(/runtime 'node' does not run here/)
    await expect(createEnhancer({ scale: 3 })).rejects.toThrow(/scale must be one of the shipped enhancer scales \(1\.5, 2\), got 3/)
    await expect(createEnhancer({ scale: 1.75 })).rejects.toThrow(/scale must be one of the shipped enhancer scales \(1\.5, 2\), got 1\.75/)
    await expect(createEnhancer({ modelPath: '/x.onnx' } as never)).rejects.toThrow(/modelPath is for Node/)
    await expect(createEnhancer({ modelUrl: 42 } as never)).rejects.toThrow(/modelUrl must be a URL or a non-empty string, got 42/)
    await expect(createEnhancer({ worker: 'yes' } as never)).rejects.toThrow(/worker must be a boolean/)
    await expect(createEnhancer({ threads: 0 })).rejects.toThrow(/threads must be a whole number from 1 to 64, got 0/)
    await expect(createEnhancer({}, { signal: AbortSignal.abort() })).rejects.toThrow(/aborted/)
  })
})
