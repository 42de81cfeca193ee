import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { AttemptClock, stallLimitMs } from '../src/dial-progress.js'
import { AttemptTimeoutError } from '../src/errors.js'

const LIMITS = { timeoutMs: 15_000, stallMs: 5_000, stallRtts: 20 }

describe('stallLimitMs()', () => {
  it('stallLimitMs(limits, undefined) is stallMs: no RTT measured yet', () => {
    expect(stallLimitMs(LIMITS, undefined)).toBe(5_000)
  })

  it('stallLimitMs(limits, 2 ms) is stallMs: a fast relay does not shorten the floor', () => {
    expect(stallLimitMs(LIMITS, 2)).toBe(5_000)
  })

  it('stallLimitMs(limits, 400 ms) is 20 round trips (8000 ms): a slow relay lengthens it', () => {
    expect(stallLimitMs(LIMITS, 400)).toBe(8_000)
  })

  it('stallLimitMs(limits, 2000 ms) is capped at timeoutMs', () => {
    expect(stallLimitMs(LIMITS, 2_000)).toBe(15_000)
  })

  it('stallLimitMs() ignores an RTT that is not a positive finite number (NaN, -1, Infinity)', () => {
    for (const rtt of [Number.NaN, -1, Number.POSITIVE_INFINITY]) expect(stallLimitMs(LIMITS, rtt)).toBe(5_000)
  })
})

describe('AttemptClock', () => {
  beforeEach(() => { vi.useFakeTimers() })
  afterEach(() => { vi.useRealTimers() })

  it('aborts with AttemptTimeoutError after stallMs without a step, naming the last step', () => {
    const clock = new AttemptClock(15_000, 1_000)
    vi.advanceTimersByTime(300)
    clock.step('webrtc:read-ice-candidates')
    vi.advanceTimersByTime(999)
    expect(clock.signal.aborted).toBe(false)
    vi.advanceTimersByTime(1)
    expect(clock.signal.aborted).toBe(true)
    const reason = clock.signal.reason as Error
    expect(reason).toBeInstanceOf(AttemptTimeoutError)
    expect(reason.name).toBe('AttemptTimeoutError')
    expect((reason as AttemptTimeoutError).code).toBe('ERR_ATTEMPT_TIMEOUT')
    expect(reason.message).toMatch(/^no progress for 1000 ms \(last progress 'webrtc:read-ice-candidates' at 300 ms, 1000 ms before; 1 step\)$/)
  })

  it('runs on while steps keep coming, and aborts at timeoutMs in all', () => {
    const clock = new AttemptClock(5_000, 1_000)
    for (let t = 0; t < 4_900; t += 700) {
      vi.advanceTimersByTime(700)
      clock.step(`step-${t}`)
    }
    expect(clock.signal.aborted).toBe(false)
    vi.advanceTimersByTime(5_000 - 4_900)
    expect(clock.signal.aborted).toBe(true)
    expect((clock.signal.reason as Error).message).toMatch(/^the attempt took over 5000 ms/)
  })

  it('says "no progress at all" when no step came', () => {
    const clock = new AttemptClock(5_000, 1_000)
    vi.advanceTimersByTime(1_000)
    expect((clock.signal.reason as Error).message).toBe('no progress for 1000 ms (no progress at all)')
  })

  it('aborts with the caller\'s reason when the caller\'s signal aborts, and at once when it already had', () => {
    const caller = new AbortController()
    const clock = new AttemptClock(5_000, 1_000, { signal: caller.signal })
    const why = new Error('caller gave up')
    caller.abort(why)
    expect(clock.signal.reason).toBe(why)
    const late = new AttemptClock(5_000, 1_000, { signal: caller.signal })
    expect(late.signal.aborted).toBe(true)
    expect(late.signal.reason).toBe(why)
  })

  it('dispose() stops both limits: the signal never aborts after it', () => {
    const clock = new AttemptClock(2_000, 1_000)
    clock.dispose()
    vi.advanceTimersByTime(10_000)
    expect(clock.signal.aborted).toBe(false)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('timeline() lists every step with its time since the start', () => {
    const clock = new AttemptClock(5_000, 1_000)
    clock.step('a')
    vi.advanceTimersByTime(20)
    clock.step('b')
    expect(clock.timeline()).toBe('a@0 b@20')
    clock.dispose()
  })
})
