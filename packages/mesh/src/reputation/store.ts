import type { ReputationSnapshot } from './types.js'
import type { AbortOptions } from '@libp2p/interface'

/**
 * Where a scorer's snapshot is kept between runs. `load()` resolves undefined when nothing was
 * saved yet, and rejects (never resolves undefined) when what was saved is unreadable or corrupt.
 */
export interface ScoreStore {
  /** The snapshot saved last, or undefined when there is none. */
  load(options?: AbortOptions): Promise<ReputationSnapshot | undefined>
  /** Replaces the saved snapshot. */
  save(snapshot: ReputationSnapshot, options?: AbortOptions): Promise<void>
}

/** A store in memory (tests, or a page that keeps nothing): a structured copy in and out. */
export function memoryScoreStore (): ScoreStore {
  let held: ReputationSnapshot | undefined
  return {
    async load (options) {
      options?.signal?.throwIfAborted()
      return held === undefined ? undefined : structuredClone(held)
    },
    async save (snapshot, options) {
      options?.signal?.throwIfAborted()
      held = structuredClone(snapshot)
    }
  }
}
