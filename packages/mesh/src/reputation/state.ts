import type { ScorerOptions } from './options.js'
import type { ScoreParts } from './types.js'

/** An EWMA of samples with a decaying sample count (its confidence). */
export interface Mean {
  mean: number
  weight: number
}

/** What a scorer holds about one relay. Counters are as decayed at `tick`. */
export interface RelayEntry {
  /** The decay interval these counters were last brought up to: floor(now / intervalMs). */
  tick: number
  rtt?: Mean
  throughput?: Mean
  reservationsOk: number
  reservationsFailed: number
  circuitsOk: number
  circuitsFailed: number
  up: number
  down: number
  violations: number
  lastViolation?: string
  hops?: number
  aicSupport?: boolean
  bootstrap?: boolean
}

/** Our own experience with a peer as a reporter. */
export interface PeerEntry {
  tick: number
  ok: number
  failed: number
}

export function newRelayEntry (tick: number): RelayEntry {
  return { tick, reservationsOk: 0, reservationsFailed: 0, circuitsOk: 0, circuitsFailed: 0, up: 0, down: 0, violations: 0 }
}

/** `value` multiplied by `factor`, or 0 once below `toZero`. */
export function fade (value: number, factor: number, toZero: number): number {
  const v = value * factor
  return v < toZero ? 0 : v
}

const COUNTERS = ['reservationsOk', 'reservationsFailed', 'circuitsOk', 'circuitsFailed', 'up', 'down', 'violations'] as const

/**
 * Brings a relay's counters from `entry.tick` up to `tick`: each is multiplied by the decay factor
 * once per interval passed (factor^k at once, which is the same as k steps: a counter that drops
 * below toZero on the way is below it at the end). A mean whose sample count fades to zero is
 * forgotten. A clock that went back decays nothing.
 */
export function decayRelay (entry: RelayEntry, tick: number, o: ScorerOptions): void {
  const k = tick - entry.tick
  if (k <= 0) return
  entry.tick = tick
  const f = o.factor ** k
  for (const name of COUNTERS) entry[name] = fade(entry[name], f, o.toZero)
  if (entry.violations === 0) delete entry.lastViolation
  for (const name of ['rtt', 'throughput'] as const) {
    const m = entry[name]
    if (m === undefined) continue
    m.weight = fade(m.weight, f, o.toZero)
    if (m.weight === 0) delete entry[name]
  }
}

export function decayPeer (entry: PeerEntry, tick: number, o: ScorerOptions): void {
  const k = tick - entry.tick
  if (k <= 0) return
  entry.tick = tick
  const f = o.factor ** k
  entry.ok = fade(entry.ok, f, o.toZero)
  entry.failed = fade(entry.failed, f, o.toZero)
}

/** Adds a sample to an EWMA: the first sample sets the mean. */
export function addSample (m: Mean | undefined, sample: number, smoothing: number): Mean {
  if (m === undefined) return { mean: sample, weight: 1 }
  m.mean += smoothing * (sample - m.mean)
  m.weight += 1
  return m
}

/** How much own evidence an entry holds (decayed counts of every kind); who is evicted first. */
export function evidence (e: RelayEntry): number {
  let n = (e.rtt?.weight ?? 0) + (e.throughput?.weight ?? 0)
  for (const name of COUNTERS) n += e[name]
  return n
}

/** A success ratio with a uniform prior (one success and one failure): 0.5 with no data. */
export function ratio (ok: number, failed: number): number {
  return (ok + 1) / (ok + failed + 2)
}

/** A measured value blended with the prior by sample count: (w * measured + w0 * prior) / (w + w0). */
function blend (m: Mean | undefined, normalise: (x: number) => number, prior: number, priorWeight: number): number {
  if (m === undefined) return prior
  const x = normalise(m.mean)
  // the same as (w * x + w0 * prior) / (w + w0), without overflow for huge w
  return x + (prior - x) * (priorWeight / (m.weight + priorWeight))
}

/** The parts that come from our own data, before reports are blended into reputation. */
export interface OwnParts extends ScoreParts {
  /** The violation penalty, taken off reputation after reports are blended in. */
  penalty: number
}

/** The normalised parts of a relay's score from our own data (docs/reputation.md, "The parts"). */
export function ownParts (e: RelayEntry | undefined, o: ScorerOptions): OwnParts {
  const latency = blend(e?.rtt, (ms) => Math.min(ms, o.capRttMs) / o.referenceRttMs,
    Math.min(o.priorRttMs, o.capRttMs) / o.referenceRttMs, o.priorWeight)
  const bandwidth = blend(e?.throughput, (bps) => Math.min(bps / o.referenceThroughput, 1),
    Math.min(o.priorThroughput / o.referenceThroughput, 1), o.priorWeight)
  const reputation = ratio(e?.reservationsOk ?? 0, e?.reservationsFailed ?? 0) * ratio(e?.circuitsOk ?? 0, e?.circuitsFailed ?? 0)
  const v = e?.violations ?? 0
  return {
    latency,
    bandwidth,
    reputation,
    hops: e?.hops ?? 1,
    aicSupport: e?.aicSupport === true ? 1 : 0,
    uptime: ratio(e?.up ?? 0, e?.down ?? 0),
    penalty: Math.min(o.maxViolationPenalty, o.violationPenalty * v * v)
  }
}

/** The weighted sum of the parts. */
export function total (parts: ScoreParts, w: ScoreParts): number {
  return w.latency * parts.latency + w.bandwidth * parts.bandwidth + w.reputation * parts.reputation +
    w.hops * parts.hops + w.aicSupport * parts.aicSupport + w.uptime * parts.uptime
}
