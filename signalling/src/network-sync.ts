import { auraIdSkeleton } from '@auralink/identity'
import { auraIdDhtKey, verifyDhtRecord } from './dht.js'
import { REPUBLISH_PUTS_PER_MINUTE } from './constants.js'
import { chooseByMajority } from './dht-policy.js'
import { DirectoryRejectedError } from './errors.js'
import { isWithdrawnCopy } from './store.js'
import type { AuraIdNetwork, AuraIdNetworkAnswer } from './dht.js'
import type { DhtAnswer, MajorityChoice } from './dht-policy.js'
import type { KeyedMutex } from './mutex.js'
import type { DirectoryStore } from './store.js'
import type { AuraIdRecord } from '@auralink/identity'
import type { AbortOptions, Logger, PeerId } from '@libp2p/interface'

/** One publish to, or lookup in, the network (DHT), for metrics. */
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

/** Two directories bound one name to two keys; this one gave the name up. */
export interface DirectoryConflictEvent {
  /** The name two keys registered at two directories. */
  name: string
  /** The key this directory held it for, which lost: the name is released here. */
  loser: PeerId
  /** The key whose record most answering relays hold (a tie: the higher sequence, then later validity). */
  winner: PeerId
  /** Where the loss was found: at a write for the name, or at a republish. */
  during: 'write' | 'republish'
}

/** What one republish round of held records did. */
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
  /** Whether `record` looks like (same skeleton) a name another key holds here: such a record never wins a name held here. */
  lookAlikeHeld?(record: AuraIdRecord, options?: AbortOptions): Promise<boolean>
}

/** Sleeps `ms` (nothing when <= 0); rejects with the signal's reason when it aborts. */
async function sleep (ms: number, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted()
  if (ms <= 0) return
  await new Promise<void>((resolve, reject) => {
    const done = (): void => { clearTimeout(timer); reject(signal.reason) }
    const timer = setTimeout(() => { signal.removeEventListener('abort', done); resolve() }, ms)
    signal.addEventListener('abort', done, { once: true })
  })
}

/** How this node's own answer is named among the answers it counts. */
const SELF = 'self'

/**
 * The directory's side of the relay network: looks names up there (verifying every node's
 * answer, dropping copies of records unregistered here, choosing by majority of the answering
 * nodes), publishes public and unlisted records in the background, and republishes held ones on
 * a timer, releasing a name whose record lost to another key's (docs/dht.md, "Conflicts").
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
   * The record the network holds for `name` by majority of the nodes that answered
   * (`chooseByMajority`), or undefined: no answer, none that verifies for the name and is not a
   * copy of the record last unregistered here (or an older one of that key: isWithdrawnCopy),
   * or a failed lookup (logged; the caller goes on as if the network held none). With `held`
   * (the record this directory holds for the name) this node's own answer is `held`.
   */
  async lookup (name: string, options: AbortOptions = {}, held?: AuraIdRecord): Promise<MajorityChoice | undefined> {
    const signal = this.signal(options)
    let answers: AuraIdNetworkAnswer[]
    try {
      answers = await this.init.network.lookup(name, { signal })
    } catch (err) {
      signal.throwIfAborted()
      this.log('network lookup of %s failed, going on without it: %s', name, (err as Error).message)
      this.init.onNetwork({ op: 'lookup', outcome: 'error', name })
      return undefined
    }
    const key = auraIdDhtKey(name)
    const now = this.init.now()
    const withdrawn = await this.init.store.withdrawn(name, { signal })
    const valid: DhtAnswer[] = held !== undefined ? [{ from: SELF, record: held }] : []
    let invalid = 0
    for (const answer of answers) {
      if (answer.self === true && held !== undefined) continue
      let record: AuraIdRecord
      try {
        record = await verifyDhtRecord(key, answer.value, { signal, now })
      } catch (err) {
        signal.throwIfAborted()
        this.log('%s answered %s with a record that does not verify: %s', answer.self === true ? 'this node' : answer.from, name, (err as Error).message)
        invalid++
        continue
      }
      if (isWithdrawnCopy(record, withdrawn)) continue
      valid.push({ from: answer.self === true ? SELF : answer.from, record })
    }
    const choice = chooseByMajority(valid)
    if (held === undefined) {
      this.init.onNetwork({ op: 'lookup', outcome: choice !== undefined ? 'ok' : invalid > 0 ? 'invalid' : 'not_found', name })
    } else {
      this.init.onNetwork({ op: 'lookup', outcome: valid.length > 1 ? 'ok' : invalid > 0 ? 'invalid' : 'not_found', name })
    }
    return choice
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
   * Before a REGISTER or UPDATE of `record` is stored: when the network's majority holds the
   * name for another key, a name not held here (`held` undefined) is refused with NAME_TAKEN;
   * a name held here is refused, and released here, only when `yieldIfLost` releases it. So the
   * loser of a race between two directories finds out at its next write (docs/dht.md).
   */
  async checkWrite (record: AuraIdRecord, held: AuraIdRecord | undefined, options: AbortOptions = {}): Promise<void> {
    const choice = await this.lookup(record.name, options, held)
    const remote = choice?.record
    if (remote === undefined || remote.peerId.equals(record.peerId)) return
    const until = new Date(remote.validity).toISOString()
    if (held === undefined) {
      throw new DirectoryRejectedError('NAME_TAKEN', `${record.name} is held by another key in the relay network until ${until}`)
    }
    if (await this.yieldIfLost(held, choice!, 'write', options)) {
      throw new DirectoryRejectedError('NAME_TAKEN',
        `${record.name} was registered by another key at another relay and more relays hold that record (or as many, and it won the tie): released here; held there until ${until}`)
    }
  }

  /**
   * Called with the record held here and the network's majority choice (this node's own answer
   * being `held`): when the choice is another key's record, and that record passes this
   * directory's own checks (it verified and is no withdrawn copy; it must not look like another
   * name a third key holds here), releases the name here, stores the winner in this node's DHT
   * store (`network.adopt`) and reports the conflict. A higher sequence alone never wins: only
   * more answering nodes, or as many and the tie-break. The caller holds the name's skeleton
   * lock. Resolves true when the name was released.
   */
  async yieldIfLost (held: AuraIdRecord, choice: MajorityChoice, during: DirectoryConflictEvent['during'], options: AbortOptions = {}): Promise<boolean> {
    const remote = choice.record
    if (remote.peerId.equals(held.peerId)) return false
    if (await this.init.lookAlikeHeld?.(remote, options) === true) {
      this.log.error('%s: more relays hold the record of key %p, but it looks like a name another key holds here: kept for %p', held.name, remote.peerId, held.peerId)
      return false
    }
    await this.init.store.delete(held, auraIdSkeleton(held.name), undefined, options)
    await this.init.network.adopt?.(held.name, remote.bytes, options).catch((err: unknown) => {
      this.log('storing the winning record for %s in this node failed: %s', held.name, (err as Error).message)
    })
    this.log.error('%s: the record of key %p is held by %d of %d answering relays (%d for the one held here for %p); released here',
      held.name, remote.peerId, choice.nodes, choice.answered, choice.nodesOf(held.peerId), held.peerId)
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
    // paced, so a relay with many names stays within the other relays' PUT rate (--dht-put-rate-limit)
    const gapMs = 60_000 / REPUBLISH_PUTS_PER_MINUTE
    let nextAt = Date.now()
    for (const name of await this.init.store.allNames({ signal })) {
      signal.throwIfAborted()
      // decide under the name's write lock; publish outside it, so writes are not held up
      const toPublish = await this.init.locks.run(`skeleton:${auraIdSkeleton(name)}`, async () => {
        const held = await this.init.store.get(name, { signal })
        if (held === undefined || held.visibility === 'private' || held.validity <= this.init.now()) return undefined
        result.checked++
        const choice = await this.lookup(name, { signal }, held)
        if (choice !== undefined && await this.yieldIfLost(held, choice, 'republish', { signal })) {
          result.released++
          return undefined
        }
        return held
      })
      if (toPublish === undefined) continue
      await sleep(nextAt - Date.now(), signal)
      nextAt = Math.max(nextAt, Date.now() - gapMs) + gapMs
      if (await this.publish(toPublish, { signal })) result.published++
    }
    this.log('republish: %d checked, %d published, %d released', result.checked, result.published, result.released)
    return result
  }
}
