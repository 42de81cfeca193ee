import { randomBytes } from 'node:crypto'
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises'
import { dirname } from 'node:path'
import { parseStoredSnapshot, storeLimits } from './snapshot.js'
import type { SnapshotLimits } from './snapshot.js'
import type { ScoreStore } from './store.js'

/** Options of `fileScoreStore()`. */
export interface FileScoreStoreInit {
  /** Limits the loaded snapshot is checked against: use the scorer's own. @default maxRelays 1024, maxReportsPerRelay 64 */
  limits?: Partial<SnapshotLimits>
}

/**
 * A {@link ScoreStore} in one JSON file (Node only). `save()` is atomic: it writes a temporary
 * file beside the target with mode 0600, syncs it, and renames it over the target, so a crash
 * leaves the old snapshot or the new one, never half of one. `load()` resolves undefined when the
 * file does not exist, and throws a TypeError naming the path when it is not JSON or not a valid
 * snapshot (a corrupt file is never silently replaced by an empty state).
 */
export function fileScoreStore (path: string, init: FileScoreStoreInit = {}): ScoreStore {
  if (typeof path !== 'string' || path === '') throw new TypeError(`path must be a non-empty string, got ${JSON.stringify(path)}`)
  const limits = storeLimits(init.limits)
  return {
    async load (options) {
      let text: string
      try {
        text = await readFile(path, { encoding: 'utf8', signal: options?.signal })
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
        throw err
      }
      return parseStoredSnapshot(text, path, limits)
    },
    async save (snapshot, options) {
      options?.signal?.throwIfAborted()
      const text = JSON.stringify(snapshot)
      await mkdir(dirname(path), { recursive: true, mode: 0o700 })
      const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`
      const file = await open(tmp, 'wx', 0o600)
      try {
        try {
          await file.writeFile(text, { encoding: 'utf8', signal: options?.signal })
          await file.sync()
        } finally {
          await file.close()
        }
        options?.signal?.throwIfAborted()
        await rename(tmp, path)
      } catch (err) {
        await unlink(tmp).catch(() => {})
        throw err
      }
    }
  }
}
