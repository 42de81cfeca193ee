import { describe, expect, it } from 'vitest'
import { JitterBuffer, seqDiff } from '../src/sip/jitter-buffer.js'

const p = (n: number): Uint8Array => Uint8Array.of(n & 0xff)
/** The payloads (first byte) of `ticks` pops, null as -1. */
const play = (jb: JitterBuffer, ticks: number): number[] => Array.from({ length: ticks }, () => jb.pop()?.[0] ?? -1)

describe('JitterBuffer', () => {
  it('waits for depth packets, then plays one a tick in order', () => {
    const jb = new JitterBuffer({ depth: 3 })
    jb.push(10, p(10))
    jb.push(11, p(11))
    expect(play(jb, 2)).toEqual([-1, -1]) // priming
    jb.push(12, p(12))
    jb.push(13, p(13))
    expect(play(jb, 4)).toEqual([10, 11, 12, 13])
    expect(jb.stats).toMatchObject({ pushed: 4, played: 4, missing: 0 }) // priming ticks are not missing packets
  })

  it('puts reordered packets back in order; a lost one is a null tick and playout goes on', () => {
    const jb = new JitterBuffer({ depth: 3 })
    for (const s of [1, 3, 2, 4, 6, 7]) jb.push(s, p(s))
    expect(play(jb, 7)).toEqual([1, 2, 3, 4, -1, 6, 7])
    expect(jb.stats.missing).toBe(1)
  })

  it('drops a duplicate and a packet whose tick was played', () => {
    const jb = new JitterBuffer({ depth: 2 })
    jb.push(5, p(5))
    jb.push(6, p(6))
    jb.push(6, p(66))
    expect(play(jb, 2)).toEqual([5, 6])
    jb.push(5, p(55))
    expect(jb.stats).toMatchObject({ duplicate: 1, late: 1 })
  })

  it('sequence numbers wrap: 65534, 65535, 0, 1 play in that order', () => {
    expect(seqDiff(0, 65535)).toBe(1)
    expect(seqDiff(65535, 0)).toBe(-1)
    const jb = new JitterBuffer({ depth: 2 })
    for (const s of [65535, 0, 65534, 1]) jb.push(s, p(s))
    expect(play(jb, 4)).toEqual([254, 255, 0, 1])
  })

  it('holds at most max packets: the oldest go, counted, and playout jumps past them', () => {
    const jb = new JitterBuffer({ depth: 2, max: 4 })
    for (let s = 0; s < 10; s++) jb.push(s, p(s))
    expect(jb.size).toBe(4)
    expect(jb.stats.overflow).toBe(6)
    expect(play(jb, 4)).toEqual([6, 7, 8, 9])
  })

  it('after max ticks with nothing to play (a silence, or a sequence that jumped) it starts over from what it holds', () => {
    const jb = new JitterBuffer({ depth: 2, max: 5 })
    jb.push(100, p(1))
    jb.push(101, p(2))
    expect(play(jb, 2)).toEqual([1, 2])
    // the far end restarted its sequence far below: late at first, then taken once it starts over
    for (let t = 0; t < 5; t++) { jb.push(7 + t, p(10 + t)); expect(jb.pop()).toBeNull() }
    expect(jb.stats.restarts).toBe(1)
    jb.push(20, p(20))
    jb.push(21, p(21))
    expect(play(jb, 2)).toEqual([20, 21])
  })

  it('depth and max are checked', () => {
    expect(() => new JitterBuffer({ depth: 0 })).toThrow('JitterBuffer: depth must be a whole number >= 1, got 0')
    expect(() => new JitterBuffer({ depth: 5, max: 4 })).toThrow('JitterBuffer: max must be a whole number >= depth (5), got 4')
  })
})
