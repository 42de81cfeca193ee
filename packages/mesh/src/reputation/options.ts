import {
  DEFAULT_RELAY_SCORE_WEIGHTS, DEFAULT_REPUTATION_DECAY_INTERVAL_MS, DEFAULT_REPUTATION_DECAY_TO_ZERO,
  DEFAULT_REPUTATION_HALF_LIFE_MS, DEFAULT_REPUTATION_MAX_RELAYS, DEFAULT_REPUTATION_MAX_REPORTS_PER_RELAY,
  DEFAULT_REPUTATION_PRE_TRUSTED_SHARE, DEFAULT_REPUTATION_PRIOR_RTT_MS, DEFAULT_REPUTATION_PRIOR_THROUGHPUT,
  DEFAULT_REPUTATION_PRIOR_WEIGHT, DEFAULT_REPUTATION_REFERENCE_RTT_MS, DEFAULT_REPUTATION_REFERENCE_THROUGHPUT,
  DEFAULT_REPUTATION_REPORT_MAX_SKEW_MS, DEFAULT_REPUTATION_REPORT_MIX, DEFAULT_REPUTATION_REPORT_TTL_MS,
  DEFAULT_REPUTATION_SMOOTHING, DEFAULT_REPUTATION_TRUST_DAMPING, DEFAULT_REPUTATION_VIOLATION_PENALTY,
  MAX_REPUTATION_RTT_MS, MAX_REPUTATION_VIOLATION_PENALTY
} from '../constants.js'
import { between, finite, idOf, integer, nonNegative, option, positive, share, show } from './check.js'
import type { RelayScorerInit, ScoreWeights } from './types.js'

/** RelayScorerInit with every default resolved and every value checked. */
export interface ScorerOptions {
  weights: Readonly<ScoreWeights>
  halfLifeMs: number
  intervalMs: number
  /** Multiplier applied to every counter once per interval: 0.5^(intervalMs / halfLifeMs). */
  factor: number
  toZero: number
  referenceRttMs: number
  capRttMs: number
  priorRttMs: number
  rttSmoothing: number
  referenceThroughput: number
  priorThroughput: number
  throughputSmoothing: number
  priorWeight: number
  violationPenalty: number
  maxViolationPenalty: number
  reportTtlMs: number
  reportMaxSkewMs: number
  reportMix: number
  maxReportsPerRelay: number
  preTrusted: ReadonlySet<string>
  damping: number
  preTrustedShare: number
  maxRelays: number
}

const WEIGHT_NAMES = Object.keys(DEFAULT_RELAY_SCORE_WEIGHTS) as Array<keyof ScoreWeights>

/** Resolves the defaults of `init` once; TypeError/RangeError naming the first bad option. */
export function resolveOptions (init: RelayScorerInit = {}): ScorerOptions {
  if (init === null || typeof init !== 'object') throw new TypeError(`init must be an object, got ${show(init)}`)
  const weights: ScoreWeights = { ...DEFAULT_RELAY_SCORE_WEIGHTS }
  for (const [key, value] of Object.entries(init.weights ?? {})) {
    if (!(WEIGHT_NAMES as string[]).includes(key)) {
      throw new TypeError(`init.weights.${key} is not a score part; the parts are ${WEIGHT_NAMES.join(', ')}`)
    }
    if (value !== undefined) weights[key as keyof ScoreWeights] = finite(`init.weights.${key}`, value)
  }
  const d = init.decay ?? {}
  const halfLifeMs = option(d.halfLifeMs, DEFAULT_REPUTATION_HALF_LIFE_MS, (v) => positive('init.decay.halfLifeMs', v))
  const intervalMs = option(d.intervalMs, DEFAULT_REPUTATION_DECAY_INTERVAL_MS, (v) => positive('init.decay.intervalMs', v))
  const l = init.latency ?? {}
  const b = init.bandwidth ?? {}
  const v = init.violations ?? {}
  const r = init.reports ?? {}
  const t = init.trust ?? {}
  const preTrusted = init.preTrusted ?? []
  if (!Array.isArray(preTrusted)) throw new TypeError(`init.preTrusted must be an array of PeerIds, got ${show(preTrusted)}`)
  const referenceThroughput = option(b.referenceBytesPerSecond, DEFAULT_REPUTATION_REFERENCE_THROUGHPUT, (x) => positive('init.bandwidth.referenceBytesPerSecond', x))
  return {
    weights: Object.freeze(weights),
    halfLifeMs,
    intervalMs,
    factor: 0.5 ** (intervalMs / halfLifeMs),
    toZero: option(d.toZero, DEFAULT_REPUTATION_DECAY_TO_ZERO, (x) => between('init.decay.toZero', x, 0, 1)),
    referenceRttMs: option(l.referenceMs, DEFAULT_REPUTATION_REFERENCE_RTT_MS, (x) => positive('init.latency.referenceMs', x)),
    capRttMs: option(l.capMs, MAX_REPUTATION_RTT_MS, (x) => positive('init.latency.capMs', x)),
    priorRttMs: option(l.priorMs, DEFAULT_REPUTATION_PRIOR_RTT_MS, (x) => nonNegative('init.latency.priorMs', x)),
    rttSmoothing: option(l.smoothing, DEFAULT_REPUTATION_SMOOTHING, (x) => share('init.latency.smoothing', x)),
    referenceThroughput,
    priorThroughput: option(b.priorBytesPerSecond, DEFAULT_REPUTATION_PRIOR_THROUGHPUT, (x) => nonNegative('init.bandwidth.priorBytesPerSecond', x)),
    throughputSmoothing: option(b.smoothing, DEFAULT_REPUTATION_SMOOTHING, (x) => share('init.bandwidth.smoothing', x)),
    priorWeight: option(init.priorWeight, DEFAULT_REPUTATION_PRIOR_WEIGHT, (x) => nonNegative('init.priorWeight', x)),
    violationPenalty: option(v.penalty, DEFAULT_REPUTATION_VIOLATION_PENALTY, (x) => nonNegative('init.violations.penalty', x)),
    maxViolationPenalty: option(v.max, MAX_REPUTATION_VIOLATION_PENALTY, (x) => nonNegative('init.violations.max', x)),
    reportTtlMs: option(r.ttlMs, DEFAULT_REPUTATION_REPORT_TTL_MS, (x) => positive('init.reports.ttlMs', x)),
    reportMaxSkewMs: option(r.maxSkewMs, DEFAULT_REPUTATION_REPORT_MAX_SKEW_MS, (x) => nonNegative('init.reports.maxSkewMs', x)),
    reportMix: option(r.mix, DEFAULT_REPUTATION_REPORT_MIX, (x) => between('init.reports.mix', x, 0, 1)),
    maxReportsPerRelay: option(r.maxPerRelay, DEFAULT_REPUTATION_MAX_REPORTS_PER_RELAY, (x) => integer('init.reports.maxPerRelay', x, 1)),
    preTrusted: new Set(preTrusted.map((p, i) => idOf(p, `init.preTrusted[${i}]`))),
    damping: option(t.damping, DEFAULT_REPUTATION_TRUST_DAMPING, (x) => share('init.trust.damping', x)),
    preTrustedShare: option(t.preTrustedShare, DEFAULT_REPUTATION_PRE_TRUSTED_SHARE, (x) => between('init.trust.preTrustedShare', x, 0, 1)),
    maxRelays: option(init.maxRelays, DEFAULT_REPUTATION_MAX_RELAYS, (x) => integer('init.maxRelays', x, 1))
  }
}
