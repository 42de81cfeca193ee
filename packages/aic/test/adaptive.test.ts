import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import * as ort from 'onnxruntime-node'
import { frameToTensor, lumaOf, makeWeightUpdate, mse, pixelUnshuffle, readWeightUpdate, TailFitter, tensorToFrame } from '../src/index.node.js'
import { heldOutFrames } from '../../../test-utils/aic-video.js'
import type { Frame, TailGeometry } from '../src/index.node.js'

// Tool 1's adaptive mode on the real models (issue 20): the adaptive exports of the shipped fast
// enhancers (training/export_adaptive.py) run on onnxruntime-node; the sender's ridge refit
// (TailFitter) on frames of the held-out clip, its WeightUpdate, and the receiver's result.

const MODELS = resolve(import.meta.dirname, '../models')
interface Adaptive { file: string, tail: TailGeometry & { file: string, shuffle: number } }
const manifest = JSON.parse(readFileSync(resolve(MODELS, 'manifest.json'), 'utf8')) as { models: Array<{ name: string, file: string, scale: number, version: number, adaptive?: Adaptive }> }
const entry = (name: string): { file: string, scale: number, version: number, adaptive: Adaptive } => {
  const e = manifest.models.find((m) => m.name === name)
  if (e?.adaptive === undefined) throw new Error(`${name} has no adaptive export in the manifest`)
  return e as { file: string, scale: number, version: number, adaptive: Adaptive }
}
const session = async (file: string): Promise<ort.InferenceSession> => ort.InferenceSession.create(readFileSync(resolve(MODELS, file)), { intraOpNumThreads: 1 })
function shippedTail (a: Adaptive): { weight: Float32Array, bias: Float32Array } {
  const raw = readFileSync(resolve(MODELS, a.tail.file))
  const all = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength))
  const nw = a.tail.outChannels * a.tail.channels * a.tail.kernel ** 2
  expect(all.length).toBe(nw + a.tail.outChannels)
  return { weight: all.slice(0, nw), bias: all.slice(nw) }
}
const tensors = (a: Adaptive, low: Float32Array, h: number, w: number, tail: { weight: Float32Array, bias: Float32Array }): Record<string, ort.Tensor> => ({
  low: new ort.Tensor('float32', low, [1, 3, h, w]),
  tail_weight: new ort.Tensor('float32', tail.weight, [a.tail.outChannels, a.tail.channels, a.tail.kernel, a.tail.kernel]),
  tail_bias: new ort.Tensor('float32', tail.bias, [a.tail.outChannels])
})
const lumaPsnr = (frames: Frame[], refs: Frame[]): number => {
  const m = frames.reduce((s, f, i) => s + mse(lumaOf({ ...f, channels: 4 }), lumaOf({ ...refs[i]!, channels: 4 })), 0) / frames.length
  return 10 * Math.log10(255 * 255 / m)
}

describe('adaptive exports of the shipped fast enhancers', () => {
  for (const name of ['enhancer-x2-fast', 'enhancer-x1.5-fast']) {
    it(`${name}: with the shipped tail as inputs it computes what the shipped model does; features and base have the tail's shapes`, async () => {
      const e = entry(name)
      const [shipped, adaptive] = await Promise.all([session(e.file), session(e.adaptive.file)])
      const h = 36
      const w = 64
      const low = Float32Array.from({ length: 3 * h * w }, (_, i) => (Math.sin(i * 0.37) + 1) / 2)
      const want = (await shipped.run({ low: new ort.Tensor('float32', low, [1, 3, h, w]) })).restored!.data as Float32Array
      const got = await adaptive.run(tensors(e.adaptive, low, h, w, shippedTail(e.adaptive)))
      const restored = got.restored!.data as Float32Array
      expect(restored.length).toBe(want.length)
      expect(restored.reduce((m, v, i) => Math.max(m, Math.abs(v - want[i]!)), 0)).toBeLessThan(1e-5)
      expect(got.features!.dims).toEqual([1, e.adaptive.tail.channels, h, w])
      const blocks = e.adaptive.tail.stride === 1 ? [h, w] : [h / 2, w / 2]
      expect(got.base!.dims).toEqual([1, e.adaptive.tail.outChannels, ...blocks])
    })
  }
})

describe('the sender refits the 2x tail on its own frames, the receiver runs what it sent', () => {
  it('held-out clip at 400 kbit/s: a refit on frames 0-29 raises luma PSNR on frames 30-59 over the shipped tail, and the int8 WeightUpdate (about 1 KB) keeps the gain', async () => {
    const e = entry('enhancer-x2-fast')
    const a = e.adaptive
    const adaptive = await session(a.file)
    const shipped = shippedTail(a)
    const { ref, low } = heldOutFrames(60, 400, 2)
    const [w, h] = [low[0]!.width, low[0]!.height]
    const fitter = new TailFitter(a.tail, shipped, { samplesPerFrame: 4096 })
    for (let i = 0; i < 30; i++) {
      const out = await adaptive.run(tensors(a, frameToTensor(low[i]!), h, w, shipped))
      fitter.add({
        features: out.features!.data as Float32Array, height: h, width: w,
        base: out.base!.data as Float32Array,
        target: pixelUnshuffle(frameToTensor(ref[i]!), ref[i]!.height, ref[i]!.width, a.tail.shuffle, h, w)
      })
    }
    const fitted = fitter.solve()
    const { bytes } = makeWeightUpdate({ modelVersion: e.version, scaleX100: 200, sequence: 1, tensors: [
      { name: 'tail_weight', shape: [a.tail.outChannels, a.tail.channels, a.tail.kernel, a.tail.kernel], values: fitted.weight },
      { name: 'tail_bias', shape: [a.tail.outChannels], values: fitted.bias }
    ] })
    const received = readWeightUpdate(bytes, { modelVersion: e.version, scaleX100: 200, shapes: new Map([['tail_weight', [a.tail.outChannels, a.tail.channels, a.tail.kernel, a.tail.kernel]], ['tail_bias', [a.tail.outChannels]]]) })
    const sent = { weight: received.tensors.get('tail_weight')!, bias: received.tensors.get('tail_bias')! }
    const restore = async (tail: { weight: Float32Array, bias: Float32Array }): Promise<Frame[]> => {
      const frames: Frame[] = []
      for (let i = 30; i < 60; i++) frames.push(tensorToFrame((await adaptive.run(tensors(a, frameToTensor(low[i]!), h, w, tail))).restored!.data as Float32Array, ref[i]!.width, ref[i]!.height))
      return frames
    }
    const refs = ref.slice(30, 60)
    const before = lumaPsnr(await restore(shipped), refs)
    const after = lumaPsnr(await restore(fitted), refs)
    const afterSent = lumaPsnr(await restore(sent), refs)
    console.log(`adaptive 2x, held-out 400 kbit/s, frames 30-59: shipped ${before.toFixed(3)} dB, refit ${after.toFixed(3)} dB, refit as sent (int8, ${bytes.byteLength} bytes) ${afterSent.toFixed(3)} dB`)
    expect(bytes.byteLength).toBeLessThan(1100)
    // adapt_probe.py measured +0.49 dB on this clip and rate with 60 fit frames
    expect(after - before).toBeGreaterThan(0.2)
    expect(Math.abs(afterSent - after)).toBeLessThan(0.05)
  }, 120_000)
})

describe('createEnhancer({ adaptive: true }) in Node: the receiver applies the sender\'s updates', () => {
  it('restores as the shipped fast model until an update comes; a newer update changes the output from the next frame, an older one is not applied, a bad one throws naming the field', async () => {
    const { createEnhancer } = await import('../src/index.node.js')
    const plain = await createEnhancer({ runtime: 'node', scale: 2, variant: 'fast', threads: 1 })
    const adaptive = await createEnhancer({ runtime: 'node', scale: 2, variant: 'fast', threads: 1, adaptive: true })
    try {
      expect(adaptive.info.adaptive).toBe(true)
      expect(adaptive.info.model.name).toBe('enhancer-x2-fast-adaptive')
      const e = entry('enhancer-x2-fast')
      const frame = { width: 64, height: 36, data: Uint8Array.from({ length: 64 * 36 * 4 }, (_, i) => (i * 37) % 251) }
      const before = await adaptive.enhance(frame)
      expect(Buffer.from(before.data).equals(Buffer.from((await plain.enhance(frame)).data))).toBe(true)
      const shipped = shippedTail(e.adaptive)
      const shapes = { weight: [e.adaptive.tail.outChannels, e.adaptive.tail.channels, 3, 3], bias: [e.adaptive.tail.outChannels] }
      const update = (sequence: number, gain: number): Uint8Array => makeWeightUpdate({ modelVersion: e.version, scaleX100: 200, sequence, tensors: [
        { name: 'tail_weight', shape: shapes.weight, values: shipped.weight.map((v) => v * gain) },
        { name: 'tail_bias', shape: shapes.bias, values: shipped.bias }
      ] }).bytes
      expect(await adaptive.applyUpdate!(update(2, 3))).toEqual({ applied: true, sequence: 2 })
      const after = await adaptive.enhance(frame)
      expect(Buffer.from(after.data).equals(Buffer.from(before.data))).toBe(false)
      expect(await adaptive.applyUpdate!(update(1, 0))).toMatchObject({ applied: false, sequence: 2 })
      expect(Buffer.from((await adaptive.enhance(frame)).data).equals(Buffer.from(after.data))).toBe(true)
      // the shipped weights sent as an update: back to the shipped output (a "revert")
      expect(await adaptive.applyUpdate!(update(3, 1))).toEqual({ applied: true, sequence: 3 })
      const reverted = await adaptive.enhance(frame)
      expect(Array.from(reverted.data).reduce((m, v, i) => Math.max(m, Math.abs(v - before.data[i]!)), 0)).toBeLessThanOrEqual(1)
      const other = makeWeightUpdate({ modelVersion: e.version + 1, scaleX100: 200, sequence: 9, tensors: [{ name: 'tail_bias', shape: shapes.bias, values: shipped.bias }] }).bytes
      await expect(adaptive.applyUpdate!(other)).rejects.toMatchObject({ name: 'MalformedMessageError', message: expect.stringContaining('WeightUpdate.model_version') })
      await expect(plain.applyUpdate!(update(4, 1))).rejects.toMatchObject({ name: 'InvalidStateError' })
      await expect(createEnhancer({ runtime: 'node', scale: 2, adaptive: true })).rejects.toThrow(/enhancer-x2 has no adaptive export/)
    } finally {
      await plain.close()
      await adaptive.close()
    }
    await expect(adaptive.applyUpdate!(new Uint8Array(0))).rejects.toMatchObject({ name: 'InvalidStateError' })
  })
})

describe('createAdaptiveFitter() in Node: the sender\'s fitter, the receiver\'s adaptive enhancer', () => {
  it('fitted on frames 0-29 of the held-out clip, its first update raises the receiver\'s PSNR on frames 30-59; sizes that do not go together and an update with no frames are refused', async () => {
    const { createAdaptiveFitter, createEnhancer } = await import('../src/index.node.js')
    const { ref, low } = heldOutFrames(60, 400, 2)
    const fitter = await createAdaptiveFitter({ runtime: 'node', scale: 2, threads: 1 })
    const receiver = await createEnhancer({ runtime: 'node', scale: 2, variant: 'fast', threads: 1, adaptive: true })
    try {
      expect(fitter.info).toMatchObject({ runtime: 'node', executionProvider: 'cpu', scale: 2, model: { name: 'enhancer-x2-fast-adaptive' } })
      await expect(fitter.update()).rejects.toMatchObject({ name: 'InvalidStateError', message: expect.stringContaining('no frames added') })
      await expect(fitter.add(low[0]!, low[0]!)).rejects.toThrow(/original must be 640x360 .* got 320x180/)
      for (let i = 0; i < 30; i++) expect((await fitter.add(low[i]!, ref[i]!)).frames).toBe(i + 1)
      const u = await fitter.update()
      expect(u).toMatchObject({ sequence: 1, frames: 30 })
      expect(u.bytes.byteLength).toBeLessThan(1100)
      const restore = async (): Promise<Frame[]> => Promise.all(low.slice(30, 60).map(async (f) => receiver.enhance(f)))
      const before = lumaPsnr(await restore(), ref.slice(30, 60))
      expect(await receiver.applyUpdate!(u.bytes)).toEqual({ applied: true, sequence: 1 })
      const after = lumaPsnr(await restore(), ref.slice(30, 60))
      console.log(`createAdaptiveFitter 2x, held-out 400 kbit/s, frames 30-59: shipped ${before.toFixed(3)} dB, after update 1 ${after.toFixed(3)} dB (${u.bytes.byteLength} bytes, solve ${u.ms.toFixed(1)} ms)`)
      expect(after - before).toBeGreaterThan(0.2)
      expect(u.heldOutGainDb).toBeUndefined()
      // the next window starts empty; its update says what update 1 did for its frames, which
      // update 1 was not fitted on: the sender's own measure of the receiver's gain
      await expect(fitter.update()).rejects.toMatchObject({ name: 'InvalidStateError' })
      for (let i = 30; i < 60; i++) await fitter.add(low[i]!, ref[i]!)
      const u2 = await fitter.update()
      console.log(`update 1 on frames 30-59, as the sender measures it on its sampled blocks: ${u2.heldOutGainDb?.toFixed(3)} dB over the shipped tail (the receiver's luma PSNR: ${(after - before).toFixed(3)} dB)`)
      expect(u2.sequence).toBe(2)
      expect(u2.heldOutGainDb).toBeGreaterThan(0.2)
    } finally {
      await fitter.close()
      await receiver.close()
    }
    await expect(fitter.add(low[0]!, ref[0]!)).rejects.toMatchObject({ name: 'InvalidStateError' })
  }, 120_000)
})
