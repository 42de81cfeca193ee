import { describe, expect, it } from 'vitest'
import { SenderParams } from '../src/sender-params.js'
import type { Logger } from '@libp2p/interface'

// The one writer of a video sender's parameters (src/sender-params.ts). Node has no RTCRtpSender,
// so this sender is a stand-in that keeps what setParameters() wrote and can hold a write open;
// the real sender is exercised by e2e/sdk-group.e2e.test.ts (a budget set in Chromium).
const log = Object.assign(() => {}, { enabled: false, trace: () => {}, error: () => {}, newScope: () => log }) as unknown as Logger

function fakeSender (): { sender: RTCRtpSender, writes: RTCRtpEncodingParameters[], hold: () => () => void } {
  let params: RTCRtpSendParameters = { encodings: [{ active: true }], transactionId: 't0', codecs: [], headerExtensions: [], rtcp: {} } as unknown as RTCRtpSendParameters
  const writes: RTCRtpEncodingParameters[] = []
  let gate: Promise<void> | undefined
  let inFlight = 0
  const sender = {
    getParameters: () => structuredClone(params),
    setParameters: async (p: RTCRtpSendParameters) => {
      // a second write while one is in flight is what Chromium refuses (its transaction is stale)
      if (inFlight > 0) throw new Error('InvalidStateError: a write is in flight')
      inFlight++
      try {
        await gate
        params = structuredClone(p)
        writes.push(structuredClone(p.encodings[0]!))
      } finally {
        inFlight--
      }
    }
  } as unknown as RTCRtpSender
  return {
    sender,
    writes,
    hold: () => {
      let release = (): void => {}
      gate = new Promise<void>((resolve) => { release = resolve })
      return () => { gate = undefined; release() }
    }
  }
}

describe('SenderParams: AIC\'s wish and a group\'s share merge in one writer', () => {
  it('a budget alone sets maxBitrate; AIC\'s lower bitrate wins over it, a higher one does not; undefined takes it off', async () => {
    const { sender, writes } = fakeSender()
    const w = new SenderParams(sender, log)
    await w.setBudget(500_000)
    expect(writes.at(-1)).toMatchObject({ maxBitrate: 500_000 })
    await w.setAic({ scale: 2, maxBitrateBps: 300_000, degradationPreference: 'maintain-resolution' })
    expect(writes.at(-1)).toMatchObject({ maxBitrate: 300_000, scaleResolutionDownBy: 2 })
    await w.setAic({ scale: 1, maxBitrateBps: 900_000 })
    expect(writes.at(-1)).toMatchObject({ maxBitrate: 500_000, scaleResolutionDownBy: 1 })
    await w.setAic({ scale: 1 })
    await w.setBudget(undefined)
    expect(writes.at(-1)!.maxBitrate).toBeUndefined()
    expect(w.budgetBps).toBeUndefined()
  })

  it('writes go one at a time, each with both wishes as they are when it runs', async () => {
    const { sender, writes, hold } = fakeSender()
    const w = new SenderParams(sender, log)
    const release = hold()
    const a = w.setAic({ scale: 1.5, maxBitrateBps: 400_000 })
    const b = w.setBudget(200_000)
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(writes).toEqual([])
    release()
    await Promise.all([a, b])
    expect(writes.length).toBe(2)
    expect(writes.at(-1)).toMatchObject({ scaleResolutionDownBy: 1.5, maxBitrate: 200_000 })
  })

  it('a budget below the floor a picture needs is a RangeError naming it; a refused write rejects and the next one still runs', async () => {
    const { sender, writes } = fakeSender()
    const w = new SenderParams(sender, log)
    await expect(w.setBudget(1_000)).rejects.toThrow(/setBudget\(1000\): a budget must be at least 30000/)
    const broken = { getParameters: () => ({ encodings: [] }), setParameters: async () => {} } as unknown as RTCRtpSender
    await expect(new SenderParams(broken, log).setBudget(100_000)).rejects.toThrow(/no encoding/)
    await w.setBudget(100_000)
    expect(writes.at(-1)).toMatchObject({ maxBitrate: 100_000 })
  })
})
