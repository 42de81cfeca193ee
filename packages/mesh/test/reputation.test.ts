import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DEFAULT_RELAY_SCORE_WEIGHTS, DEFAULT_REPUTATION_HALF_LIFE_MS } from '../src/constants.js'
import { relayScorer } from '../src/index.js'
import type { RelayScorer, RelayScorerInit } from '../src/index.js'

const START = 1_800_000_000_000
const HOUR = DEFAULT_REPUTATION_HALF_LIFE_MS

/** A scorer on a fake clock: `advance(ms)` moves it. */
function setup (init?: RelayScorerInit): { scorer: RelayScorer, advance: (ms: number) => void } {
  let t = START
  const scorer = relayScorer(init, { now: () => t })
  return { scorer, advance: (ms) => { t += ms } }
}

function errorOf (fn: () => unknown): Error {
  try {
    fn()
  } catch (err) {
    return err as Error
  }
  throw new Error('expected a throw')
}

/** A relay that has worked well for a while: reservations and circuits fine, `rtt` ms. */
function healthy (scorer: RelayScorer, relay: string, rtt: number, n = 10): void {
  for (let i = 0; i < n; i++) {
    scorer.recordRtt(relay, rtt)
    scorer.recordReservation(relay, true)
    scorer.recordCircuit(relay, true)
    scorer.recordUptime(relay, true)
  }
}

describe('relayScorer: scores from own measurements', () => {
  it('score() of a relay with no data is the documented neutral prior', () => {
    const { scorer } = setup()
    const s = scorer.score('relay-unknown')
    expect(s.parts).toEqual({ latency: 0.5, bandwidth: 0.5, reputation: 0.25, hops: 1, aicSupport: 0, uptime: 0.5 })
    expect(s.total).toBeCloseTo(-0.1125, 12)
    expect(scorer.has('relay-unknown')).toBe(false)
  })

  it('score() ranks a relay with 500 ms RTT below one with 20 ms within 5 samples', () => {
    const { scorer } = setup()
    for (let i = 1; i <= 5; i++) {
      scorer.recordRtt('relay-slow', 520)
      scorer.recordRtt('relay-fast', 20)
      expect(scorer.score('relay-slow').total).toBeLessThan(scorer.score('relay-fast').total)
      expect(scorer.ranked().map((r) => r.relay)).toEqual(['relay-fast', 'relay-slow'])
    }
  })

  it('ranked() puts a relay that starts adding 500 ms below a steady one within 5 samples', () => {
    const { scorer } = setup()
    healthy(scorer, 'relay-a', 20, 20)
    healthy(scorer, 'relay-b', 21, 20)
    expect(scorer.ranked()[0]?.relay).toBe('relay-a')
    let samples = 0
    while (scorer.ranked()[0]?.relay === 'relay-a') {
      scorer.recordRtt('relay-a', 520)
      scorer.recordRtt('relay-b', 21)
      samples++
    }
    expect(samples).toBeLessThanOrEqual(5)
    expect(scorer.ranked().map((r) => r.relay)).toEqual(['relay-b', 'relay-a'])
  })

  it('ranked() stops choosing a relay whose circuits fail within 5 dials, though it has the best RTT', () => {
    const { scorer } = setup()
    healthy(scorer, 'relay-bad', 1)
    healthy(scorer, 'relay-good-1', 5)
    healthy(scorer, 'relay-good-2', 6)
    expect(scorer.ranked()[0]?.relay).toBe('relay-bad')
    // each dial goes through the best relay; the bad one keeps its reservation but drops circuits
    let dials = 0
    while (scorer.ranked()[0]?.relay === 'relay-bad' && dials < 10) {
      scorer.recordReservation('relay-bad', true)
      scorer.recordCircuit('relay-bad', false)
      dials++
    }
    expect(dials).toBeGreaterThan(0)
    expect(dials).toBeLessThanOrEqual(5)
    for (let dial = 0; dial < 5; dial++) {
      const best = scorer.ranked()[0]?.relay as string
      expect(best).not.toBe('relay-bad')
      scorer.recordCircuit(best, true)
    }
    expect(scorer.ranked().at(-1)?.relay).toBe('relay-bad')
  })

  it('ranked() puts a relay whose circuits mostly fail after a working one, however much faster it answers pings (its score alone would keep it first)', () => {
    const { scorer } = setup()
    // never carried a circuit, 2 ms away: a relay that accepts reservations and cuts every circuit
    for (let i = 0; i < 10; i++) { scorer.recordRtt('relay-bad', 2); scorer.recordReservation('relay-bad', true); scorer.recordUptime('relay-bad', true) }
    scorer.setRelayInfo('relay-bad', { aicSupport: true })
    // works, but 300 ms away (a busy machine's relay)
    healthy(scorer, 'relay-slow', 300, 3)
    scorer.recordCircuit('relay-bad', false)
    expect(scorer.ranked().map((r) => [r.relay, r.failing])).toEqual([['relay-bad', false], ['relay-slow', false]])
    scorer.recordCircuit('relay-bad', false)
    const ranked = scorer.ranked()
    // by score alone it would still be first
    expect(ranked.find((r) => r.relay === 'relay-bad')!.total).toBeGreaterThan(ranked.find((r) => r.relay === 'relay-slow')!.total)
    expect(ranked.map((r) => [r.relay, r.failing])).toEqual([['relay-slow', false], ['relay-bad', true]])
    // once it carries more circuits than it fails, its score alone decides again
    for (let i = 0; i < 3; i++) scorer.recordCircuit('relay-bad', true)
    expect(scorer.ranked().map((r) => [r.relay, r.failing])).toEqual([['relay-bad', false], ['relay-slow', false]])
  })

  it('recordThroughput() raises the bandwidth part towards 1 at the reference, samples above it counting as it', () => {
    const { scorer } = setup()
    for (let i = 0; i < 9; i++) scorer.recordThroughput('relay-a', 1e12)
    expect(scorer.score('relay-a').parts.bandwidth).toBeCloseTo(1 - 0.5 / 10, 12)
    scorer.recordThroughput('relay-b', 125_000)
    expect(scorer.score('relay-b').parts.bandwidth).toBeCloseTo((0.1 + 0.5) / 2, 12)
  })

  it('recordUptime() sets the uptime part to the fraction seen up, with a one-up-one-down prior', () => {
    const { scorer } = setup()
    for (let i = 0; i < 8; i++) scorer.recordUptime('relay-a', i < 6)
    expect(scorer.score('relay-a').parts.uptime).toBeCloseTo(7 / 10, 12)
  })

  it('recordViolation() takes penalty * violations^2 off reputation, up to violations.max', () => {
    const { scorer } = setup()
    const before = scorer.score('relay-a').parts.reputation
    scorer.recordViolation('relay-a', 'oversized advert')
    expect(scorer.score('relay-a').parts.reputation).toBeCloseTo(before - 0.25, 12)
    scorer.recordViolation('relay-a', 'oversized advert')
    expect(scorer.score('relay-a').parts.reputation).toBeCloseTo(before - 1, 12)
    for (let i = 0; i < 10; i++) scorer.recordViolation('relay-a', 'bad signature')
    expect(scorer.score('relay-a').parts.reputation).toBeCloseTo(before - 4, 12)
    expect(scorer.toJSON().relays['relay-a']?.lastViolation).toBe('bad signature')
  })

  it('setRelayInfo() sets the hops and AIC support parts; an extra hop costs 0.10', () => {
    const { scorer } = setup()
    scorer.setRelayInfo('relay-a', { hops: 2, aicSupport: true })
    scorer.setRelayInfo('relay-b', { hops: 1 })
    scorer.setRelayInfo('relay-a', { bootstrap: false })
    const a = scorer.score('relay-a')
    const b = scorer.score('relay-b')
    expect(a.parts).toMatchObject({ hops: 2, aicSupport: 1 })
    expect(b.parts).toMatchObject({ hops: 1, aicSupport: 0 })
    expect(a.total - b.total).toBeCloseTo(-0.10 + 0.05, 12)
  })

  it('ranked() breaks ties by PeerId string and lists every known relay once', () => {
    const { scorer } = setup()
    for (const id of ['relay-c', 'relay-a', 'relay-b']) scorer.setRelayInfo(id, {})
    expect(scorer.ranked().map((r) => r.relay)).toEqual(['relay-a', 'relay-b', 'relay-c'])
  })

  it('recordRtt() accepts a PeerId and keys the relay by its string form', async () => {
    const { scorer } = setup()
    const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    scorer.recordRtt(peer, 10)
    expect(scorer.has(peer.toString())).toBe(true)
    expect(scorer.ranked()[0]?.relay).toBe(peer.toString())
  })

  it('forget() drops a relay; past maxRelays the relay with the least evidence is forgotten, never a bootstrap one', () => {
    const { scorer } = setup({ maxRelays: 3 })
    scorer.setRelayInfo('relay-boot', { bootstrap: true })
    healthy(scorer, 'relay-a', 10, 3)
    healthy(scorer, 'relay-b', 10, 1)
    expect(scorer.ranked().map((r) => r.relay).sort()).toEqual(['relay-a', 'relay-b', 'relay-boot'])
    scorer.recordRtt('relay-c', 10)
    expect(scorer.ranked().map((r) => r.relay).sort()).toEqual(['relay-a', 'relay-boot', 'relay-c'])
    expect(scorer.forget('relay-c')).toBe(true)
    expect(scorer.forget('relay-c')).toBe(false)
  })
})

describe('relayScorer: decay', () => {
  it('score() halves every counter per half-life on a fake clock', () => {
    const { scorer, advance } = setup()
    for (let i = 0; i < 16; i++) scorer.recordCircuit('relay-a', false)
    expect(scorer.toJSON().relays['relay-a']?.circuits.failed).toBe(16)
    advance(HOUR)
    expect(scorer.toJSON().relays['relay-a']?.circuits.failed).toBeCloseTo(8, 9)
    advance(2 * HOUR)
    expect(scorer.toJSON().relays['relay-a']?.circuits.failed).toBeCloseTo(2, 9)
    expect(scorer.score('relay-a').parts.reputation).toBeCloseTo(0.5 * (1 / 4), 9)
  })

  it('score() decays once per whole decay interval, and not when the clock goes back', () => {
    const { scorer, advance } = setup({ decay: { halfLifeMs: 10_000, intervalMs: 5_000 } })
    for (let i = 0; i < 4; i++) scorer.recordUptime('relay-a', false)
    advance(4_999)
    expect(scorer.toJSON().relays['relay-a']?.uptime.down).toBe(4)
    advance(1)
    expect(scorer.toJSON().relays['relay-a']?.uptime.down).toBeCloseTo(4 * Math.SQRT1_2, 9)
    advance(-60_000)
    expect(scorer.toJSON().relays['relay-a']?.uptime.down).toBeCloseTo(4 * Math.SQRT1_2, 9)
  })

  it('score() returns to the prior once counters decay below decay.toZero, and forgets the smoothed RTT', () => {
    const { scorer, advance } = setup()
    healthy(scorer, 'relay-a', 700, 20)
    scorer.recordViolation('relay-a', 'malformed reservation')
    advance(20 * HOUR)
    const s = scorer.toJSON().relays['relay-a']
    expect(s).toEqual({ reservations: { ok: 0, failed: 0 }, circuits: { ok: 0, failed: 0 }, uptime: { up: 0, down: 0 }, violations: 0 })
    expect(scorer.score('relay-a')).toEqual(scorer.score('relay-never-seen'))
  })

  it('recordRtt() samples count less as they age: new ones move the smoothed RTT at the EWMA rate', () => {
    const { scorer } = setup({ priorWeight: 0 })
    scorer.recordRtt('relay-a', 100)
    expect(scorer.score('relay-a').parts.latency).toBeCloseTo(100 / 500, 12)
    scorer.recordRtt('relay-a', 500)
    expect(scorer.score('relay-a').parts.latency).toBeCloseTo((100 + 0.25 * 400) / 500, 12)
    scorer.recordRtt('relay-a', 60_000)
    expect(scorer.toJSON().relays['relay-a']?.rtt?.mean).toBeCloseTo(200 + 0.25 * 1800, 9)
  })
})

describe('relayScorer: weights', () => {
  it('score().total is the weighted sum of the parts with the default weights', () => {
    const { scorer } = setup()
    healthy(scorer, 'relay-a', 80, 3)
    scorer.recordThroughput('relay-a', 400_000)
    const { total, parts } = scorer.score('relay-a')
    const w = DEFAULT_RELAY_SCORE_WEIGHTS
    expect(w).toEqual({ latency: -0.40, bandwidth: 0.25, reputation: 0.15, hops: -0.10, aicSupport: 0.05, uptime: 0.05 })
    const sum = w.latency * parts.latency + w.bandwidth * parts.bandwidth + w.reputation * parts.reputation +
      w.hops * parts.hops + w.aicSupport * parts.aicSupport + w.uptime * parts.uptime
    expect(total).toBeCloseTo(sum, 12)
  })

  it('relayScorer({ weights }) changes the ranking: reputation-heavy weights prefer a slow reliable relay', () => {
    const init = (weights?: RelayScorerInit['weights']): RelayScorer => {
      const { scorer } = setup({ weights })
      healthy(scorer, 'relay-slow', 400)
      scorer.recordRtt('relay-flaky', 10)
      for (let i = 0; i < 10; i++) scorer.recordCircuit('relay-flaky', i % 2 === 0)
      return scorer
    }
    expect(init().ranked()[0]?.relay).toBe('relay-flaky')
    expect(init({ latency: -0.05, reputation: 1 }).ranked()[0]?.relay).toBe('relay-slow')
    const { scorer } = setup({ weights: { latency: 0, bandwidth: 0, reputation: 0, hops: 0, aicSupport: 0, uptime: 1 } })
    scorer.recordUptime('relay-a', true)
    expect(scorer.score('relay-a').total).toBeCloseTo(2 / 3, 12)
  })

  it('relayScorer({ weights }) refuses an unknown part with TypeError and a non-finite weight with RangeError naming it', () => {
    expect(() => relayScorer({ weights: { speed: 1 } as never })).toThrow(TypeError)
    const err = errorOf(() => relayScorer({ weights: { latency: Number.NaN } }))
    expect(err).toBeInstanceOf(RangeError)
    expect(err.message).toContain('init.weights.latency')
    expect(err.message).toContain('NaN')
  })
})

describe('relayScorer: bad input', () => {
  const numeric = [
    ['recordRtt', 'ms'],
    ['recordThroughput', 'bytesPerSecond']
  ] as const
  for (const [method, arg] of numeric) {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -1, -0.001]) {
      it(`${method}(relay, ${bad}) throws a RangeError naming ${arg} and the value, and records nothing`, () => {
        const { scorer } = setup()
        const err = errorOf(() => scorer[method]('relay-a', bad))
        expect(err).toBeInstanceOf(RangeError)
        expect(err.message).toContain(arg)
        expect(err.message).toContain(String(bad))
        expect(scorer.has('relay-a')).toBe(false)
      })
    }
    it(`${method}(relay, '5') throws a TypeError naming ${arg}`, () => {
      const { scorer } = setup()
      expect(() => scorer[method]('relay-a', '5' as never)).toThrow(new RegExp(`^${arg} must be a number`))
    })
  }

  for (const [method, arg] of [['recordReservation', 'ok'], ['recordCircuit', 'ok'], ['recordUptime', 'up']] as const) {
    it(`${method}(relay, 1) throws a TypeError naming ${arg}`, () => {
      const { scorer } = setup()
      const err = errorOf(() => scorer[method]('relay-a', 1 as never))
      expect(err).toBeInstanceOf(TypeError)
      expect(err.message).toBe(`${arg} must be a boolean, got 1`)
      expect(scorer.has('relay-a')).toBe(false)
    })
  }

  it('recordPeerTrust(peer, "yes") and recordPeerTrust("", true) throw TypeErrors naming the argument', () => {
    const { scorer } = setup()
    expect(() => scorer.recordPeerTrust('peer-a', 'yes' as never)).toThrow(/^ok must be a boolean/)
    expect(() => scorer.recordPeerTrust('', true)).toThrow(/^peer must be a PeerId/)
  })

  for (const bad of ['', 42, null, undefined, {}]) {
    it(`recordRtt(${JSON.stringify(bad) ?? 'undefined'}, 10) throws a TypeError naming relay`, () => {
      const { scorer } = setup()
      expect(() => scorer.recordRtt(bad as never, 10)).toThrow(TypeError)
      expect(() => scorer.recordRtt(bad as never, 10)).toThrow(/^relay must be a PeerId/)
      expect(() => scorer.score(bad as never)).toThrow(/^relay must be a PeerId/)
    })
  }

  it('recordRtt() refuses an oversized relay id with a RangeError naming relay', () => {
    const { scorer } = setup()
    expect(() => scorer.recordRtt('x'.repeat(257), 10)).toThrow(/^relay must be at most 256 characters/)
  })

  it('recordViolation(relay, "") throws a TypeError naming reason', () => {
    const { scorer } = setup()
    expect(() => scorer.recordViolation('relay-a', '')).toThrow(/^reason must be a non-empty string/)
    expect(() => scorer.recordViolation('relay-a', 7 as never)).toThrow(TypeError)
  })

  it('setRelayInfo() refuses bad facts naming the field: hops -1 or 1.5 (RangeError), aicSupport "yes" (TypeError)', () => {
    const { scorer } = setup()
    expect(() => scorer.setRelayInfo('relay-a', { hops: -1 })).toThrow(/^facts\.hops must be an integer >= 0, got -1/)
    expect(() => scorer.setRelayInfo('relay-a', { hops: 1.5 })).toThrow(RangeError)
    expect(() => scorer.setRelayInfo('relay-a', { aicSupport: 'yes' as never })).toThrow(/^facts\.aicSupport must be a boolean/)
    expect(() => scorer.setRelayInfo('relay-a', { bootstrap: 1 as never })).toThrow(/^facts\.bootstrap must be a boolean/)
    expect(() => scorer.setRelayInfo('relay-a', null as never)).toThrow(/^facts must be an object/)
    expect(scorer.has('relay-a')).toBe(false)
  })

  it('relayScorer() refuses bad options naming them', () => {
    expect(() => relayScorer({ decay: { halfLifeMs: 0 } })).toThrow(/^init\.decay\.halfLifeMs must be a finite number > 0, got 0/)
    expect(() => relayScorer({ decay: { intervalMs: Number.NaN } })).toThrow(/^init\.decay\.intervalMs/)
    expect(() => relayScorer({ latency: { smoothing: 1.5 } })).toThrow(/^init\.latency\.smoothing/)
    expect(() => relayScorer({ reports: { mix: -0.1 } })).toThrow(/^init\.reports\.mix/)
    expect(() => relayScorer({ maxRelays: 0 })).toThrow(/^init\.maxRelays/)
    expect(() => relayScorer({ preTrusted: [''] })).toThrow(/^init\.preTrusted\[0\]/)
    expect(() => relayScorer({ preTrusted: 'peer' as never })).toThrow(/^init\.preTrusted must be an array/)
  })
})

describe('relayScorer: properties', () => {
  const relays = ['relay-a', 'relay-b', 'relay-c', 'relay-d']
  const peers = ['peer-p', 'peer-q', ...relays]
  const amount = fc.oneof(fc.double({ min: 0, max: 1e4, noNaN: true }), fc.constantFrom(0, Number.MAX_VALUE, Number.MIN_VALUE))
  const op = fc.oneof(
    fc.record({ kind: fc.constantFrom('rtt', 'throughput'), relay: fc.constantFrom(...relays), value: amount }),
    fc.record({ kind: fc.constantFrom('reservation', 'circuit', 'uptime', 'peerTrust'), relay: fc.constantFrom(...peers), ok: fc.boolean() }),
    fc.record({ kind: fc.constant('violation'), relay: fc.constantFrom(...relays) }),
    fc.record({ kind: fc.constant('info'), relay: fc.constantFrom(...relays), hops: fc.nat(5), aic: fc.boolean(), boot: fc.boolean() }),
    fc.record({ kind: fc.constant('report'), relay: fc.constantFrom(...relays), reporter: fc.constantFrom(...peers), value: fc.double({ min: 0, max: 1, noNaN: true }) }),
    fc.record({ kind: fc.constant('advance'), ms: fc.integer({ min: 0, max: 10 * HOUR }) })
  )
  const weight = fc.double({ min: -1e6, max: 1e6, noNaN: true })

  it('score() totals are finite and ranked() is a strict total order (failing last, then total, then PeerId) for random inputs', () => {
    fc.assert(fc.property(fc.array(op, { maxLength: 60 }), fc.option(fc.record({ latency: weight, reputation: weight, hops: weight })), (ops, weights) => {
      let t = START
      const scorer = relayScorer({ preTrusted: ['peer-p'], ...(weights === null ? {} : { weights }) }, { now: () => t })
      for (const o of ops) {
        if (o.kind === 'advance') t += o.ms
        else if (o.kind === 'rtt') scorer.recordRtt(o.relay, o.value)
        else if (o.kind === 'throughput') scorer.recordThroughput(o.relay, o.value)
        else if (o.kind === 'reservation') scorer.recordReservation(o.relay, o.ok)
        else if (o.kind === 'circuit') scorer.recordCircuit(o.relay, o.ok)
        else if (o.kind === 'uptime') scorer.recordUptime(o.relay, o.ok)
        else if (o.kind === 'peerTrust') scorer.recordPeerTrust(o.relay, o.ok)
        else if (o.kind === 'violation') scorer.recordViolation(o.relay, 'fuzz')
        else if (o.kind === 'info') scorer.setRelayInfo(o.relay, { hops: o.hops, aicSupport: o.aic, bootstrap: o.boot })
        else if (o.kind === 'report' && o.reporter !== o.relay) {
          try {
            scorer.addReport({ reporter: o.reporter, relay: o.relay, value: o.value, at: t })
          } catch (err) {
            // a second report from one reporter within the same ms is refused as not newer
            if (!(err instanceof RangeError)) throw err
          }
        }
      }
      const ranked = scorer.ranked()
      for (const r of ranked) {
        expect(Number.isFinite(r.total)).toBe(true)
        for (const v of Object.values(r.parts)) expect(Number.isFinite(v)).toBe(true)
        expect(scorer.score(r.relay).total).toBe(r.total)
      }
      for (let i = 1; i < ranked.length; i++) {
        const a = ranked[i - 1]!
        const b = ranked[i]!
        const byTotal = a.total > b.total || (a.total === b.total && a.relay < b.relay)
        expect((!a.failing && b.failing) || (a.failing === b.failing && byTotal)).toBe(true)
      }
      expect(new Set(ranked.map((r) => r.relay)).size).toBe(ranked.length)
      expect(scorer.ranked()).toEqual(ranked)
      expect(Number.isFinite(scorer.score('relay-never-seen').total)).toBe(true)
    }), { numRuns: 300 })
  })
})
