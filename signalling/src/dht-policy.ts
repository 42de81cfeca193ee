import { auraIdSkeleton } from '@auralink/identity'
import {
  DEFAULT_DHT_PUTS_PER_MINUTE, DEFAULT_GRACE_PERIOD_MS, DEFAULT_MAX_NAMES_PER_KEY, DHT_RECORD_MAX_AGE_MS, RATE_LIMIT_IDLE_MS
} from './constants.js'
import { AURAID_DHT_NAMESPACE, compareAuraIdRecords, verifyDhtRecord } from './dht.js'
import { DhtPutRefusedError } from './errors.js'
import { PeerRateLimiter } from './rate-limiter.js'
import { DirectoryStore, isWithdrawnCopy } from './store.js'
import type { DhtPutRefusalReason } from './errors.js'
import type { AuraIdRecord } from '@auralink/identity'
import type { AbortOptions, Logger, PeerId } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'

/** A value this DHT node stores, and when it received it. */
export interface DhtStoredValue {
  value: Uint8Array
  /** ms since the epoch */
  receivedAt: number
}

/**
 * This DHT node's own record store (kad-dht keeps it in the libp2p datastore under
 * `/dht/record/`; the relay node's `dhtRecordStore()` reads it): what it answers to GET_VALUE.
 */
export interface DhtLocalRecords {
  /** The value stored under `key`, or undefined. */
  get(key: Uint8Array, options?: AbortOptions): Promise<DhtStoredValue | undefined>
  /** Every stored value with its key. */
  entries(options?: AbortOptions): AsyncIterable<DhtStoredValue & { key: Uint8Array }>
  /** Stores `value` under `key` as received now (this node's store only: nothing is sent). */
  put(key: Uint8Array, value: Uint8Array, options?: AbortOptions): Promise<void>
}

/** A DHT PUT of an AuraID record that the policy refused, and why. */
export interface DhtPutRefusedEvent {
  reason: DhtPutRefusalReason
  /** The peer that sent the PUT. */
  peer: PeerId
  /** The name, once the record decoded. */
  name?: string
}

/** Options of `auraIdDhtPolicy()`. */
export interface AuraIdDhtPolicyInit {
  /** The directory's datastore: names held here, withdrawn records, the look-alike index. */
  datastore: Datastore
  /** This DHT node's own stored records (first key sticks; the quota index is built from them). */
  records: DhtLocalRecords
  /** Whether `peer` is a relay (a current signed advert, or a configured bootstrap relay): only relays may PUT. */
  isRelay(peer: PeerId): boolean
  /** The remote peer of the inbound DHT stream being served, or undefined outside one (see `validator`). */
  remotePeer(): PeerId | undefined
  /** Names one key may hold among this node's DHT records and held names. @default 5 */
  maxNamesPerKey?: number
  /** PUTs accepted per sending relay per minute. @default 600 */
  putsPerMinute?: number
  /** A name held here binds its key until validity + this (the directory's). @default 604_800_000 (7 days) */
  gracePeriodMs?: number
  /** Called once per refused PUT (for metrics); a listener that throws is ignored. */
  onRefuse?(detail: DhtPutRefusedEvent): void
  log: Logger
  /** The clock, for tests. @default Date.now */
  now?: () => number
}

/** What the quota and first-key rules know about one name stored in this DHT node. */
interface Stored { peer: string, until: number, skeleton: string }

/** The one write policy for `/auraid/` DHT records (`auraIdDhtPolicy()`): kad-dht's validator and selector, and the directory's rules for what a PUT may store. */
export interface AuraIdDhtPolicy {
  /**
   * kad-dht's validator for `/auraid/` keys (`validators: { auraid: policy.validator }`). Inside an
   * inbound DHT stream (`remotePeer()` is set: kad-dht's PUT_VALUE handler, the only place it
   * validates there) it applies `checkPut`; elsewhere (answers to this node's own queries, its
   * own store) it only verifies the record (`verifyDhtRecord`).
   */
  readonly validator: (key: Uint8Array, value: Uint8Array, options?: AbortOptions) => Promise<void>
  /**
   * The write policy for a PUT of `value` under `key` from `from`. Resolves with the record;
   * rejects with DhtPutRefusedError (its `reason`) when this node must not store it.
   */
  checkPut(from: PeerId, key: Uint8Array, value: Uint8Array, options?: AbortOptions): Promise<AuraIdRecord>
}

/**
 * The DHT write policy: what a relay's DHT node stores under `/auraid/<name>`. A PUT is stored
 * only when it comes from a relay, within that relay's rate, and passes the rules a REGISTER
 * passes here: the record verifies for its key, is not a copy of a record withdrawn here, the
 * name is not held here by another key nor looks like one that is, the key stays within
 * `maxNamesPerKey` (this node's DHT records and held names together), and the first key this
 * node stored for the name sticks until that record ends (docs/dht.md, "Threat model").
 */
export function auraIdDhtPolicy (init: AuraIdDhtPolicyInit): AuraIdDhtPolicy {
  if (init?.datastore == null || init.records == null || typeof init.isRelay !== 'function' || typeof init.remotePeer !== 'function' || init.log == null) {
    throw new TypeError('auraIdDhtPolicy: init.datastore, init.records, init.isRelay, init.remotePeer and init.log are required')
  }
  for (const k of ['maxNamesPerKey', 'putsPerMinute', 'gracePeriodMs'] as const) {
    const v = init[k]
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) {
      throw new RangeError(`auraIdDhtPolicy: ${k} must be a number >= 0, got ${String(v)}`)
    }
  }
  return new Policy(init)
}

class Policy implements AuraIdDhtPolicy {
  private readonly init: AuraIdDhtPolicyInit
  private readonly store: DirectoryStore
  private readonly now: () => number
  private readonly grace: number
  private readonly maxNames: number
  private readonly rate: PeerRateLimiter
  private readonly perMinute: number
  /** name → what this node stores for it (built from `records` at first use, then kept up to date). */
  private readonly stored = new Map<string, Stored>()
  private readonly byKey = new Map<string, Set<string>>()
  private readonly bySkeleton = new Map<string, Set<string>>()
  private indexing: Promise<void> | undefined
  private lastSweep = 0

  constructor (init: AuraIdDhtPolicyInit) {
    this.init = init
    this.store = new DirectoryStore(init.datastore, init.log)
    this.now = init.now ?? Date.now
    this.grace = init.gracePeriodMs ?? DEFAULT_GRACE_PERIOD_MS
    this.maxNames = init.maxNamesPerKey ?? DEFAULT_MAX_NAMES_PER_KEY
    this.perMinute = init.putsPerMinute ?? DEFAULT_DHT_PUTS_PER_MINUTE
    this.rate = new PeerRateLimiter(this.perMinute, RATE_LIMIT_IDLE_MS, this.now)
  }

  readonly validator = async (key: Uint8Array, value: Uint8Array, options?: AbortOptions): Promise<void> => {
    const from = this.init.remotePeer()
    if (from === undefined) {
      await verifyDhtRecord(key, value, options)
      return
    }
    await this.checkPut(from, key, value, options)
  }

  async checkPut (from: PeerId, key: Uint8Array, value: Uint8Array, options: AbortOptions = {}): Promise<AuraIdRecord> {
    let name: string | undefined
    try {
      if (!this.init.isRelay(from)) throw new DhtPutRefusedError('not_relay', `${from.toString()} is not a relay (no current relay advert, not a bootstrap relay): only relays may store AuraID records`)
      if (!this.rate.take(from.toString())) throw new DhtPutRefusedError('rate', `relay ${from.toString()} sent more than ${this.perMinute} PUTs in a minute: slow down`)
      let record: AuraIdRecord
      try {
        record = await verifyDhtRecord(key, value, { ...options, now: this.now() })
      } catch (err) {
        throw new DhtPutRefusedError('invalid', `the record does not verify for its key: ${(err as Error).message}`, { cause: err })
      }
      name = record.name
      await this.check(record, key, options)
      return record
    } catch (err) {
      if (err instanceof DhtPutRefusedError) this.refused({ reason: err.reason, peer: from, ...(name !== undefined ? { name } : {}) })
      throw err
    }
  }

  private refused (detail: DhtPutRefusedEvent): void {
    this.init.log('refused a DHT PUT from %p%s: %s', detail.peer, detail.name !== undefined ? ` for ${detail.name}` : '', detail.reason)
    try {
      this.init.onRefuse?.(detail)
    } catch {
      // a metrics listener that throws must not decide the refusal
    }
  }

  /** True while a record held here still binds its name: until validity + grace. */
  private binds (record: AuraIdRecord, now: number): boolean {
    return record.validity + this.grace > now
  }

  private async check (record: AuraIdRecord, key: Uint8Array, options: AbortOptions): Promise<void> {
    await (this.indexing ??= this.buildIndex(options))
    const { name, peerId } = record
    const now = this.now()
    const skeleton = auraIdSkeleton(name)
    if (isWithdrawnCopy(record, await this.store.withdrawn(name, options))) {
      throw new DhtPutRefusedError('withdrawn', `${name}: this record of its key was unregistered here (or is older than the one that was): a replay`)
    }
    const held = await this.store.get(name, options)
    if (held !== undefined && this.binds(held, now) && !held.peerId.equals(peerId)) {
      throw new DhtPutRefusedError('taken', `${name} is held here by another key`)
    }
    for (const other of await this.store.namesWithSkeleton(skeleton, options)) {
      if (other === name) continue
      const rival = await this.store.get(other, options)
      if (rival !== undefined && this.binds(rival, now) && !rival.peerId.equals(peerId)) {
        throw new DhtPutRefusedError('look_alike', `${name} looks like a name another key holds here`)
      }
    }
    const current = await this.storedRecord(key, now, options)
    if (current !== undefined) {
      if (!current.peerId.equals(peerId)) {
        throw new DhtPutRefusedError('taken', `${name} is stored here for another key until ${new Date(current.validity).toISOString()}: the first key sticks`)
      }
      if (compareAuraIdRecords(record, current) > 0) {
        throw new DhtPutRefusedError('stale', `${name}: the record stored here for this key is newer (sequence ${current.sequence})`)
      }
    }
    const heldNames = new Set<string>()
    for (const other of await this.store.namesOf(peerId.toString(), options)) {
      if (other === name) continue
      const r = await this.store.get(other, options)
      if (r !== undefined && r.peerId.equals(peerId) && this.binds(r, now)) heldNames.add(other)
    }
    // from here on no await: the checks against the index and its update are one step, so two
    // PUTs racing for one name (or one key's quota) cannot both pass
    const t = this.now()
    this.sweep(t)
    const entry = this.live(name, t)
    if (entry !== undefined && entry.peer !== peerId.toString()) {
      throw new DhtPutRefusedError('taken', `${name} is stored here for another key: the first key sticks`)
    }
    for (const other of this.bySkeleton.get(skeleton) ?? []) {
      const e = this.live(other, t)
      if (other !== name && e !== undefined && e.peer !== peerId.toString()) {
        throw new DhtPutRefusedError('look_alike', `${name} looks like a name stored here for another key`)
      }
    }
    for (const other of this.byKey.get(peerId.toString()) ?? []) {
      if (other !== name && this.live(other, t) !== undefined) heldNames.add(other)
    }
    if (heldNames.size >= this.maxNames) {
      throw new DhtPutRefusedError('quota', `this key already has ${heldNames.size} names here (held or stored), the most allowed (${this.maxNames})`)
    }
    this.index(name, { peer: peerId.toString(), until: Math.min(record.validity, t + DHT_RECORD_MAX_AGE_MS), skeleton })
  }

  /** The valid record this DHT node stores under `key` and would still answer (received within 48 h), or undefined. */
  private async storedRecord (key: Uint8Array, now: number, options: AbortOptions): Promise<AuraIdRecord | undefined> {
    const stored = await this.init.records.get(key, options)
    if (stored === undefined || stored.receivedAt + DHT_RECORD_MAX_AGE_MS <= now) return undefined
    try {
      return await verifyDhtRecord(key, stored.value, { ...options, now })
    } catch {
      return undefined
    }
  }

  private live (name: string, now: number): Stored | undefined {
    const e = this.stored.get(name)
    return e !== undefined && e.until > now ? e : undefined
  }

  private index (name: string, entry: Stored): void {
    this.unindex(name)
    this.stored.set(name, entry)
    let names = this.byKey.get(entry.peer)
    if (names === undefined) this.byKey.set(entry.peer, names = new Set())
    names.add(name)
    let alike = this.bySkeleton.get(entry.skeleton)
    if (alike === undefined) this.bySkeleton.set(entry.skeleton, alike = new Set())
    alike.add(name)
  }

  private unindex (name: string): void {
    const old = this.stored.get(name)
    if (old === undefined) return
    this.stored.delete(name)
    const names = this.byKey.get(old.peer)
    names?.delete(name)
    if (names?.size === 0) this.byKey.delete(old.peer)
    const alike = this.bySkeleton.get(old.skeleton)
    alike?.delete(name)
    if (alike?.size === 0) this.bySkeleton.delete(old.skeleton)
  }

  /** Drops ended entries, at most once a minute. */
  private sweep (now: number): void {
    if (now - this.lastSweep < 60_000) return
    this.lastSweep = now
    for (const [name, e] of this.stored) if (e.until <= now) this.unindex(name)
  }

  /** The index of what this node stores, built once from its DHT records (each verified again). */
  private async buildIndex (options: AbortOptions): Promise<void> {
    const now = this.now()
    const prefix = `/${AURAID_DHT_NAMESPACE}/`
    let n = 0
    try {
      for await (const { key, value, receivedAt } of this.init.records.entries(options)) {
        if (new TextDecoder().decode(key.subarray(0, prefix.length)) !== prefix || receivedAt + DHT_RECORD_MAX_AGE_MS <= now) continue
        let record: AuraIdRecord
        try {
          record = await verifyDhtRecord(key, value, { now })
        } catch {
          continue
        }
        this.index(record.name, { peer: record.peerId.toString(), until: Math.min(record.validity, receivedAt + DHT_RECORD_MAX_AGE_MS), skeleton: auraIdSkeleton(record.name) })
        n++
      }
    } catch (err) {
      this.indexing = undefined // try again at the next PUT
      throw err
    }
    this.init.log('indexed %d AuraID records stored in this DHT node', n)
  }
}

/** One DHT node's answer for a name, verified. */
export interface DhtAnswer {
  /** The node that answered (its PeerId as a string); one answer per node counts. */
  from: string
  record: AuraIdRecord
}

/** The outcome of `chooseByMajority`. */
export interface MajorityChoice {
  /** The best record (compareAuraIdRecords) of the key that won. */
  record: AuraIdRecord
  /** Nodes that answered a record of the winning key. */
  nodes: number
  /** Nodes that answered at all (each counted once). */
  answered: number
  /** Nodes that answered a record of `peerId`'s key. */
  nodesOf(peerId: PeerId): number
}

/**
 * The record the answering DHT nodes hold for a name, by majority: answers are grouped by key
 * (each node counted once, its first answer), the key held by the most nodes wins, and a tie
 * goes to the key whose best record `compareAuraIdRecords` prefers (so every node that sees the
 * same answers picks the same key). Within the winning key, its best record. undefined for no answer.
 */
export function chooseByMajority (answers: readonly DhtAnswer[]): MajorityChoice | undefined {
  const seen = new Set<string>()
  const groups = new Map<string, { nodes: number, best: AuraIdRecord }>()
  for (const { from, record } of answers) {
    if (seen.has(from)) continue
    seen.add(from)
    const k = record.peerId.toString()
    const g = groups.get(k)
    if (g === undefined) groups.set(k, { nodes: 1, best: record })
    else {
      g.nodes++
      if (compareAuraIdRecords(record, g.best) < 0) g.best = record
    }
  }
  let win: { nodes: number, best: AuraIdRecord } | undefined
  for (const g of groups.values()) {
    if (win === undefined || g.nodes > win.nodes || (g.nodes === win.nodes && compareAuraIdRecords(g.best, win.best) < 0)) win = g
  }
  if (win === undefined) return undefined
  return {
    record: win.best,
    nodes: win.nodes,
    answered: seen.size,
    nodesOf: (peerId) => groups.get(peerId.toString())?.nodes ?? 0
  }
}
