import { describe, expect, inject, it } from 'vitest'
import { createAdaptiveFitter, createEnhancer, readWeightUpdate } from '../../src/index.js'
import { difference, fromB64 } from './compare.js'
import type { Frame } from '../../src/index.js'

// Tool 1's adaptive mode in Chromium (onnxruntime-web WASM, in the worker and in the page): the
// receiver's adaptive enhancer applies an update and agrees with onnxruntime-node's output for
// the same update (test/browser/global-setup.ts), and the sender's fitter, given the same frame
// pairs as Node's, makes an update whose weights agree with Node's.
const fixture = inject('aic').adaptive
const bytesOf = (b64: string): Uint8Array => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))
const nodeUpdate = bytesOf(fixture.update)
const next = fromB64(fixture.next)

function agrees (out: Frame, reference: Frame, what: string): void {
  const d = difference(out, reference)
  console.log(`[aic] ${what} vs Node: max ${d.maxDiff} level(s), ${d.differing} of ${d.values} values differ`)
  expect([out.width, out.height]).toEqual([reference.width, reference.height])
  expect(d.maxDiff).toBeLessThanOrEqual(1)
  expect(d.share).toBeLessThan(0.001)
}

describe('adaptive enhancer in Chromium: applyUpdate() runs what Node runs', () => {
  for (const worker of [true, false]) {
    it(`createEnhancer({ runtime: 'wasm', variant: 'fast', adaptive: true, worker: ${String(worker)} }): the shipped output, then Node's after the update; an older update is not applied, a damaged one is refused naming the field`, async () => {
      const enhancer = await createEnhancer({ runtime: 'wasm', variant: 'fast', adaptive: true, worker })
      try {
        expect(enhancer.info).toMatchObject({ runtime: 'wasm', adaptive: true, worker, model: { name: 'enhancer-x2-fast-adaptive' } })
        agrees(await enhancer.enhance(next), fromB64(fixture.nodeShipped), 'shipped tail')
        expect(await enhancer.applyUpdate!(nodeUpdate)).toEqual({ applied: true, sequence: 1 })
        agrees(await enhancer.enhance(next), fromB64(fixture.nodeUpdated), 'after the update')
        expect(await enhancer.applyUpdate!(nodeUpdate)).toMatchObject({ applied: false, sequence: 1 })
        const damaged = nodeUpdate.slice()
        damaged[damaged.length - 1]! ^= 0xff
        await expect(enhancer.applyUpdate!(damaged)).rejects.toMatchObject({ name: 'MalformedMessageError', message: expect.stringContaining('WeightUpdate.') })
      } finally {
        await enhancer.close()
      }
      await expect(enhancer.applyUpdate!(nodeUpdate)).rejects.toMatchObject({ name: 'InvalidStateError' })
    })
  }
})

describe('createAdaptiveFitter({ runtime: \'wasm\' }) in Chromium: the sender\'s fitter agrees with Node\'s', () => {
  it('the same four frame pairs give an update whose weights are Node\'s within one quantisation step', async () => {
    const fitter = await createAdaptiveFitter({ runtime: 'wasm', scale: 2 })
    try {
      expect(fitter.info).toMatchObject({ runtime: 'wasm', executionProvider: 'wasm', scale: 2 })
      for (let i = 0; i < 4; i++) {
        // the original as a VideoFrame, as the SDK's sender gives it
        const o = fromB64(fixture.original[i]!)
        const vf = new VideoFrame(new Uint8Array(o.data), { format: 'RGBA', codedWidth: o.width, codedHeight: o.height, timestamp: i })
        try {
          expect((await fitter.add(fromB64(fixture.low[i]!), vf)).frames).toBe(i + 1)
        } finally {
          vf.close()
        }
      }
      const u = await fitter.update()
      expect(u).toMatchObject({ sequence: 1, frames: 4 })
      // int8 per output channel (its largest magnitude / 127 a step): float sums that differ in the
      // last bits between WASM and x86 may round a weight the other way, by one step
      const target = { modelVersion: 1, scaleX100: 200 as const, shapes: new Map([['tail_weight', [12, 8, 3, 3]], ['tail_bias', [12]]]) }
      const mine = readWeightUpdate(u.bytes, target).tensors
      const node = readWeightUpdate(nodeUpdate, target).tensors
      for (const [name, per] of [['tail_weight', 72], ['tail_bias', 1]] as const) {
        const a = mine.get(name)!
        const b = node.get(name)!
        expect(a.length).toBe(b.length)
        let worst = 0
        for (let o = 0; o < a.length / per; o++) {
          let step = 0
          for (let i = o * per; i < (o + 1) * per; i++) step = Math.max(step, Math.abs(b[i]!) / 127)
          for (let i = o * per; i < (o + 1) * per; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / (step * 1.01 + 1e-12))
        }
        console.log(`[aic] fitter ${name}: the largest difference from Node's is ${worst.toFixed(3)} quantisation step(s)`)
        expect(worst).toBeLessThanOrEqual(1)
      }
      // and the page's update does what Node's does on the next frame
      const receiver = await createEnhancer({ runtime: 'wasm', variant: 'fast', adaptive: true, worker: false })
      try {
        await receiver.applyUpdate!(u.bytes)
        const d = difference(await receiver.enhance(next), fromB64(fixture.nodeUpdated))
        console.log(`[aic] the page's update vs Node's, next frame: max ${d.maxDiff} level(s), ${(d.share * 100).toFixed(3)}% of values differ`)
        expect(d.maxDiff).toBeLessThanOrEqual(3)
      } finally {
        await receiver.close()
      }
    } finally {
      await fitter.close()
    }
  })
})
