import { describe, expect, it } from 'vitest'
import { DEFAULT_REPUTATION_REPORT_TTL_MS } from '../src/constants.js'
import { relayScorer } from '../src/index.js'
import type { RelayScorer, RelayScorerInit } from '../src/index.js'

const START = 1_800_000_000_000
const TTL = DEFAULT_REPUTATION_REPORT_TTL_MS
const FAKES = Array.from({ length: 10 }, (_, i) => `peer-fake-${i}`)

interface Setup {
  scorer: RelayScorer
  advance: (ms: number) => void
  now: () => number
}

/** A good relay and a bad one (reservations fine, circuits dropped), each with 5 dials of own data. */
function setup (init?: RelayScorerInit): Setup {
  let t = START
  const scorer = relayScorer(init, { now: () => t })
  for (let i = 0; i < 5; i++) {
    for (const relay of ['relay-good', 'relay-bad']) {
      scorer.recordRtt(relay, 20)
      scorer.recordReservation(relay, true)
      scorer.recordUptime(relay, true)
    }
    scorer.recordCircuit('relay-good', true)
    scorer.recordCircuit('relay-bad', false)
  }
  return { scorer, advance: (ms) => { t += ms }, now: () => t }
}

function errorOf (fn: () => unknown): Error {
  try {
    fn()
  } catch (err) {
    return err as Error
  }
  throw new Error('expected a throw')
}

describe('relayScorer: reports from other peers', () => {
  it('addReport() from 10 reporters with no trust rating a bad relay 1 does not lift it above a good relay', () => {
    const { scorer, now } = setup({ preTrusted: ['relay-boot'] })
    const bad = scorer.score('relay-bad')
    const good = scorer.score('relay-good')
    for (const reporter of FAKES) {
      expect(scorer.addReport({ reporter, relay: 'relay-bad', value: 1, at: now() })).toBe(true)
      expect(scorer.addReport({ reporter, relay: 'relay-good', value: 0, at: now() })).toBe(true)
    }
    expect(scorer.score('relay-bad')).toEqual(bad)
    expect(scorer.score('relay-good')).toEqual(good)
    expect(scorer.ranked().map((r) => r.relay)).toEqual(['relay-good', 'relay-bad'])
    expect(FAKES.filter((f) => scorer.trust().has(f))).toEqual([])
  })

  it('addReport() from a clique of fake relays that vouch for each other gives them no trust', () => {
    const { scorer, now } = setup()
    scorer.setRelayInfo('relay-boot', { bootstrap: true })
    for (const fake of FAKES) scorer.setRelayInfo(fake, {})
    for (const reporter of FAKES) {
      for (const relay of [...FAKES, 'relay-bad']) {
        if (relay !== reporter) scorer.addReport({ reporter, relay, value: 1, at: now() })
      }
    }
    const trust = scorer.trust()
    expect([...trust.keys()]).toEqual(['relay-boot'])
    expect(scorer.score('relay-bad').total).toBeLessThan(scorer.score('relay-good').total)
  })

  it('addReport() from a pre-trusted reporter moves the reputation part by reports.mix towards its value', () => {
    const { scorer, now } = setup({ preTrusted: ['peer-boot'] })
    const own = scorer.score('relay-bad').parts.reputation
    const total = scorer.score('relay-bad').total
    scorer.addReport({ reporter: 'peer-boot', relay: 'relay-bad', value: 1, at: now() })
    expect(scorer.trust().get('peer-boot')).toBe(1)
    const after = scorer.score('relay-bad')
    expect(after.parts.reputation).toBeCloseTo(0.75 * own + 0.25 * 1, 12)
    expect(after.total).toBeGreaterThan(total)
    // own measurements dominate: a relay that drops every circuit stays below a good one
    expect(after.total).toBeLessThan(scorer.score('relay-good').total)
    const good = scorer.score('relay-good').parts.reputation
    scorer.addReport({ reporter: 'peer-boot', relay: 'relay-good', value: 0, at: now() })
    expect(scorer.score('relay-good').parts.reputation).toBeCloseTo(0.75 * good, 12)
  })

  it('addReport() counts a reporter we have good experience with (recordPeerTrust), not one with more bad than good', () => {
    const { scorer, now } = setup()
    const own = scorer.score('relay-bad').parts.reputation
    scorer.recordPeerTrust('peer-liar', true)
    scorer.recordPeerTrust('peer-liar', false)
    scorer.recordPeerTrust('peer-liar', false)
    scorer.addReport({ reporter: 'peer-liar', relay: 'relay-bad', value: 1, at: now() })
    expect(scorer.trust().has('peer-liar')).toBe(false)
    expect(scorer.score('relay-bad').parts.reputation).toBe(own)
    for (let i = 0; i < 3; i++) scorer.recordPeerTrust('peer-friend', true)
    scorer.addReport({ reporter: 'peer-friend', relay: 'relay-bad', value: 1, at: now() })
    expect(scorer.trust().get('peer-friend')).toBe(1)
    expect(scorer.score('relay-bad').parts.reputation).toBeCloseTo(0.75 * own + 0.25, 12)
  })

  it('trust() passes trust from a bootstrap relay to a relay it vouches for, weaker by the damping', () => {
    const { scorer, now } = setup()
    scorer.setRelayInfo('relay-boot', { bootstrap: true })
    scorer.setRelayInfo('relay-vouched', {})
    scorer.addReport({ reporter: 'relay-boot', relay: 'relay-vouched', value: 1, at: now() })
    scorer.addReport({ reporter: 'relay-vouched', relay: 'relay-good', value: 1, at: now() })
    const trust = scorer.trust()
    expect(trust.get('relay-boot')).toBe(1)
    expect(trust.get('relay-vouched')).toBeCloseTo(0.85, 9)
    expect(trust.get('relay-good')).toBeCloseTo(0.85 * 0.85, 9)
  })

  it('trust() is empty with no pre-trusted peer and no own experience: no report counts', () => {
    const { scorer, now } = setup()
    const own = scorer.score('relay-bad')
    scorer.addReport({ reporter: 'peer-x', relay: 'relay-bad', value: 1, at: now() })
    expect(scorer.trust().size).toBe(0)
    expect(scorer.score('relay-bad')).toEqual(own)
  })

  it('addReport() from one reporter about one relay replaces its earlier report; repeating it changes nothing', () => {
    const { scorer, advance, now } = setup({ preTrusted: ['peer-boot'] })
    const own = scorer.score('relay-bad').parts.reputation
    scorer.addReport({ reporter: 'peer-boot', relay: 'relay-bad', value: 1, at: now() })
    advance(1)
    expect(scorer.addReport({ reporter: 'peer-boot', relay: 'relay-bad', value: 0, at: now() })).toBe(true)
    const replaced = scorer.score('relay-bad')
    expect(replaced.parts.reputation).toBeCloseTo(0.75 * own, 9)
    for (let i = 0; i < 50; i++) {
      expect(scorer.addReport({ reporter: 'peer-boot', relay: 'relay-bad', value: 0, at: now() })).toBe(false)
    }
    expect(scorer.score('relay-bad')).toEqual(replaced)
    for (let i = 0; i < 50; i++) {
      advance(1)
      scorer.addReport({ reporter: 'peer-fake-0', relay: 'relay-bad', value: 1, at: now() })
    }
    expect(scorer.toJSON().reports.filter((r) => r.relay === 'relay-bad').map((r) => r.reporter).sort()).toEqual(['peer-boot', 'peer-fake-0'])
  })

  it('addReport() refuses a report older than the one it holds from that reporter (a replay) with a RangeError naming report.at', () => {
    const { scorer, now } = setup()
    scorer.addReport({ reporter: 'peer-a', relay: 'relay-bad', value: 0.5, at: now() })
    const older = errorOf(() => scorer.addReport({ reporter: 'peer-a', relay: 'relay-bad', value: 1, at: now() - 1 }))
    expect(older).toBeInstanceOf(RangeError)
    expect(older.message).toMatch(/^report\.at must be later/)
    expect(() => scorer.addReport({ reporter: 'peer-a', relay: 'relay-bad', value: 0.9, at: now() })).toThrow(/^report\.at/)
  })

  it('addReport() refuses a report older than the TTL, or dated too far ahead, with a RangeError naming report.at', () => {
    const { scorer, now } = setup()
    const old = errorOf(() => scorer.addReport({ reporter: 'peer-a', relay: 'relay-bad', value: 1, at: now() - TTL }))
    expect(old).toBeInstanceOf(RangeError)
    expect(old.message).toMatch(/^report\.at is older than the report TTL/)
    expect(scorer.addReport({ reporter: 'peer-a', relay: 'relay-bad', value: 1, at: now() - TTL + 1 })).toBe(true)
    expect(() => scorer.addReport({ reporter: 'peer-b', relay: 'relay-bad', value: 1, at: now() + 60_001 })).toThrow(/^report\.at is 60001 ms ahead/)
    expect(() => scorer.addReport({ reporter: 'peer-b', relay: 'relay-bad', value: 1, at: Number.NaN })).toThrow(/^report\.at must be a finite number/)
  })

  for (const value of [-0.1, 1.1, Number.NaN, Number.POSITIVE_INFINITY]) {
    it(`addReport({ value: ${value} }) throws a RangeError naming report.value`, () => {
      const { scorer, now } = setup()
      const err = errorOf(() => scorer.addReport({ reporter: 'peer-a', relay: 'relay-bad', value, at: now() }))
      expect(err).toBeInstanceOf(RangeError)
      expect(err.message).toBe(`report.value must be a number from 0 to 1, got ${value}`)
    })
  }

  it('addReport() refuses wrong types with TypeErrors naming the field, and a relay reporting on itself with a RangeError', () => {
    const { scorer, now } = setup()
    expect(() => scorer.addReport(null as never)).toThrow(/^report must be an object/)
    expect(() => scorer.addReport({ reporter: '', relay: 'relay-bad', value: 1, at: now() })).toThrow(/^report\.reporter must be a PeerId/)
    expect(() => scorer.addReport({ reporter: 'peer-a', relay: 42 as never, value: 1, at: now() })).toThrow(/^report\.relay must be a PeerId/)
    expect(() => scorer.addReport({ reporter: 'peer-a', relay: 'relay-bad', value: '1' as never, at: now() })).toThrow(TypeError)
    expect(() => scorer.addReport({ reporter: 'peer-a', relay: 'relay-bad', value: 1, at: String(now()) as never })).toThrow(/^report\.at must be a number/)
    expect(() => scorer.addReport({ reporter: 'relay-bad', relay: 'relay-bad', value: 1, at: now() })).toThrow(RangeError)
    expect(scorer.toJSON().reports).toEqual([])
  })

  it('addReport() about a relay the scorer does not know keeps nothing and returns false', () => {
    const { scorer, now } = setup({ preTrusted: ['peer-boot'] })
    expect(scorer.addReport({ reporter: 'peer-boot', relay: 'relay-unknown', value: 1, at: now() })).toBe(false)
    expect(scorer.has('relay-unknown')).toBe(false)
    expect(scorer.toJSON().reports).toEqual([])
  })

  it('score() counts a report less as it ages (halved per half-life) and drops it at the TTL', () => {
    const { scorer, advance, now } = setup({ preTrusted: ['peer-boot'], decay: { halfLifeMs: 4 * TTL } })
    scorer.addReport({ reporter: 'peer-boot', relay: 'relay-bad', value: 1, at: now() })
    advance(TTL / 2)
    const own = relayScorer({ decay: { halfLifeMs: 4 * TTL } }, { now })
    own.load({ ...scorer.toJSON(), reports: [] })
    const mix = 0.25 * 0.5 ** (1 / 8)
    expect(scorer.score('relay-bad').parts.reputation).toBeCloseTo((1 - mix) * own.score('relay-bad').parts.reputation + mix, 9)
    advance(TTL / 2)
    expect(scorer.score('relay-bad')).toEqual(own.score('relay-bad'))
    expect(scorer.toJSON().reports).toEqual([])
  })

  it('relayScorer({ reports: { maxPerRelay: 2 } }) replaces the oldest report when a new reporter comes', () => {
    const { scorer, advance, now } = setup({ reports: { maxPerRelay: 2 } })
    for (const reporter of ['peer-a', 'peer-b', 'peer-c']) {
      scorer.addReport({ reporter, relay: 'relay-bad', value: 1, at: now() })
      advance(1)
    }
    expect(scorer.toJSON().reports.map((r) => r.reporter).sort()).toEqual(['peer-b', 'peer-c'])
  })

  it('relayScorer({ reports: { mix: 0 } }) ignores reports, even from pre-trusted peers', () => {
    const { scorer, now } = setup({ preTrusted: ['peer-boot'], reports: { mix: 0 } })
    const own = scorer.score('relay-bad')
    scorer.addReport({ reporter: 'peer-boot', relay: 'relay-bad', value: 1, at: now() })
    expect(scorer.score('relay-bad')).toEqual(own)
  })

  it('forget() drops the reports about a relay with it', () => {
    const { scorer, now } = setup({ preTrusted: ['peer-boot'] })
    scorer.addReport({ reporter: 'peer-boot', relay: 'relay-bad', value: 1, at: now() })
    scorer.forget('relay-bad')
    expect(scorer.toJSON().reports).toEqual([])
  })
})
