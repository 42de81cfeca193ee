import { auraIdSkeleton } from '@auralink/identity'
import { DirectoryError } from '@auralink/protocol'
import { auraIdDhtKey, compareAuraIdRecords, verifyDhtRecord } from './dht.js'
import { DirectoryRefusal } from './errors.js'
import { isWithdrawnCopy } from './store.js'
import type { AuraIdNetwork } from './dht.js'
import type { KeyedMutex } from './mutex.js'
import type { DirectoryStore } from './store.js'
import type { AuraIdRecord } from '@auralink/identity'
import type { AbortOptions, Logger, PeerId } from '@libp2p/interface'

export interface DirectoryNetworkEvent {
  /** `publish` (a record sent to the network), `lookup` (the network asked for a name). */
  op: 'publish' | 'lookup'
  /**
   * publish: `ok` (at least one remote node stored it), `local` (no remote node reached: only
   * this node holds it), `error`. lookup: `ok` (a valid record came back), `not_found`,
   * `invalid` (what came back does not verify for the name), `error` (the lookup failed).
   */
  outcome: 'ok' | 'local' | 'not_found' | 'invalid' | 'error'
  name: string
}

export interface DirectoryConflictEvent {
  /** The name two keys registered at two directories. */
  name: string
  /** The key this directory held it for, which lost: the name is released here. */
  loser: PeerId
  /** The key whose record the network prefers (higher sequence, then later validity). */
  winner: PeerId
  /** Where the loss was found: at a write for the name, or at a republish. */
  during: 'write' | 'republish'
}

export interface RepublishResult {
  /** Held public and unlisted records with validity left that were looked at. */
  checked: number
  /** Of those, published again. */
  published: number
  /** Of those, released here because another key's record won in the network. */
  released: number
}

export interface NetworkSyncInit {
  network: AuraIdNetwork
  store: DirectoryStore
  locks: KeyedMutex
  log: Logger
  now: () => number
  /** 0: no timer (republish() still works). */
  republishIntervalMs: number
  onNetwork(detail: DirectoryNetworkEvent): void
  onConflict(detail: DirectoryConflictEvent): void
}

/**
 * The directory's side of the relay network: looks names up there (verifying what comes back
 * and dropping copies of records unregistered here), publishes public and unlisted records in
 * the background, and republishes held ones on a timer, releasing a name whose record lost to
 * another key's (docs/dht.md, "Conflicts").
 */
export class NetworkSync {
  private readonly init: NetworkSyncInit
  private readonly log: Logger
  private controller = new AbortController()
  private timer: ReturnType<typeof setTimeout> | undefined
  private readonly inFlight = new Set<Promise<void>>()
  private cycle: Promise<RepublishResult> | undefined
  private running = false

  constructor (init: NetworkSyncInit) {
    this.init = init
    this.log = init.log
  }

  start (): void {
    if (this.running) return
    this.running = true
    this.controller = new AbortController()
    this.schedule()
  }

  /** Stops the timer and aborts every lookup and publish under way; waits for them to end. */
  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    clearTimeout(this.timer)
    this.timer = undefined
    this.controller.abort(new Error('the directory stopped'))
    await Promise.allSettled([...this.inFlight, this.cycle])
  }

  private schedule (): void {
    if (!this.running || this.init.republishIntervalMs <= 0) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      void this.republish().catch((err: unknown) => {
        if (this.running) this.log.error('republish failed: %s', (err as Error).message)
      }).finally(() => { this.schedule() })
    }, this.init.republishIntervalMs)
    this.timer.unref?.()
  }

  private signal (options: AbortOptions): AbortSignal {
    return options.signal != null ? AbortSignal.any([options.signal, this.controller.signal]) : this.controller.signal
  }

  /**
   * The verified record the network holds for `name`, or undefined: none, one that does not
   * verify for the name, a copy of the record last unregistered here (or an older one of that
   * key: isWithdrawnCopy), or a failed lookup (logged; the caller goes on as if the network held none).
   */
  async lookup (name: string, options: AbortOptions = {}): Promise<AuraIdRecord | undefined> {
    const signal = this.signal(options)
    let bytes: Uint8Array | undefined
    try {
      bytes = await this.init.network.lookup(name, { signal })
    } catch (err) {
      signal.throwIfAborted()
      this.log('network lookup of %s failed, going on without it: %s', name, (err as Error).message)
      this.init.onNetwork({ op: 'lookup', outcome: 'error', name })
      return undefined
    }
    if (bytes === undefined) {
      this.init.onNetwork({ op: 'lookup', outcome: 'not_found', name })
      return undefined
    }
    let record: AuraIdRecord
    try {
      record = await verifyDhtRecord(auraIdDhtKey(name), bytes, { signal, now: this.init.now() })
    } catch (err) {
      signal.throwIfAborted()
      this.log('the network answered %s with a record that does not verify: %s', name, (err as Error).message)
      this.init.onNetwork({ op: 'lookup', outcome: 'invalid', name })
      return undefined
    }
    if (isWithdrawnCopy(record, await this.init.store.withdrawn(name, { signal }))) {
      this.init.onNetwork({ op: 'lookup', outcome: 'not_found', name })
      return undefined
    }
    this.init.onNetwork({ op: 'lookup', outcome: 'ok', name })
    return record
  }

  /** Publishes `record` now and waits (bounded by the network's timeout); never throws, the outcome is an event. */
  async publish (record: AuraIdRecord, options: AbortOptions = {}): Promise<boolean> {
    if (record.visibility === 'private') return false
    try {
      const { peers } = await this.init.network.publish(record.name, record.bytes, { signal: this.signal(options) })
      this.init.onNetwork({ op: 'publish', outcome: peers > 0 ? 'ok' : 'local', name: record.name })
      return true
    } catch (err) {
      if (this.running) this.log('publishing %s failed: %s', record.name, (err as Error).message)
      this.init.onNetwork({ op: 'publish', outcome: 'error', name: record.name })
      return false
    }
  }

  /** Publishes `record` in the background (tracked, aborted by stop()). Private records never leave. */
  publishSoon (record: AuraIdRecord): void {
    if (record.visibility === 'private' || !this.running) return
    const p = this.publish(record).then(() => {}).finally(() => { this.inFlight.delete(p) })
    this.inFlight.add(p)
  }

  /**
   * Before a REGISTER or UPDATE of `record` is stored: another key's valid record in the network
   * refuses a name not held here (`held` undefined) with NAME_TAKEN; for a name held here it
   * refuses, and releases the name here, only when that record beats the held one. So the
   * loser of a race between two directories finds out at its next write (docs/dht.md).
   */
  async checkWrite (record: AuraIdRecord, held: AuraIdRecord | undefined, options: AbortOptions = {}): Promise<void> {
    const remote = await this.lookup(record.name, options)
    if (remote === undefined || remote.peerId.equals(record.peerId)) return
    const until = new Date(remote.validity).toISOString()
    if (held === undefined) {
      throw new DirectoryRefusal(DirectoryError.DIRECTORY_ERROR_NAME_TAKEN, `${record.name} is held by another key in the relay network until ${until}`)
    }
    if (await this.yieldIfLost(held, remote, 'write', options)) {
      throw new DirectoryRefusal(DirectoryError.DIRECTORY_ERROR_NAME_TAKEN,
        `${record.name} was registered by another key at another relay and that record won (higher sequence, or the same and later validity): released here; held there until ${until}`)
    }
  }

  /**
   * Called with the record held here and the network's record by another key: when the
   * network's is better (compareAuraIdRecords), releases the name here and reports the conflict.
   * The caller holds the name's skeleton lock. Resolves true when the name was released.
   */
  async yieldIfLost (held: AuraIdRecord, remote: AuraIdRecord, during: DirectoryConflictEvent['during'], options: AbortOptions = {}): Promise<boolean> {
    if (remote.peerId.equals(held.peerId) || compareAuraIdRecords(remote, held) >= 0) return false
    await this.init.store.delete(held, auraIdSkeleton(held.name), undefined, options)
    this.log.error('%s: the record of key %p won in the relay network over the one held here for %p; released here', held.name, remote.peerId, held.peerId)
    this.init.onConflict({ name: held.name, loser: held.peerId, winner: remote.peerId, during })
    return true
  }

  /**
   * One republish cycle (one at a time; a call during one waits for it): every held public or
   * unlisted record whose validity has not ended is checked against the network (and released
   * if another key's record won there) and otherwise published again.
   */
  async republish (options: AbortOptions = {}): Promise<RepublishResult> {
    this.cycle ??= this.runCycle(options).finally(() => { this.cycle = undefined })
    return this.cycle
  }

  private async runCycle (options: AbortOptions): Promise<RepublishResult> {
    const signal = this.signal(options)
    const result: RepublishResult = { checked: 0, published: 0, released: 0 }
    for (const name of await this.init.store.allNames({ signal })) {
      signal.throwIfAborted()
      // decide under the name's write lock; publish outside it, so writes are not held up
      const toPublish = await this.init.locks.run(`skeleton:${auraIdSkeleton(name)}`, async () => {
        const held = await this.init.store.get(name, { signal })
        if (held === undefined || held.visibility === 'private' || held.validity <= this.init.now()) return undefined
        result.checked++
        const remote = await this.lookup(name, { signal })
        if (remote !== undefined && await this.yieldIfLost(held, remote, 'republish', { signal })) {
          result.released++
          return undefined
        }
        return held
      })
      if (toPublish !== undefined && await this.publish(toPublish, { signal })) result.published++
    }
    this.log('republish: %d checked, %d published, %d released', result.checked, result.published, result.released)
    return result
  }
}
