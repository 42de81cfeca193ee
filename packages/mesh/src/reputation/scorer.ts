import { defaultLogger } from '@libp2p/logger'
import { MIN_FAILED_CIRCUITS_TO_DEMOTE, REPUTATION_SNAPSHOT_VERSION } from '../constants.js'
import { between, boolean, finite, idOf, integer, nonNegative, show } from './check.js'
import { resolveOptions } from './options.js'
import { MAX_REASON_LENGTH, parseSnapshot, peerFromSnapshot, relayFromSnapshot, relayToSnapshot } from './snapshot.js'
import { addSample, decayPeer, decayRelay, evidence, newRelayEntry, ownParts, total } from './state.js'
import { eigenTrust } from './trust.js'
import type { ScorerOptions } from './options.js'
import type { PeerEntry, RelayEntry } from './state.js'
import type {
  PeerRef, RankedRelay, RelayFacts, RelayReport, RelayScore, RelayScorer, RelayScorerComponents, RelayScorerInit,
  ReputationSnapshot
} from './types.js'
import type { Logger } from '@libp2p/interface'

interface HeldReport {
  value: number
  at: number
}

/**
 * Per-relay reputation from this peer's own measurements, with verified reports from other peers
 * blended in by the reporters' EigenTrust weight. Decay is applied lazily from the injected clock,
 * so it owns no timers. See docs/reputation.md for the formula.
 */
class DefaultRelayScorer implements RelayScorer {
  private readonly o: ScorerOptions
  private readonly now: () => number
  private readonly log: Logger
  private relays = new Map<string, RelayEntry>()
  private peers = new Map<string, PeerEntry>()
  /** reports.get(relay).get(reporter) */
  private reports = new Map<string, Map<string, HeldReport>>()
  /** Bumped on every change the trust vector depends on; with the tick, the cache key of `weights`. */
  private version = 0
  private weights?: { version: number, tick: number, trust: Map<string, number> }

  constructor (init: RelayScorerInit = {}, components: RelayScorerComponents = {}) {
    this.o = resolveOptions(init)
    this.now = components.now ?? Date.now
    this.log = (components.logger ?? defaultLogger()).forComponent('auralink:mesh:reputation')
    if (init.state !== undefined) this.load(init.state)
  }

  recordRtt (relay: PeerRef, ms: number): void {
    const e = this.entry(relay, 'relay', ms, (v) => nonNegative('ms', v))
    e.rtt = addSample(e.rtt, Math.min(ms, this.o.capRttMs), this.o.rttSmoothing)
  }

  recordReservation (relay: PeerRef, ok: boolean): void {
    const e = this.entry(relay, 'relay', ok, (v) => boolean('ok', v))
    if (ok) e.reservationsOk++
    else e.reservationsFailed++
  }

  recordCircuit (relay: PeerRef, ok: boolean): void {
    const e = this.entry(relay, 'relay', ok, (v) => boolean('ok', v))
    if (ok) e.circuitsOk++
    else e.circuitsFailed++
  }

  recordThroughput (relay: PeerRef, bytesPerSecond: number): void {
    const e = this.entry(relay, 'relay', bytesPerSecond, (v) => nonNegative('bytesPerSecond', v))
    e.throughput = addSample(e.throughput, Math.min(bytesPerSecond, this.o.referenceThroughput), this.o.throughputSmoothing)
  }

  recordUptime (relay: PeerRef, up: boolean): void {
    const e = this.entry(relay, 'relay', up, (v) => boolean('up', v))
    if (up) e.up++
    else e.down++
  }

  recordViolation (relay: PeerRef, reason: string): void {
    const e = this.entry(relay, 'relay', reason, (v) => {
      if (typeof v !== 'string' || v === '') throw new TypeError(`reason must be a non-empty string, got ${show(v)}`)
    })
    e.violations++
    e.lastViolation = reason.slice(0, MAX_REASON_LENGTH)
    this.log('relay %s broke the protocol (%s), %d violations', relayKey(relay), e.lastViolation, e.violations)
  }

  setRelayInfo (relay: PeerRef, facts: RelayFacts): void {
    const e = this.entry(relay, 'relay', facts, (v) => {
      if (v === null || typeof v !== 'object') throw new TypeError(`facts must be an object, got ${show(v)}`)
      const f = v as RelayFacts
      if (f.hops !== undefined) integer('facts.hops', f.hops, 0)
      if (f.aicSupport !== undefined) boolean('facts.aicSupport', f.aicSupport)
      if (f.bootstrap !== undefined) boolean('facts.bootstrap', f.bootstrap)
    })
    if (facts.hops !== undefined) e.hops = facts.hops
    if (facts.aicSupport !== undefined) e.aicSupport = facts.aicSupport
    if (facts.bootstrap !== undefined && facts.bootstrap !== e.bootstrap) {
      e.bootstrap = facts.bootstrap
      this.version++
    }
  }

  recordPeerTrust (peer: PeerRef, ok: boolean): void {
    const id = idOf(peer, 'peer')
    boolean('ok', ok)
    const tick = this.tick()
    let p = this.peers.get(id)
    if (p === undefined) {
      if (this.peers.size >= this.o.maxRelays) this.evictPeer(tick)
      p = { tick, ok: 0, failed: 0 }
      this.peers.set(id, p)
    }
    decayPeer(p, tick, this.o)
    if (ok) p.ok++
    else p.failed++
    this.version++
  }

  addReport (report: RelayReport): boolean {
    if (report === null || typeof report !== 'object') throw new TypeError(`report must be an object, got ${show(report)}`)
    const reporter = idOf(report.reporter, 'report.reporter')
    const relay = idOf(report.relay, 'report.relay')
    const value = between('report.value', report.value, 0, 1)
    const at = finite('report.at', report.at)
    const now = this.now()
    if (at <= now - this.o.reportTtlMs) {
      throw new RangeError(`report.at is older than the report TTL of ${this.o.reportTtlMs} ms: ${at} (now ${now})`)
    }
    if (at > now + this.o.reportMaxSkewMs) {
      throw new RangeError(`report.at is ${at - now} ms ahead of our clock, more than ${this.o.reportMaxSkewMs} ms: ${at}`)
    }
    if (reporter === relay) throw new RangeError(`report.reporter must not be the relay it reports on, got ${show(reporter)}`)
    if (!this.relays.has(relay)) {
      this.log('report from %s about unknown relay %s not kept', reporter, relay)
      return false
    }
    const held = this.heldReports(relay, now)
    const before = held.get(reporter)
    if (before !== undefined) {
      if (at === before.at && value === before.value) return false
      if (at <= before.at) {
        throw new RangeError(`report.at must be later than that of the report already held from ${reporter} about ${relay} (${before.at}), got ${at}`)
      }
    } else if (held.size >= this.o.maxReportsPerRelay) {
      const [oldest] = [...held].sort(([a, x], [b, y]) => x.at - y.at || (a < b ? -1 : 1))[0] ?? []
      if (oldest !== undefined) held.delete(oldest)
    }
    held.set(reporter, { value, at })
    this.reports.set(relay, held)
    this.version++
    return true
  }

  score (relay: PeerRef): RelayScore {
    const id = idOf(relay, 'relay')
    return this.scoreOf(id, this.trustWeights())
  }

  ranked (): RankedRelay[] {
    const trust = this.trustWeights()
    return [...this.relays.keys()]
      .map((relay) => ({ relay, ...this.scoreOf(relay, trust), failing: this.failing(relay) }))
      // relays whose circuits mostly fail go last: the score weighs latency against reputation,
      // and on a busy machine a working relay's RTT rose past what a failing one's reputation
      // costs it (found under load: a relay that cut every circuit was tried first again)
      .sort((a, b) => Number(a.failing) - Number(b.failing) || b.total - a.total || (a.relay < b.relay ? -1 : a.relay > b.relay ? 1 : 0))
  }

  /** Whether this peer's own count says the relay's circuits fail more often than they work. */
  private failing (relay: string): boolean {
    const e = this.relays.get(relay)
    return e !== undefined && e.circuitsFailed >= MIN_FAILED_CIRCUITS_TO_DEMOTE && e.circuitsFailed > e.circuitsOk
  }

  trust (): Map<string, number> {
    return new Map(this.trustWeights())
  }

  has (relay: PeerRef): boolean {
    return this.relays.has(idOf(relay, 'relay'))
  }

  forget (relay: PeerRef): boolean {
    const id = idOf(relay, 'relay')
    this.reports.delete(id)
    this.version++
    return this.relays.delete(id)
  }

  toJSON (): ReputationSnapshot {
    const now = this.now()
    const tick = this.tick()
    const relays: Record<string, ReturnType<typeof relayToSnapshot>> = {}
    const reports: RelayReport[] = []
    for (const [id, e] of [...this.relays].sort(([a], [b]) => a < b ? -1 : 1)) {
      decayRelay(e, tick, this.o)
      Object.defineProperty(relays, id, { value: relayToSnapshot(e), enumerable: true, writable: true, configurable: true })
      for (const [reporter, r] of this.heldReports(id, now)) reports.push({ reporter, relay: id, value: r.value, at: r.at })
    }
    const peers: Record<string, { ok: number, failed: number }> = {}
    for (const [id, p] of [...this.peers].sort(([a], [b]) => a < b ? -1 : 1)) {
      decayPeer(p, tick, this.o)
      if (p.ok === 0 && p.failed === 0) continue
      Object.defineProperty(peers, id, { value: { ok: p.ok, failed: p.failed }, enumerable: true, writable: true, configurable: true })
    }
    return { version: REPUTATION_SNAPSHOT_VERSION, savedAt: now, relays, peers, reports }
  }

  load (snapshot: unknown): void {
    const s = parseSnapshot(snapshot, { maxRelays: this.o.maxRelays, maxReportsPerRelay: this.o.maxReportsPerRelay })
    const tick = Math.floor(s.savedAt / this.o.intervalMs)
    const relays = new Map<string, RelayEntry>()
    for (const [id, r] of Object.entries(s.relays)) relays.set(id, relayFromSnapshot(r, tick))
    const peers = new Map<string, PeerEntry>()
    for (const [id, p] of Object.entries(s.peers)) peers.set(id, peerFromSnapshot(p, tick))
    const reports = new Map<string, Map<string, HeldReport>>()
    for (const r of s.reports) {
      const held = reports.get(r.relay) ?? new Map<string, HeldReport>()
      held.set(r.reporter, { value: r.value, at: r.at })
      reports.set(r.relay, held)
    }
    this.relays = relays
    this.peers = peers
    this.reports = reports
    this.version++
    this.log('loaded %d relays, %d reporters, %d reports saved at %d', relays.size, peers.size, s.reports.length, s.savedAt)
  }

  private tick (): number {
    return Math.floor(this.now() / this.o.intervalMs)
  }

  /** The relay's entry, decayed up to now and created when new, after `check(value)` passed. */
  private entry<T> (relay: PeerRef, name: string, value: T, check: (v: unknown) => void): RelayEntry {
    const id = idOf(relay, name)
    check(value)
    const tick = this.tick()
    let e = this.relays.get(id)
    if (e === undefined) {
      if (this.relays.size >= this.o.maxRelays) this.evictRelay(tick)
      e = newRelayEntry(tick)
      this.relays.set(id, e)
      this.version++
    }
    decayRelay(e, tick, this.o)
    return e
  }

  /**
   * Forgets the relay with the least own evidence (ties: the smallest id), sparing bootstrap and
   * pre-trusted relays unless every relay held is one.
   */
  private evictRelay (tick: number): void {
    const pick = (spare: boolean): [string, number] | undefined => {
      let victim: [string, number] | undefined
      for (const [id, e] of [...this.relays].sort(([a], [b]) => a < b ? -1 : 1)) {
        if (spare && (e.bootstrap === true || this.o.preTrusted.has(id))) continue
        decayRelay(e, tick, this.o)
        const n = evidence(e)
        if (victim === undefined || n < victim[1]) victim = [id, n]
      }
      return victim
    }
    const victim = pick(true) ?? pick(false)
    if (victim === undefined) return
    this.relays.delete(victim[0])
    this.reports.delete(victim[0])
    this.version++
    this.log('more than %d relays: forgot %s (evidence %d)', this.o.maxRelays, victim[0], victim[1])
  }

  private evictPeer (tick: number): void {
    let victim: string | undefined
    let least = Infinity
    for (const [id, p] of [...this.peers].sort(([a], [b]) => a < b ? -1 : 1)) {
      decayPeer(p, tick, this.o)
      if (p.ok + p.failed < least) { least = p.ok + p.failed; victim = id }
    }
    if (victim !== undefined) this.peers.delete(victim)
  }

  /** The reports held about a relay, those past their TTL dropped. */
  private heldReports (relay: string, now: number): Map<string, HeldReport> {
    const held = this.reports.get(relay) ?? new Map<string, HeldReport>()
    for (const [reporter, r] of held) {
      if (r.at <= now - this.o.reportTtlMs) { held.delete(reporter); this.version++ }
    }
    return held
  }

  /** Reporter weights, recomputed when what they depend on changed or a decay interval passed. */
  private trustWeights (): Map<string, number> {
    const tick = this.tick()
    const now = this.now()
    for (const relay of this.reports.keys()) this.heldReports(relay, now)
    if (this.weights?.version === this.version && this.weights.tick === tick) return this.weights.trust
    const local = new Map<string, number>()
    for (const [id, p] of this.peers) {
      decayPeer(p, tick, this.o)
      if (p.ok > p.failed) local.set(id, p.ok - p.failed)
    }
    const opinions = new Map<string, Map<string, number>>()
    for (const [relay, held] of this.reports) {
      for (const [reporter, r] of held) {
        const row = opinions.get(reporter) ?? new Map<string, number>()
        row.set(relay, r.value)
        opinions.set(reporter, row)
      }
    }
    const preTrusted = new Set(this.o.preTrusted)
    for (const [id, e] of this.relays) if (e.bootstrap === true) preTrusted.add(id)
    const trust = eigenTrust({ preTrusted, local, opinions, damping: this.o.damping, preTrustedShare: this.o.preTrustedShare })
    this.weights = { version: this.version, tick, trust }
    return trust
  }

  private scoreOf (relay: string, trust: Map<string, number>): RelayScore {
    const e = this.relays.get(relay)
    if (e !== undefined) decayRelay(e, this.tick(), this.o)
    const { penalty, ...parts } = ownParts(e, this.o)
    // reports: trust-weighted mean of the values, each weight also halved per half-life of age
    let weight = 0
    let sum = 0
    const now = this.now()
    for (const [reporter, r] of this.reports.get(relay) ?? []) {
      const w = (trust.get(reporter) ?? 0) * 0.5 ** (Math.max(0, now - r.at) / this.o.halfLifeMs)
      weight += w
      sum += w * r.value
    }
    if (weight > 0) {
      const mix = this.o.reportMix * Math.min(1, weight)
      parts.reputation = (1 - mix) * parts.reputation + mix * (sum / weight)
    }
    parts.reputation -= penalty
    return { total: total(parts, this.o.weights), parts: Object.freeze(parts) }
  }
}

function relayKey (relay: PeerRef): string {
  return typeof relay === 'string' ? relay : relay.toString()
}

/**
 * Makes a relay scorer: decaying per-relay counters from this peer's own measurements, turned into
 * a score whose parts are weighted latency -0.40, bandwidth 0.25, reputation 0.15, hops -0.10,
 * AIC support 0.05 and uptime 0.05 by default. Reports from other peers are blended into the
 * reputation part by the reporter's EigenTrust weight, anchored on `init.preTrusted` and on
 * bootstrap relays. Decay follows `components.now`; nothing runs in the background.
 *
 * @example
 * ```ts
 * const scorer = relayScorer({ preTrusted: [bootstrapRelayId] })
 * scorer.recordRtt(relayId, 42)
 * scorer.recordCircuit(relayId, true)
 * const [best] = scorer.ranked()
 * ```
 */
export function relayScorer (init?: RelayScorerInit, components?: RelayScorerComponents): RelayScorer {
  return new DefaultRelayScorer(init, components)
}
