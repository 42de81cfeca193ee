import { DEFAULT_REPUTATION_SAVE_INTERVAL_MS } from './constants.js'
import { ReputationLoadError, ReputationSaveError } from './errors.js'
import { relayScorer } from './reputation/scorer.js'
import type { RelayScore, RelayScorer } from './reputation/types.js'
import type { ScoreStore } from './reputation/store.js'
import type { Logger, PeerId } from '@libp2p/interface'

/** The `reputation` group of MeshNodeInit: how the node scores its relays and keeps the scores. */
export interface MeshReputationInit {
  /**
   * Scores the relays from this node's measurements (pings, reservations, circuit dials, checks)
   * and orders reservations and dial routes. Pass your own to share it or set its options.
   * @default relayScorer()
   */
  scorer?: RelayScorer
  /**
   * Where the scores live between runs: loaded at start() (a corrupt snapshot makes start() reject
   * with ReputationLoadError), saved every `saveIntervalMs` and at stop(). @default none: scores
   * last as long as the node
   */
  store?: ScoreStore
  /** How often the scores are saved to `store` while the node runs. @default 60000 (DEFAULT_REPUTATION_SAVE_INTERVAL_MS) */
  saveIntervalMs?: number
}

export interface RelayReputationEvents {
  /** A periodic save failed; the node keeps running and tries again at the next interval. */
  saveFailed(error: ReputationSaveError): void
}

/**
 * The mesh node's side of relay reputation: owns the scorer (or takes the app's), loads and saves
 * its snapshot, and ranks relays by it. Measurements are fed in by the RelayKeeper and by dial().
 */
export class RelayReputation {
  readonly scorer: RelayScorer
  private readonly store?: ScoreStore
  private readonly saveIntervalMs: number
  private readonly log: Logger
  private readonly events: RelayReputationEvents
  private timer?: ReturnType<typeof setInterval>
  private saving?: Promise<void>

  constructor (init: MeshReputationInit | undefined, events: RelayReputationEvents, log: Logger) {
    if (init !== undefined && (init === null || typeof init !== 'object')) {
      throw new TypeError(`reputation must be an object, got ${JSON.stringify(init)}`)
    }
    const scorer = init?.scorer
    if (scorer !== undefined && (scorer === null || typeof scorer !== 'object' || typeof scorer.ranked !== 'function' || typeof scorer.recordUptime !== 'function')) {
      throw new TypeError('reputation.scorer must be a RelayScorer (from relayScorer())')
    }
    const store = init?.store
    if (store !== undefined && (store === null || typeof store !== 'object' || typeof store.load !== 'function' || typeof store.save !== 'function')) {
      throw new TypeError('reputation.store must be a ScoreStore (with load() and save())')
    }
    const interval = init?.saveIntervalMs ?? DEFAULT_REPUTATION_SAVE_INTERVAL_MS
    if (typeof interval !== 'number' || !Number.isFinite(interval) || interval <= 0 || interval > 2 ** 31 - 1) {
      throw new RangeError(`reputation.saveIntervalMs must be a number of ms from 1 to 2147483647, got ${String(interval)}`)
    }
    this.scorer = scorer ?? relayScorer()
    if (store !== undefined) this.store = store
    this.saveIntervalMs = interval
    this.events = events
    this.log = log
  }

  /** Loads the stored snapshot, when there is a store. ReputationLoadError (cause: the store's error) when it fails. */
  async load (options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.store === undefined) return
    let snapshot
    try {
      snapshot = await this.store.load(options)
      if (snapshot !== undefined) this.scorer.load(snapshot)
    } catch (err) {
      options.signal?.throwIfAborted()
      throw new ReputationLoadError(`could not load the relay scores from reputation.store: ${(err as Error)?.message ?? String(err)}`, { cause: err })
    }
    this.log('relay scores %s', snapshot === undefined ? 'not stored yet: starting empty' : `loaded (${Object.keys(snapshot.relays).length} relays)`)
  }

  /** Starts the periodic save (no-op without a store). */
  start (): void {
    if (this.store === undefined || this.timer !== undefined) return
    this.timer = setInterval(() => {
      if (this.saving !== undefined) return
      this.saving = this.save()
        .catch((err: ReputationSaveError) => {
          this.log.error('%s', err.message)
          this.events.saveFailed(err)
        })
        .finally(() => { this.saving = undefined })
    }, this.saveIntervalMs)
  }

  /** Stops the periodic save and saves once more; rejects with ReputationSaveError when that save fails. */
  async stop (): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    if (this.store === undefined) return
    await this.saving
    await this.save()
  }

  private async save (): Promise<void> {
    try {
      await this.store?.save(this.scorer.toJSON())
    } catch (err) {
      throw new ReputationSaveError(`could not save the relay scores to reputation.store: ${(err as Error)?.message ?? String(err)}`, { cause: err })
    }
  }

  /** `items` with their relay's score, best first: see {@link rankByScore}. */
  rank<T extends { peerId: PeerId }> (items: readonly T[]): Array<{ item: T, score: RelayScore }> {
    return rankByScore(this.scorer, items)
  }
}

/**
 * `items` with their relay's score from `scorer`, best first, in `scorer.ranked()`'s order: relays
 * whose circuits mostly fail last, then by total, ties by PeerId string.
 */
export function rankByScore<T extends { peerId: PeerId }> (scorer: RelayScorer, items: readonly T[]): Array<{ item: T, score: RelayScore }> {
  const ranked = new Map(scorer.ranked().map((r) => [r.relay, r]))
  return items
    .map((item) => {
      const id = item.peerId.toString()
      const known = ranked.get(id)
      const r = known ?? scorer.score(id)
      return { item, id, failing: known?.failing === true, score: { total: r.total, parts: r.parts } }
    })
    .sort((a, b) => Number(a.failing) - Number(b.failing) || b.score.total - a.score.total || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map(({ item, score }) => ({ item, score }))
}
