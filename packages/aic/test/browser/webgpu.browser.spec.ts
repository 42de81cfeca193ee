import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createEnhancer } from '../../src/index.js'
import { webGpuAdapter } from '../../src/runtime.web.js'
import { difference, fromB64 } from './compare.js'
import type { BrowserEnhancer, WebGpuAdapterInfo } from '../../src/index.js'

// WebGPU on whatever adapter Chromium offers: here only SwiftShader (software Vulkan, given by
// --enable-unsafe-webgpu), about 200 times slower than WASM, so a small frame only: a 40x24 crop
// of the held-out VP8 frame, against onnxruntime-node's output for the same crop.
const fixture = inject('aic')
const small = fromB64(fixture.smallLow)
const smallNodeOut = fromB64(fixture.smallNodeOut)
const adapter: WebGpuAdapterInfo | undefined = await webGpuAdapter()
if (adapter === undefined) console.warn('[aic] WebGPU tests skipped: this Chromium offers no WebGPU adapter (navigator.gpu missing or requestAdapter() gave null; is --enable-unsafe-webgpu set?)')

// one session, in the worker (the default): SwiftShader compiles its shaders for many seconds
describe.skipIf(adapter === undefined)('createEnhancer({ runtime: "webgpu" }) on Chromium\'s WebGPU adapter (skipped where there is none)', () => {
  let enhancer: BrowserEnhancer
  beforeAll(async () => { enhancer = await createEnhancer({ runtime: 'webgpu' }) })
  afterAll(async () => { await enhancer?.close() })

  it('info says webgpu ran, in the worker, and names the adapter', () => {
    expect(enhancer.info).toMatchObject({ runtime: 'webgpu', executionProvider: 'webgpu', worker: true, adapter: { vendor: adapter!.vendor, architecture: adapter!.architecture } })
  })

  it('enhance() of a small held-out frame agrees with onnxruntime-node within 1 level per value', async () => {
    const out = await enhancer.enhance(small)
    expect([out.width, out.height]).toEqual([80, 48])
    const d = difference(out, smallNodeOut)
    console.log(`[aic] WebGPU (${adapter!.architecture}${adapter!.isFallbackAdapter ? ', fallback adapter' : ''}) vs Node at 80x48: max ${d.maxDiff} level(s), ${d.differing} of ${d.values} values differ (${(d.share * 100).toFixed(4)}%)`)
    expect(d.maxDiff).toBeLessThanOrEqual(1)
    expect(d.share).toBeLessThan(0.01)
  })

  it('at scale 1.5: enhance() of a tiny held-out frame (20x12) agrees with onnxruntime-node within 1 level per value', async () => {
    const e = await createEnhancer({ runtime: 'webgpu', scale: 1.5 })
    try {
      expect(e.info).toMatchObject({ runtime: 'webgpu', scale: 1.5, model: { name: 'enhancer-x1.5' } })
      const out = await e.enhance(fromB64(fixture.x1_5.tinyLow))
      expect([out.width, out.height]).toEqual([30, 18])
      const d = difference(out, fromB64(fixture.x1_5.tinyNodeOut))
      console.log(`[aic] WebGPU 1.5x vs Node at 30x18: max ${d.maxDiff} level(s), ${d.differing} of ${d.values} values differ (${(d.share * 100).toFixed(4)}%)`)
      expect(d.maxDiff).toBeLessThanOrEqual(1)
      expect(d.share).toBeLessThan(0.01)
    } finally {
      await e.close()
    }
  })
})

describe('createEnhancer({ runtime: "auto" })', () => {
  it('picks webgpu for a hardware adapter and wasm where there is none or only a software (fallback) one, and says which it saw', async () => {
    const e = await createEnhancer({ worker: false })
    try {
      const expected = adapter !== undefined && !adapter.isFallbackAdapter ? 'webgpu' : 'wasm'
      expect(e.info.runtime).toBe(expected)
      expect(e.info.executionProvider).toBe(expected)
      if (adapter !== undefined) expect(e.info.adapter).toEqual(adapter)
      expect((await e.enhance({ width: 4, height: 4, data: new Uint8Array(64) })).width).toBe(8)
    } finally {
      await e.close()
    }
  })
})
