import { encodeImageHeader } from '@auralink/protocol'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { CorruptStreamError, createImageCodec, imageCodecModels, InvalidStateError, ModelNotFoundError, parseCodecTables, StreamTooLargeError, TruncatedStreamError, UnsupportedModelVersionError } from '../../src/index.js'
import { fetchShippedModel, SHIPPED_MANIFEST, shippedModelUrl } from '../../src/model-files.browser.js'
import { webGpuAdapter } from '../../src/runtime.web.js'
import { fromB64Bytes, streamIndices } from './codec-stream.js'
import { difference, fromB64, nameOf } from './compare.js'
import type { BrowserImageCodec, CodecTables, Frame, WebGpuAdapterInfo } from '../../src/index.js'
import type { AicCodecCase } from './global-setup.js'

// Tool 2, the learned image codec, in Chromium on the models this package ships, against
// onnxruntime-node: test/browser/global-setup.ts codes cuts of a held-out still in Node (afresh on
// every run) and hands over Node's bytes, Node's decoded pixels and the table indices Node's
// integer hyper-synthesis picked. The indices and the y symbols must be the same bit for bit
// (integers only); the pixels may differ by one level where the float synthesis rounds a value
// near a rounding edge the other way (onnxruntime's x86 kernels against its WASM SIMD or WebGPU
// shaders).
const fixture = inject('aicCodec')
const skip = 'skip' in fixture ? fixture.skip : undefined
if (skip !== undefined) console.warn(`[aic] tool 2 browser tests skipped: ${skip}`)
const cases: AicCodecCase[] = 'skip' in fixture ? [] : fixture.wasm
const adapter: WebGpuAdapterInfo | undefined = await webGpuAdapter()

function agreesWithNode (out: Frame, c: AicCodecCase, what: string, maxShare: number): void {
  const nodeOut = fromB64(c.nodeOut)
  expect([out.width, out.height]).toEqual([nodeOut.width, nodeOut.height])
  const d = difference(out, nodeOut)
  console.log(`[aic] tool 2 ${what} decode of Node's bytes (level ${c.quality}, ${out.width}x${out.height}) vs Node's decode: max ${d.maxDiff} level(s), ${d.differing} of ${d.values} values differ (${(d.share * 100).toFixed(4)}%)`)
  expect(d.maxDiff).toBeLessThanOrEqual(1)
  expect(d.share).toBeLessThan(maxShare)
}

/** A bitstream with a header of our own making and `rest` after it. */
function withHeader (fields: { modelVersion: number, quality: number, width: number, height: number, hyperBytes: number }, rest: Uint8Array): Uint8Array {
  const h = encodeImageHeader(fields)
  const out = new Uint8Array(1 + h.length + rest.length)
  out[0] = h.length
  out.set(h, 1)
  out.set(rest, 1 + h.length)
  return out
}

describe.skipIf(skip !== undefined)('createImageCodec({ runtime: "wasm" }) in Chromium (tool 2; skipped without the Node fixture, see the warning)', () => {
  let codec: BrowserImageCodec
  let tables: CodecTables
  beforeAll(async () => {
    codec = await createImageCodec({ runtime: 'wasm', quality: cases[0]!.quality })
    const entry = imageCodecModels(SHIPPED_MANIFEST, 'models/manifest.json').tables
    const file = await fetchShippedModel(entry, String(shippedModelUrl(entry)))
    tables = parseCodecTables(file.bytes, file.file)
  })
  afterAll(async () => { await codec?.close() })

  it('info says what runs: onnxruntime-web\'s wasm provider and the shipped model\'s four files, checked against the built-in manifest', () => {
    if ('skip' in fixture) return
    expect(codec.info).toMatchObject({ runtime: 'wasm', executionProvider: 'wasm', quality: cases[0]!.quality, levels: fixture.levels, model: { version: fixture.version } })
    expect(codec.info.model.files.map((f) => f.replace(/^.*\/models\//, ''))).toEqual(['image-codec-analysis.onnx', 'image-codec-hyper-analysis.onnx', 'image-codec-synthesis.onnx', 'image-codec-tables.bin'])
    expect(codec.info.threads).toBeGreaterThanOrEqual(1)
    expect(codec.info.loadMs).toBeGreaterThan(0)
  })

  it('decode() of Node\'s bytes gives Node\'s pixels within 1 level per value, at two levels', async () => {
    expect(cases).toHaveLength(2)
    for (const c of cases) agreesWithNode(await codec.decode(fromB64Bytes(c.bytes)), c, `WASM (${codec.info.threads} thread(s))`, 0.01)
  })

  it('the integer hyper-synthesis picks, from Node\'s bytes, the table index Node picked for every y value, and the y symbols are Node\'s', () => {
    for (const c of cases) {
      const { index, ySymbols } = streamIndices(fromB64Bytes(c.bytes), tables)
      const nodeIndex = fromB64Bytes(c.index)
      const nodeY = new Uint32Array(fromB64Bytes(c.ySymbols).buffer)
      expect(index.length).toBe(nodeIndex.length)
      // a plain loop, not toEqual: the first differing position names itself
      let firstIndex = -1
      for (let i = 0; i < index.length && firstIndex < 0; i++) if (index[i] !== nodeIndex[i]) firstIndex = i
      let firstY = -1
      for (let i = 0; i < ySymbols.length && firstY < 0; i++) if (ySymbols[i] !== nodeY[i]) firstY = i
      expect(firstIndex, `level ${c.quality}: first differing table index`).toBe(-1)
      expect(ySymbols.length).toBe(nodeY.length)
      expect(firstY, `level ${c.quality}: first differing y symbol`).toBe(-1)
    }
  })

  it('encode() in WASM gives bits that decode to Node\'s picture within 1 level, and differ from Node\'s bits in few y symbols', async () => {
    const c = cases[0]!
    const bytes = await codec.encode(fromB64(c.image))
    const node = fromB64Bytes(c.bytes)
    const mine = streamIndices(bytes, tables)
    const theirs = new Uint32Array(fromB64Bytes(c.ySymbols).buffer)
    let differing = 0
    for (let i = 0; i < theirs.length; i++) if (mine.ySymbols[i] !== theirs[i]) differing++
    const same = bytes.length === node.length && bytes.every((b, i) => b === node[i])
    console.log(`[aic] tool 2 WASM encode (level ${c.quality}): ${bytes.length} bytes, Node's ${node.length}; ${same ? 'bit-identical' : 'not bit-identical'}; ${differing} of ${theirs.length} y symbols differ`)
    expect(mine.ySymbols.length).toBe(theirs.length)
    expect(differing / theirs.length).toBeLessThan(0.01)
    expect(Math.abs(bytes.length - node.length) / node.length).toBeLessThan(0.05)
    const out = await codec.decode(bytes)
    const d = difference(out, fromB64(c.nodeOut))
    console.log(`[aic] tool 2 WASM decode of WASM's own bytes vs Node's decode of Node's: max ${d.maxDiff} level(s), ${(d.share * 100).toFixed(4)}% of values differ`)
    if (same) expect(d.maxDiff).toBeLessThanOrEqual(1)
    else expect(d.share).toBeLessThan(0.05)
  })

  it('decode() rejects truncated, corrupted, oversized and other-version bytes with the typed errors Node throws', async () => {
    const bytes = fromB64Bytes(cases[0]!.bytes)
    const headerLength = bytes[0]!
    const err = async (b: Uint8Array): Promise<unknown> => codec.decode(b).then(() => undefined, (e: unknown) => e)
    expect(await err(new Uint8Array(0))).toBeInstanceOf(TruncatedStreamError)
    expect(await err(bytes.subarray(0, headerLength))).toBeInstanceOf(TruncatedStreamError) // ends inside the header
    for (const k of [1 + headerLength, 1 + headerLength + 3, Math.floor(bytes.length / 2), bytes.length - 1]) {
      expect(['TruncatedStreamError', 'CorruptStreamError'], `truncated to ${k} of ${bytes.length} bytes`).toContain(await nameOf(codec.decode(bytes.subarray(0, k))))
    }
    const zeroLength = bytes.slice()
    zeroLength[0] = 0
    expect(await err(zeroLength)).toBeInstanceOf(CorruptStreamError)
    const garbled = bytes.slice()
    for (let i = 1 + headerLength; i < 1 + headerLength + 8; i++) garbled[i] = garbled[i]! ^ 0x5a
    expect(['TruncatedStreamError', 'CorruptStreamError']).toContain(await nameOf(codec.decode(garbled)))
    const rest = bytes.subarray(1 + headerLength)
    const version = codec.info.model.version
    expect(await err(withHeader({ modelVersion: version, quality: 0, width: 5000, height: 8, hyperBytes: 0 }, rest))).toBeInstanceOf(StreamTooLargeError)
    const other = await err(withHeader({ modelVersion: version + 1, quality: 0, width: 8, height: 8, hyperBytes: 0 }, rest))
    expect(other).toBeInstanceOf(UnsupportedModelVersionError)
    expect((other as Error).name).toBe('UnsupportedModelVersionError')
    expect(await err(withHeader({ modelVersion: version, quality: 200, width: 8, height: 8, hyperBytes: 0 }, rest))).toBeInstanceOf(CorruptStreamError)
  })

  it('createImageCodec() refuses bad options with RangeError or TypeError naming the option', async () => {
    await expect(createImageCodec({ runtime: 'wasm', quality: 99 })).rejects.toThrow(RangeError)
    await expect(createImageCodec({ runtime: 'wasm', quality: 99 })).rejects.toThrow(/quality/)
    await expect(createImageCodec({ runtime: 'node' as 'wasm' })).rejects.toThrow(/runtime 'node' does not run here/)
    await expect(createImageCodec({ runtime: 'wasm', modelDir: '/models' } as Parameters<typeof createImageCodec>[0])).rejects.toThrow(/modelDir is for Node/)
    await expect(createImageCodec({ runtime: 'wasm', modelBaseUrl: '' })).rejects.toThrow(/modelBaseUrl/)
  })

  it('createImageCodec({ modelBaseUrl }) where the files are missing rejects with ModelNotFoundError naming the URL', async () => {
    const e = await createImageCodec({ runtime: 'wasm', modelBaseUrl: '/__aic__/' }).then(() => undefined, (x: unknown) => x)
    expect(e).toBeInstanceOf(ModelNotFoundError)
    expect((e as ModelNotFoundError).name).toBe('ModelNotFoundError')
    expect((e as ModelNotFoundError).file).toMatch(/^http:\/\/[^/]+\/__aic__\/image-codec-[a-z-]+\.(onnx|bin)$/)
    expect((e as Error).message).toContain((e as ModelNotFoundError).file)
  })

  it('close() is idempotent, and decode() after it throws InvalidStateError', async () => {
    const c = await createImageCodec({ runtime: 'wasm' })
    await c.close()
    await c.close()
    await expect(c.decode(fromB64Bytes(cases[0]!.bytes))).rejects.toBeInstanceOf(InvalidStateError)
    await expect(c.encode({ width: 8, height: 8, data: new Uint8Array(256) })).rejects.toBeInstanceOf(InvalidStateError)
  })
})

// SwiftShader (software Vulkan) is the only adapter here: one small picture
describe.skipIf(skip !== undefined || adapter === undefined)('createImageCodec({ runtime: "webgpu" }) on Chromium\'s WebGPU adapter (tool 2; skipped where there is none or without the Node fixture)', () => {
  let codec: BrowserImageCodec
  beforeAll(async () => { codec = await createImageCodec({ runtime: 'webgpu' }) })
  afterAll(async () => { await codec?.close() })

  it('decode() of Node\'s bytes of a 64x64 picture gives Node\'s pixels within 1 level per value', async () => {
    if ('skip' in fixture) return
    expect(codec.info).toMatchObject({ runtime: 'webgpu', executionProvider: 'webgpu', adapter: { vendor: adapter!.vendor } })
    agreesWithNode(await codec.decode(fromB64Bytes(fixture.small.bytes)), fixture.small, `WebGPU (${adapter!.architecture}${adapter!.isFallbackAdapter ? ', fallback adapter' : ''})`, 0.02)
  })
})

describe.skipIf(skip !== undefined)('createImageCodec({ runtime: "auto" }) (tool 2)', () => {
  it('picks webgpu for a hardware adapter and wasm where there is none or only a software one', async () => {
    const c = await createImageCodec()
    try {
      expect(c.info.runtime).toBe(adapter !== undefined && !adapter.isFallbackAdapter ? 'webgpu' : 'wasm')
      if (adapter !== undefined) expect(c.info.adapter).toEqual(adapter)
    } finally {
      await c.close()
    }
  })
})
