import type { ComponentLogger, PeerId } from '@libp2p/interface'

/** A relay or peer, as a PeerId or its string form. Keys are always the string form. */
export type PeerRef = PeerId | string

/** The weight of each part in a relay's total score. See docs/reputation.md. */
export interface ScoreWeights {
  /** @default -0.40 */
  latency: number
  /** @default 0.25 */
  bandwidth: number
  /** @default 0.15 */
  reputation: number
  /** @default -0.10 */
  hops: number
  /** @default 0.05 */
  aicSupport: number
  /** @default 0.05 */
  uptime: number
}

/** The normalised parts of a score, each before its weight is applied. */
export type ScoreParts = ScoreWeights

/** `total` is the weighted sum of `parts`: higher is better. */
export interface RelayScore {
  readonly total: number
  readonly parts: Readonly<ScoreParts>
}

export interface RankedRelay extends RelayScore {
  /** The relay's PeerId string. */
  readonly relay: string
  /**
   * Its circuits fail more often than they work, by this peer's own count (at least
   * MIN_FAILED_CIRCUITS_TO_DEMOTE failed): `ranked()` puts it after every relay that is not, whatever
   * its total. A dial tried through it costs a failed attempt, worth more than any RTT difference.
   */
  readonly failing: boolean
}

/** Facts about a relay that do not decay: from its advert or from configuration. */
export interface RelayFacts {
  /** Relay hops a circuit through it takes (1 for a relay we reach directly). @default 1 */
  hops?: number
  /** Whether the relay carries AIC streams. @default false */
  aicSupport?: boolean
  /** A bootstrap relay: pre-trusted for reporter trust, and never evicted. @default false */
  bootstrap?: boolean
}

/**
 * A report from another peer about a relay: its opinion `value` from 0 (useless) to 1 (excellent),
 * made at `at` (ms since the epoch). The caller has checked the reporter's signature.
 */
export interface RelayReport {
  reporter: string
  relay: string
  value: number
  at: number
}

/** Options of `relayScorer()`: weights, decay, priors, report blending and limits (docs/reputation.md). */
export interface RelayScorerInit {
  /** Weights of the score parts; missing ones keep their default. @default DEFAULT_RELAY_SCORE_WEIGHTS */
  weights?: Partial<ScoreWeights>
  decay?: {
    /** Every counter halves in this time. @default 3600000 (1 hour) */
    halfLifeMs?: number
    /** Counters are multiplied by the decay factor once per interval. @default 1000 */
    intervalMs?: number
    /** A counter that decays below this goes to zero. @default 0.01 */
    toZero?: number
  }
  latency?: {
    /** The RTT that makes the latency part 1. @default 500 */
    referenceMs?: number
    /** RTT samples above this count as this. @default 2000 */
    capMs?: number
    /** The RTT assumed of a relay not yet measured. @default 250 */
    priorMs?: number
    /** EWMA factor of a new RTT sample. @default 0.25 */
    smoothing?: number
  }
  bandwidth?: {
    /** The throughput (bytes/s) that makes the bandwidth part 1; samples above it count as it. @default 1250000 */
    referenceBytesPerSecond?: number
    /** The throughput assumed of a relay not yet measured. @default 625000 */
    priorBytesPerSecond?: number
    /** EWMA factor of a new throughput sample. @default 0.25 */
    smoothing?: number
  }
  /** Pseudo-samples of the prior blended into the latency and bandwidth parts. @default 1 */
  priorWeight?: number
  violations?: {
    /** Reputation lost per violation, squared: penalty = min(max, penalty * violations^2). @default 0.25 */
    penalty?: number
    /** Most reputation lost to violations. @default 4 */
    max?: number
  }
  reports?: {
    /** Reports older than this are refused, and forgotten once they reach it. @default 3600000 (1 hour) */
    ttlMs?: number
    /** Reports dated further ahead of our clock than this are refused. @default 60000 */
    maxSkewMs?: number
    /** Most weight reports from others get in the reputation part: own data keeps at least 1 - mix. @default 0.25 */
    mix?: number
    /** Reports kept per relay; a new reporter past this replaces the oldest report. @default 64 */
    maxPerRelay?: number
  }
  /** Peers and relays whose reports we trust a priori (bootstrap relays); anchors reporter trust. @default [] */
  preTrusted?: PeerRef[]
  trust?: {
    /** EigenTrust damping: share of trust sent back to the seed (pre-trusted and own experience) each round. @default 0.15 */
    damping?: number
    /** Share of the seed given to pre-trusted peers when we also have own experience with reporters. @default 0.5 */
    preTrustedShare?: number
  }
  /** Most relays (and, separately, reporters) kept; past it the one with the least evidence is forgotten. @default 1024 */
  maxRelays?: number
  /** A snapshot from `toJSON()` to start from; validated (TypeError when corrupt). */
  state?: unknown
}

/** What `relayScorer()` takes from its host: a clock and a logger. */
export interface RelayScorerComponents {
  /** The clock, ms since the epoch. @default Date.now */
  now?: () => number
  logger?: ComponentLogger
}

/** Ranks relays by their decaying counters and blended reports (docs/reputation.md); made by `relayScorer()`. */
export interface RelayScorer {
  /** A round-trip time to the relay (ping), in ms. */
  recordRtt(relay: PeerRef, ms: number): void
  /** A reservation on the relay was made (true) or refused or lost (false). */
  recordReservation(relay: PeerRef, ok: boolean): void
  /** A dial through the relay (a circuit) worked or failed. */
  recordCircuit(relay: PeerRef, ok: boolean): void
  /** Throughput measured through the relay, bytes per second. */
  recordThroughput(relay: PeerRef, bytesPerSecond: number): void
  /** The relay was seen up or down at a check. */
  recordUptime(relay: PeerRef, up: boolean): void
  /** The relay broke the protocol (a malformed message, an invalid advert). */
  recordViolation(relay: PeerRef, reason: string): void
  /** Static facts about the relay; fields left out keep their value. */
  setRelayInfo(relay: PeerRef, facts: RelayFacts): void
  /** Our own experience with a peer as a reporter (its reports held true, or not). */
  recordPeerTrust(peer: PeerRef, ok: boolean): void
  /** Blends a verified report in; returns false for an exact duplicate. RangeError/TypeError for a bad one. */
  addReport(report: RelayReport): boolean
  /** The score of one relay; a relay with no data gets the prior. */
  score(relay: PeerRef): RelayScore
  /** Every known relay, best first; ties broken by PeerId string. */
  ranked(): RankedRelay[]
  /** Reporter weights (0..1) from the EigenTrust computation, for inspection. */
  trust(): Map<string, number>
  /** Whether any data about the relay is held. */
  has(relay: PeerRef): boolean
  /** Drops everything about the relay, and the reports about it. */
  forget(relay: PeerRef): boolean
  /** A versioned snapshot of every counter, decayed up to now. */
  toJSON(): ReputationSnapshot
  /** Replaces the state with a snapshot; TypeError naming what is wrong when it is corrupt. */
  load(snapshot: unknown): void
}

/** A decaying mean (RTT or throughput) in a snapshot. */
export interface MeanSnapshot {
  /** EWMA of the samples. */
  mean: number
  /** Decayed count of samples. */
  weight: number
}

/** One relay's counters in a snapshot. */
export interface RelaySnapshot {
  rtt?: MeanSnapshot
  throughput?: MeanSnapshot
  reservations: { ok: number, failed: number }
  circuits: { ok: number, failed: number }
  uptime: { up: number, down: number }
  violations: number
  lastViolation?: string
  hops?: number
  aicSupport?: boolean
  bootstrap?: boolean
}

/** Version 1 of the snapshot format. Counters are as decayed at `savedAt`. */
export interface ReputationSnapshot {
  version: 1
  /** ms since the epoch. */
  savedAt: number
  relays: Record<string, RelaySnapshot>
  peers: Record<string, { ok: number, failed: number }>
  reports: RelayReport[]
}
