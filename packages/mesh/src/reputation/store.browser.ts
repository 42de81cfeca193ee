import { openDB } from 'idb'
import { parseStoredSnapshot, storeLimits } from './snapshot.js'
import type { SnapshotLimits } from './snapshot.js'
import type { ScoreStore } from './store.js'
import type { DBSchema } from 'idb'

export type { ScoreStore } from './store.js'

export interface IdbScoreStoreInit {
  /** The IndexedDB database (one per origin and name). @default 'auralink-relay-scores' */
  dbName?: string
  /** The entry in it: several scorers may share a database under different keys. @default 'scores' */
  key?: string
  /** Limits the loaded snapshot is checked against: use the scorer's own. @default maxRelays 1024, maxReportsPerRelay 64 */
  limits?: Partial<SnapshotLimits>
}

const DEFAULT_DB_NAME = 'auralink-relay-scores'
const STORE = 'snapshots'

interface ScoreSchema extends DBSchema {
  // the snapshot as JSON text: anything other code of the origin wrote there is checked on load
  snapshots: { key: string, value: unknown }
}

/**
 * A {@link ScoreStore} in IndexedDB (browsers): one entry, the snapshot as JSON, in the object
 * store `snapshots` of database `dbName`. `save()` is one transaction with `strict` durability,
 * so a crash leaves the old snapshot or the new one. `load()` resolves undefined when nothing was
 * saved, and throws a TypeError naming the database and key when the entry is not a valid
 * snapshot (a corrupt entry is never silently replaced by an empty state).
 */
export function idbScoreStore (init: IdbScoreStoreInit = {}): ScoreStore {
  const dbName = init.dbName ?? DEFAULT_DB_NAME
  const key = init.key ?? 'scores'
  if (typeof dbName !== 'string' || dbName === '') throw new TypeError(`dbName must be a non-empty string, got ${JSON.stringify(dbName)}`)
  if (typeof key !== 'string' || key === '') throw new TypeError(`key must be a non-empty string, got ${JSON.stringify(key)}`)
  if (typeof indexedDB === 'undefined') throw new TypeError('idbScoreStore needs IndexedDB (a browser or a worker); in Node use fileScoreStore')
  const limits = storeLimits(init.limits)
  const where = `IndexedDB ${dbName}/${STORE}/${key}`
  const db = async (): Promise<Awaited<ReturnType<typeof openDB<ScoreSchema>>>> => openDB<ScoreSchema>(dbName, 1, {
    upgrade (d) { if (!d.objectStoreNames.contains(STORE)) d.createObjectStore(STORE) }
  })
  return {
    async load (options) {
      options?.signal?.throwIfAborted()
      const d = await db()
      let held: unknown
      try {
        held = await d.get(STORE, key)
      } finally {
        d.close()
      }
      if (held === undefined) return undefined
      return parseStoredSnapshot(held, where, limits)
    },
    async save (snapshot, options) {
      options?.signal?.throwIfAborted()
      const text = JSON.stringify(snapshot)
      const d = await db()
      try {
        const tx = d.transaction(STORE, 'readwrite', { durability: 'strict' })
        await Promise.all([tx.store.put(text, key), tx.done])
      } finally {
        d.close()
      }
    }
  }
}
