import { openDB } from 'idb'
import { CorruptKeyError, InvalidStateError, KeyInUseError, UnsupportedPlatformError } from './errors.js'
import { exportPrivateKey, importPrivateKey } from './keys.js'
import { checkKeyLabel, checkPrivateKey } from './keystore.js'
import type { KeyLock, KeyStore } from './keystore.js'
import type * as NodeEntry from './keystore.node.js'
import type { AbortOptions, Ed25519PrivateKey } from '@libp2p/interface'
import type { DBSchema, IDBPDatabase, IDBPObjectStore } from 'idb'

export type { KeyLock, KeyStore } from './keystore.js'
export type { FileKeyStoreInit } from './keystore.node.js'

/** The key store an AuraLink client uses when given none: `idbKeyStore()` (database 'auralink-keys'). */
export function defaultKeyStore (): KeyStore {
  return idbKeyStore()
}

/**
 * Node's default key folder, named here so that `@auralink/identity/keystore` has the same types
 * under every export condition. In a browser build it throws {@link UnsupportedPlatformError}:
 * browsers keep keys in IndexedDB ({@link defaultKeyStore}).
 */
export const defaultKeyDir: typeof NodeEntry.defaultKeyDir = () => {
  throw new UnsupportedPlatformError('defaultKeyDir() is the Node key folder: this is the browser build of @auralink/identity/keystore, which keeps keys in IndexedDB')
}

/**
 * Node's file key store, named here so that `@auralink/identity/keystore` has the same types
 * under every export condition (a Node project type-checked with `moduleResolution: "bundler"`
 * gets this file's types). In a browser build it throws {@link UnsupportedPlatformError}: use
 * {@link idbKeyStore}.
 */
export const fileKeyStore: typeof NodeEntry.fileKeyStore = () => {
  throw new UnsupportedPlatformError('fileKeyStore() needs Node (node:fs): this is the browser build of @auralink/identity/keystore; use idbKeyStore() in browsers')
}

/** Options of {@link idbKeyStore}. */
export interface IdbKeyStoreInit {
  /**
   * The IndexedDB database that holds the keys (one per origin and name). Two stores with the
   * same name in the same origin share their keys.
   *
   * @default 'auralink-keys'
   */
  dbName?: string
}

const DEFAULT_DB_NAME = 'auralink-keys'
/** The object store inside the database: label -> protobuf bytes of the private key. */
const STORE = 'keys'
const DB_VERSION = 1

interface KeyStoreSchema extends DBSchema {
  // The value is what exportPrivateKey() wrote, but anything written by other code in the same
  // origin can sit there too: it is checked on every read.
  keys: { key: string, value: unknown }
}

type Db = IDBPDatabase<KeyStoreSchema>
type Store<Mode extends IDBTransactionMode> = IDBPObjectStore<KeyStoreSchema, ['keys'], 'keys', Mode>

/**
 * A key store in IndexedDB: one entry per key in the `keys` object store of database `dbName`,
 * keyed by label, holding libp2p's protobuf encoding of the private key (the bytes
 * `fileKeyStore` writes to a file). Each write is one transaction with `strict` durability, so
 * a crash never leaves half a key. The entries are readable by any script of the same origin,
 * as a key file is by any process of the same user.
 *
 * `lock(label)` takes the Web Lock `auralink-key:<dbName>:<label>`, shared by every tab of the
 * origin; where the Web Locks API is missing (pages not served over https or from localhost) it
 * guards within the page only.
 */
export function idbKeyStore (init?: IdbKeyStoreInit): KeyStore {
  const dbName = init?.dbName ?? DEFAULT_DB_NAME
  if (typeof dbName !== 'string' || dbName === '') {
    throw new TypeError(`idbKeyStore: dbName must be a non-empty string, got ${JSON.stringify(dbName)}`)
  }
  let closed = false
  let connection: Promise<Db> | undefined

  // Forgets a connection so that the next call opens a new one; closes it when asked.
  const forget = (pending: Promise<Db>, close: boolean): void => {
    if (connection === pending) connection = undefined
    if (close) pending.then((db) => { db.close() }, () => {})
  }

  const connect = async (): Promise<Db> => {
    if (closed) throw new InvalidStateError('idbKeyStore is closed')
    if (connection == null) {
      const pending: Promise<Db> = openDB<KeyStoreSchema>(dbName, DB_VERSION, {
        upgrade (db) { db.createObjectStore(STORE) },
        // Another connection wants to upgrade or delete the database: let it, and reopen later.
        blocking () { forget(pending, true) },
        terminated () { forget(pending, false) }
      })
      connection = pending
      pending.catch(() => { forget(pending, false) })
    }
    const db = await connection
    if (closed) throw new InvalidStateError('idbKeyStore is closed')
    return db
  }

  // Runs `fn` in one transaction on the key object store. An abort of `signal` aborts the
  // transaction (nothing it wrote stays) and rejects with the signal's reason.
  const inTransaction = async <T, Mode extends 'readonly' | 'readwrite'> (mode: Mode, options: AbortOptions | undefined, fn: (store: Store<Mode>) => Promise<T>): Promise<T> => {
    const db = await connect()
    const signal = options?.signal
    signal?.throwIfAborted()
    const tx = db.transaction(STORE, mode, { durability: 'strict' })
    const onAbort = (): void => {
      try { tx.abort() } catch {} // already finished: the call completed before the abort
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    try {
      const [result] = await Promise.all([fn(tx.store as Store<Mode>), tx.done])
      return result
    } catch (err) {
      if (signal?.aborted === true) throw signal.reason
      throw err
    } finally {
      signal?.removeEventListener('abort', onAbort)
    }
  }

  return {
    async get (label: string, options?: AbortOptions): Promise<Ed25519PrivateKey | undefined> {
      checkKeyLabel(label)
      const value = await inTransaction('readonly', options, async (store) => store.get(label))
      if (value === undefined) return undefined
      const where = `key "${label}" in IndexedDB database "${dbName}"`
      if (!(value instanceof Uint8Array)) {
        throw new CorruptKeyError(`${where} does not hold an Ed25519 private key: the entry is ${describe(value)}, not bytes`)
      }
      try {
        return importPrivateKey(value)
      } catch (err) {
        throw new CorruptKeyError(`${where} does not hold an Ed25519 private key`, { cause: err })
      }
    },

    async put (label: string, key: Ed25519PrivateKey, options?: AbortOptions): Promise<void> {
      checkKeyLabel(label)
      checkPrivateKey(label, key)
      const bytes = exportPrivateKey(key)
      await inTransaction('readwrite', options, async (store) => { await store.put(bytes, label) })
    },

    async delete (label: string, options?: AbortOptions): Promise<boolean> {
      checkKeyLabel(label)
      return inTransaction('readwrite', options, async (store) => {
        if (await store.getKey(label) === undefined) return false
        await store.delete(label)
        return true
      })
    },

    async list (options?: AbortOptions): Promise<string[]> {
      const keys = await inTransaction('readonly', options, async (store) => store.getAllKeys())
      // Labels are strings; a key of another type was written by someone else and is no label.
      return keys.filter((k): k is string => typeof k === 'string').sort()
    },

    async lock (label: string, options?: AbortOptions): Promise<KeyLock> {
      checkKeyLabel(label)
      options?.signal?.throwIfAborted()
      if (closed) throw new InvalidStateError('idbKeyStore is closed')
      return webLock(`auralink-key:${dbName}:${label}`, label, dbName)
    },

    async close (): Promise<void> {
      closed = true
      const pending = connection
      connection = undefined
      // IndexedDB lets running transactions finish before the connection closes.
      if (pending != null) await pending.then((db) => { db.close() }, () => {})
    }
  }
}

/** Locks held in this page, for browsers without the Web Locks API. */
const pageLocks = new Set<string>()

async function webLock (name: string, label: string, dbName: string): Promise<KeyLock> {
  const inUse = (): KeyInUseError => new KeyInUseError(label, `key "${label}" in IndexedDB database "${dbName}" is in use by another AuraLink client (another tab or window of this browser, or this page); stop that client first, or give this one another keyLabel`)
  const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks
  if (locks == null) {
    if (pageLocks.has(name)) throw inUse()
    pageLocks.add(name)
    return { label, release: async () => { pageLocks.delete(name) } }
  }
  return new Promise<KeyLock>((resolve, reject) => {
    // the lock is held until the callback's promise settles: until release(), which waits for the
    // lock manager to have let it go
    const requested: Promise<unknown> = locks.request(name, { ifAvailable: true }, async (lock) => {
      if (lock === null) { reject(inUse()); return }
      await new Promise<void>((done) => { resolve({ label, release: async () => { done(); await requested } }) })
    })
    requested.catch(reject)
  })
}

function describe (value: unknown): string {
  if (value === null) return 'null'
  if (typeof value !== 'object') return `a ${typeof value}`
  return `a ${Object.getPrototypeOf(value)?.constructor?.name ?? 'object'}`
}
