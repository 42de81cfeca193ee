import { DEFAULT_REPUTATION_MAX_RELAYS, DEFAULT_REPUTATION_MAX_REPORTS_PER_RELAY, REPUTATION_SNAPSHOT_VERSION } from '../constants.js'
import { show } from './check.js'
import { newRelayEntry } from './state.js'
import type { Mean, PeerEntry, RelayEntry } from './state.js'
import type { MeanSnapshot, RelayReport, RelaySnapshot, ReputationSnapshot } from './types.js'

/** Longest `lastViolation` reason kept. */
export const MAX_REASON_LENGTH = 200

export interface SnapshotLimits {
  maxRelays: number
  maxReportsPerRelay: number
}

// Every check throws a TypeError naming the path of the bad field: a corrupt snapshot is never
// silently reset (the caller decides whether to start afresh).

function fail (path: string, what: string, value: unknown): never {
  throw new TypeError(`${path} must be ${what}, got ${show(value)}`)
}

function record (path: string, value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(path, 'an object', value)
  return value as Record<string, unknown>
}

function count (path: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) fail(path, 'a finite number >= 0', value)
  return value
}

function id (path: string, value: unknown): string {
  if (typeof value !== 'string' || value === '' || value.length > 256) fail(path, 'a PeerId string of 1 to 256 characters', value)
  return value
}

function optional<T> (o: Record<string, unknown>, key: string, path: string, check: (path: string, v: unknown) => T): T | undefined {
  return o[key] === undefined ? undefined : check(`${path}.${key}`, o[key])
}

function mean (path: string, value: unknown): MeanSnapshot {
  const o = record(path, value)
  const weight = count(`${path}.weight`, o.weight)
  if (weight === 0) fail(`${path}.weight`, 'above 0 (a mean with no samples is left out)', weight)
  return { mean: count(`${path}.mean`, o.mean), weight }
}

function pair<A extends string, B extends string> (path: string, value: unknown, a: A, b: B): Record<A | B, number> {
  const o = record(path, value)
  return { [a]: count(`${path}.${a}`, o[a]), [b]: count(`${path}.${b}`, o[b]) } as Record<A | B, number>
}

function bool (path: string, value: unknown): boolean {
  if (typeof value !== 'boolean') fail(path, 'a boolean', value)
  return value
}

function relay (path: string, value: unknown): RelaySnapshot {
  const o = record(path, value)
  const out: RelaySnapshot = {
    reservations: pair(`${path}.reservations`, o.reservations, 'ok', 'failed'),
    circuits: pair(`${path}.circuits`, o.circuits, 'ok', 'failed'),
    uptime: pair(`${path}.uptime`, o.uptime, 'up', 'down'),
    violations: count(`${path}.violations`, o.violations)
  }
  const rtt = optional(o, 'rtt', path, mean)
  const throughput = optional(o, 'throughput', path, mean)
  const lastViolation = optional(o, 'lastViolation', path, (p, v) => {
    if (typeof v !== 'string' || v.length > MAX_REASON_LENGTH) fail(p, `a string of at most ${MAX_REASON_LENGTH} characters`, v)
    return v
  })
  const hops = optional(o, 'hops', path, (p, v) => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(p, 'an integer >= 0', v)
    return v
  })
  const aicSupport = optional(o, 'aicSupport', path, bool)
  const bootstrap = optional(o, 'bootstrap', path, bool)
  if (rtt !== undefined) out.rtt = rtt
  if (throughput !== undefined) out.throughput = throughput
  if (lastViolation !== undefined) out.lastViolation = lastViolation
  if (hops !== undefined) out.hops = hops
  if (aicSupport !== undefined) out.aicSupport = aicSupport
  if (bootstrap !== undefined) out.bootstrap = bootstrap
  return out
}

function report (path: string, value: unknown): RelayReport {
  const o = record(path, value)
  const v = o.value
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) fail(`${path}.value`, 'a number from 0 to 1', v)
  const at = o.at
  if (typeof at !== 'number' || !Number.isFinite(at)) fail(`${path}.at`, 'a finite number (ms since the epoch)', at)
  return { reporter: id(`${path}.reporter`, o.reporter), relay: id(`${path}.relay`, o.relay), value: v, at }
}

/**
 * Checks that `value` is a version 1 snapshot within `limits`, field by field; returns a clean copy.
 * TypeError naming the first bad field (e.g. `snapshot.relays["12D3..."].circuits.ok`).
 */
export function parseSnapshot (value: unknown, limits: SnapshotLimits): ReputationSnapshot {
  const o = record('snapshot', value)
  if (o.version !== REPUTATION_SNAPSHOT_VERSION) fail('snapshot.version', String(REPUTATION_SNAPSHOT_VERSION), o.version)
  const savedAt = o.savedAt
  if (typeof savedAt !== 'number' || !Number.isFinite(savedAt)) fail('snapshot.savedAt', 'a finite number (ms since the epoch)', savedAt)
  const relaysIn = Object.entries(record('snapshot.relays', o.relays))
  if (relaysIn.length > limits.maxRelays) fail('snapshot.relays', `at most ${limits.maxRelays} relays (maxRelays)`, `${relaysIn.length} relays`)
  const relays: Record<string, RelaySnapshot> = {}
  for (const [key, r] of relaysIn) {
    const path = `snapshot.relays[${JSON.stringify(key)}]`
    Object.defineProperty(relays, id(path, key), { value: relay(path, r), enumerable: true, writable: true, configurable: true })
  }
  const peersIn = Object.entries(record('snapshot.peers', o.peers))
  if (peersIn.length > limits.maxRelays) fail('snapshot.peers', `at most ${limits.maxRelays} peers (maxRelays)`, `${peersIn.length} peers`)
  const peers: Record<string, { ok: number, failed: number }> = {}
  for (const [key, p] of peersIn) {
    const path = `snapshot.peers[${JSON.stringify(key)}]`
    Object.defineProperty(peers, id(path, key), { value: pair(path, p, 'ok', 'failed'), enumerable: true, writable: true, configurable: true })
  }
  if (!Array.isArray(o.reports)) fail('snapshot.reports', 'an array', o.reports)
  const reports = o.reports.map((r, i) => report(`snapshot.reports[${i}]`, r))
  const perRelay = new Map<string, Set<string>>()
  for (const [i, r] of reports.entries()) {
    if (r.reporter === r.relay) fail(`snapshot.reports[${i}].reporter`, 'another peer than the relay it reports on', r.reporter)
    if (!Object.hasOwn(relays, r.relay)) fail(`snapshot.reports[${i}].relay`, 'a relay listed in snapshot.relays', r.relay)
    const seen = perRelay.get(r.relay) ?? new Set<string>()
    if (seen.has(r.reporter)) fail(`snapshot.reports[${i}]`, 'the only report from its reporter about its relay', `a second report from ${r.reporter}`)
    seen.add(r.reporter)
    if (seen.size > limits.maxReportsPerRelay) fail(`snapshot.reports[${i}]`, `one of at most ${limits.maxReportsPerRelay} reports about its relay`, r.relay)
    perRelay.set(r.relay, seen)
  }
  return { version: REPUTATION_SNAPSHOT_VERSION, savedAt, relays, peers, reports }
}

const copyMean = (m: Mean): MeanSnapshot => ({ mean: m.mean, weight: m.weight })

export function relayToSnapshot (e: RelayEntry): RelaySnapshot {
  const out: RelaySnapshot = {
    reservations: { ok: e.reservationsOk, failed: e.reservationsFailed },
    circuits: { ok: e.circuitsOk, failed: e.circuitsFailed },
    uptime: { up: e.up, down: e.down },
    violations: e.violations
  }
  if (e.rtt !== undefined) out.rtt = copyMean(e.rtt)
  if (e.throughput !== undefined) out.throughput = copyMean(e.throughput)
  if (e.lastViolation !== undefined) out.lastViolation = e.lastViolation
  if (e.hops !== undefined) out.hops = e.hops
  if (e.aicSupport !== undefined) out.aicSupport = e.aicSupport
  if (e.bootstrap !== undefined) out.bootstrap = e.bootstrap
  return out
}

/** An entry from a checked snapshot, its counters as of `tick` (the snapshot's savedAt). */
export function relayFromSnapshot (s: RelaySnapshot, tick: number): RelayEntry {
  const e = newRelayEntry(tick)
  e.reservationsOk = s.reservations.ok
  e.reservationsFailed = s.reservations.failed
  e.circuitsOk = s.circuits.ok
  e.circuitsFailed = s.circuits.failed
  e.up = s.uptime.up
  e.down = s.uptime.down
  e.violations = s.violations
  if (s.rtt !== undefined) e.rtt = copyMean(s.rtt)
  if (s.throughput !== undefined) e.throughput = copyMean(s.throughput)
  if (s.lastViolation !== undefined) e.lastViolation = s.lastViolation
  if (s.hops !== undefined) e.hops = s.hops
  if (s.aicSupport !== undefined) e.aicSupport = s.aicSupport
  if (s.bootstrap !== undefined) e.bootstrap = s.bootstrap
  return e
}

export function peerFromSnapshot (s: { ok: number, failed: number }, tick: number): PeerEntry {
  return { tick, ok: s.ok, failed: s.failed }
}

/** The limits a store checks a loaded snapshot against: the scorer's defaults, or the store's own. */
export function storeLimits (limits: Partial<SnapshotLimits> = {}): SnapshotLimits {
  return {
    maxRelays: limits.maxRelays ?? DEFAULT_REPUTATION_MAX_RELAYS,
    maxReportsPerRelay: limits.maxReportsPerRelay ?? DEFAULT_REPUTATION_MAX_REPORTS_PER_RELAY
  }
}

/**
 * A snapshot as a store kept it (JSON text, or an already parsed value), checked: a TypeError
 * naming `where` (the file, the IndexedDB entry) when it is not JSON or not a valid snapshot.
 */
export function parseStoredSnapshot (stored: unknown, where: string, limits: SnapshotLimits): ReputationSnapshot {
  let value: unknown
  try {
    value = typeof stored === 'string' ? JSON.parse(stored) : stored
  } catch (err) {
    throw new TypeError(`${where} is not JSON: ${(err as Error).message}`, { cause: err })
  }
  try {
    return parseSnapshot(value, limits)
  } catch (err) {
    throw new TypeError(`${where}: ${(err as Error).message}`, { cause: err })
  }
}
