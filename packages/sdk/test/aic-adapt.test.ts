import { encodeSignalMessage, decodeSignalMessage } from '@auralink/protocol'
import { createAdaptiveFitter, createEnhancer } from '@auralink/aic'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AdaptiveReceiver } from '../src/aic-adapt.js'
import type { AdaptiveEnhancerLike } from '../src/aic-runtime.js'
import type { AicScale } from '../src/aic-wire.js'

// The receiver's half of tool 1's adaptive mode against a peer that sends what it likes: the
// AicWeightUpdate's bytes go through the real adaptive enhancer of @auralink/aic (onnxruntime-node;
// in a call it is onnxruntime-web in a worker, which test/browser checks agrees with Node). Good
// updates from the real fitter are applied and put to use; every bad one is refused and counted,
// and the call's enhancer keeps the weights it had.

const frame = (w: number, h: number, seed: number): { width: number, height: number, data: Uint8Array } =>
  ({ width: w, height: h, data: Uint8Array.from({ length: w * h * 4 }, (_, i) => (i * seed + (i >> 7)) % 251) })

describe('AdaptiveReceiver: the peer\'s weight updates', () => {
  const made: AdaptiveEnhancerLike[] = []
  const updates: Uint8Array[] = []

  beforeAll(async () => {
    // two real updates (sequence 1 and 2) from the sender's fitter on synthetic frame pairs
    const fitter = await createAdaptiveFitter({ runtime: 'node', scale: 2, threads: 1, samplesPerFrame: 512 })
    try {
      for (const seq of [1, 2]) {
        for (let i = 0; i < 3; i++) await fitter.add(frame(32, 18, 7 + i + seq), frame(64, 36, 11 + i + seq))
        updates.push((await fitter.update()).bytes)
      }
    } finally {
      await fitter.close()
    }
  })
  afterAll(async () => { await Promise.all(made.map(async (e) => e.close())) })

  function receiver (): { r: AdaptiveReceiver, used: AicScale[], changes: () => number, settle: () => Promise<void> } {
    const used: AicScale[] = []
    let changes = 0
    let pending: Promise<unknown> = Promise.resolve()
    const r = new AdaptiveReceiver({
      scales: [2, 1.5],
      createEnhancer: async (scale) => {
        // Node's enhancer takes RGBA frames where a call's takes VideoFrames: only applyUpdate() runs here
        const p = createEnhancer({ runtime: 'node', scale, variant: 'fast', threads: 1, adaptive: true }) as unknown as Promise<AdaptiveEnhancerLike>
        pending = p
        const e = await p
        made.push(e)
        return e
      },
      use: (scale) => { used.push(scale) },
      changed: () => { changes++ },
      log: Object.assign(() => {}, { enabled: false, error: () => {}, trace: () => {}, newScope: () => { throw new Error('unused') } }) as never
    })
    // updates are applied one after another in the background: wait until the counters move
    const settle = async (): Promise<void> => {
      await pending
      for (let i = 0; i < 200 && JSON.stringify(r.stats) === last; i++) await new Promise((resolve) => setTimeout(resolve, 10))
      last = JSON.stringify(r.stats)
    }
    let last = JSON.stringify(r.stats)
    return { r, used, changes: () => changes, settle }
  }

  it('applies real updates in order and puts the call\'s enhancer to use; an old one is not applied', async () => {
    const { r, used, settle } = receiver()
    r.onUpdate(updates[0]!)
    await settle()
    expect(r.stats).toEqual({ updatesApplied: 1, updatesRefused: 0, sequence: 1 })
    expect(used).toEqual([2])
    r.onUpdate(updates[1]!)
    await settle()
    expect(r.stats).toMatchObject({ updatesApplied: 2, sequence: 2 })
    r.onUpdate(updates[0]!)
    await settle()
    expect(r.stats).toMatchObject({ updatesApplied: 2, updatesRefused: 1, sequence: 2, lastError: expect.stringContaining('not newer') })
    r.stop()
  })

  it('refuses what a hostile peer sends, naming why, and keeps the weights in force', async () => {
    const { r, used, settle } = receiver()
    r.onUpdate(updates[0]!)
    await settle()
    // copies made with Uint8Array.from: in Node the fitter's bytes may be a Buffer, whose slice() is a view
    const cases: Array<[string, Uint8Array, RegExp]> = [
      ['empty', new Uint8Array(0), /scale_x100|WeightUpdate/],
      ['garbage', Uint8Array.from({ length: 300 }, (_, i) => (i * 97) & 0xff), /WeightUpdate|malformed|wire/i],
      ['over 32 KiB', new Uint8Array(40 * 1024).fill(8), /32768|too large|bytes/i],
      ['checksum flipped', (() => { const b = Uint8Array.from(updates[1]!); b[b.length - 1]! ^= 0x55; return b })(), /checksum/],
      ['a value flipped', (() => { const b = Uint8Array.from(updates[1]!); b[40]! ^= 0x01; return b })(), /WeightUpdate/]
    ]
    let refused = 0
    for (const [what, bytes, why] of cases) {
      r.onUpdate(bytes)
      await settle()
      refused++
      expect(r.stats?.updatesRefused, what).toBe(refused)
      expect(r.stats?.lastError, what).toMatch(why)
      expect(r.stats?.sequence, what).toBe(1)
    }
    expect(used).toEqual([2])
    // and a good one after all that is applied
    r.onUpdate(updates[1]!)
    await settle()
    expect(r.stats).toMatchObject({ updatesApplied: 2, sequence: 2 })
    r.stop()
  })

  it('an update for a scale this side did not say it adapts is refused before any enhancer loads', async () => {
    const used: AicScale[] = []
    let created = 0
    const r = new AdaptiveReceiver({
      scales: [1.5],
      createEnhancer: async () => { created++; throw new Error('not reached') },
      use: (s) => { used.push(s) },
      changed: () => {},
      log: Object.assign(() => {}, { enabled: false, error: () => {}, trace: () => {} }) as never
    })
    r.onUpdate(updates[0]!)
    expect(r.stats).toMatchObject({ updatesRefused: 1, lastError: expect.stringContaining('not one this side said it adapts') })
    expect(created).toBe(0)
    expect(used).toEqual([])
  })

  it('travels in a SignalMessage as aicWeightUpdate, within the message limit', () => {
    const msg = decodeSignalMessage(encodeSignalMessage({ callId: 'ab'.repeat(16), aicWeightUpdate: { update: updates[0]! } }))
    expect(msg.body).toBe('aicWeightUpdate')
    expect(msg.aicWeightUpdate?.update).toEqual(updates[0])
  })
})
