import { constants } from 'node:fs'
import { chmod, link, mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { CorruptKeyError, InvalidStateError, KeyInUseError, UnsupportedPlatformError } from './errors.js'
import { exportPrivateKey, importPrivateKey } from './keys.js'
import { checkKeyLabel, checkPrivateKey } from './keystore.js'
import type { KeyLock, KeyStore } from './keystore.js'
import type * as BrowserEntry from './keystore.browser.js'
import type { AbortOptions, Ed25519PrivateKey } from '@libp2p/interface'

export type { KeyLock, KeyStore } from './keystore.js'
export type { IdbKeyStoreInit } from './keystore.browser.js'

/**
 * The browsers' IndexedDB key store, named here so that `@auralink/identity/keystore` has the
 * same types under every export condition. In Node it throws {@link UnsupportedPlatformError}:
 * use {@link fileKeyStore}.
 */
export const idbKeyStore: typeof BrowserEntry.idbKeyStore = () => {
  throw new UnsupportedPlatformError('idbKeyStore() needs IndexedDB: this is the Node build of @auralink/identity/keystore; use fileKeyStore() in Node')
}

/** Options of {@link fileKeyStore}. */
export interface FileKeyStoreInit {
  /** The folder that holds one file per key; made with mode 0700 when missing. */
  dir: string
}

const SUFFIX = '.key'
const LOCK_SUFFIX = '.lock'

/**
 * The folder the default key store uses: `$AURALINK_HOME/keys`, or `~/.auralink/keys` when
 * AURALINK_HOME is unset or empty.
 */
export function defaultKeyDir (env: Record<string, string | undefined> = process.env): string {
  const home = env.AURALINK_HOME
  return join(home !== undefined && home !== '' ? home : join(homedir(), '.auralink'), 'keys')
}

/** The key store an AuraLink client uses when given none: a `fileKeyStore` in {@link defaultKeyDir}. */
export function defaultKeyStore (): KeyStore {
  return fileKeyStore({ dir: defaultKeyDir() })
}

/**
 * A key store in a folder: each key in its own file (`<label>.key`, mode 0600, libp2p's
 * protobuf encoding), written to a temporary file and renamed, so a crash never leaves half a key.
 * `lock(label)` writes `<label>.lock` holding the holder's pid; a lock whose process has exited
 * is taken over.
 */
export function fileKeyStore (init: FileKeyStoreInit): KeyStore {
  if (typeof init?.dir !== 'string' || init.dir === '') {
    throw new TypeError(`fileKeyStore: dir must be a folder path, got ${JSON.stringify(init?.dir)}`)
  }
  const dir = init.dir
  let closed = false
  let ready: Promise<void> | undefined

  const open_ = async (): Promise<void> => {
    if (closed) throw new InvalidStateError('fileKeyStore is closed')
    ready ??= mkdir(dir, { recursive: true, mode: 0o700 }).then(() => undefined)
    await ready
  }
  const pathOf = (label: string): string => join(dir, checkKeyLabel(label) + SUFFIX)

  return {
    async get (label: string, options?: AbortOptions): Promise<Ed25519PrivateKey | undefined> {
      const file = pathOf(label)
      await open_()
      options?.signal?.throwIfAborted()
      let bytes: Uint8Array
      try {
        bytes = await readFile(file, options?.signal != null ? { signal: options.signal } : {})
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
        throw err
      }
      try {
        return importPrivateKey(bytes)
      } catch (err) {
        throw new CorruptKeyError(`key file ${file} does not hold an Ed25519 private key`, { cause: err })
      }
    },

    async put (label: string, key: Ed25519PrivateKey, options?: AbortOptions): Promise<void> {
      const file = pathOf(label)
      checkPrivateKey(label, key)
      await open_()
      options?.signal?.throwIfAborted()
      const tmp = `${file}.${process.pid}.${Date.now()}.tmp`
      const fh = await open(tmp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600)
      try {
        await fh.writeFile(exportPrivateKey(key))
        await fh.sync()
      } finally {
        await fh.close()
      }
      await chmod(tmp, 0o600)
      await rename(tmp, file)
    },

    async delete (label: string): Promise<boolean> {
      const file = pathOf(label)
      await open_()
      try {
        await rm(file)
        return true
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
        throw err
      }
    },

    async list (): Promise<string[]> {
      await open_()
      const names = await readdir(dir)
      return names.filter((n) => n.endsWith(SUFFIX)).map((n) => n.slice(0, -SUFFIX.length)).sort()
    },

    async lock (label: string, options?: AbortOptions): Promise<KeyLock> {
      const file = join(dir, checkKeyLabel(label) + LOCK_SUFFIX)
      await open_()
      // twice at most: once more after taking over a lock whose holder has exited
      for (let attempt = 0; attempt < 2; attempt++) {
        options?.signal?.throwIfAborted()
        // the pid is written to a file of our own, then linked into place: link() fails when the
        // lock exists, and a reader never sees a lock file without its pid
        const tmp = `${file}.${process.pid}.${Date.now()}.tmp`
        await writeFile(tmp, `${process.pid}\n`, { mode: 0o600 })
        try {
          await link(tmp, file)
          return fileLock(label, file)
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
        } finally {
          await rm(tmp, { force: true })
        }
        const holder = await lockHolder(file)
        if (holder !== undefined && isAlive(holder)) {
          const who = holder === process.pid ? 'another client in this process' : `process ${holder}`
          throw new KeyInUseError(label, `key "${label}" in ${dir} is in use by ${who} (lock file ${file}); stop that client first, or give this one another keyLabel`)
        }
        // the holder exited without releasing it (a crash, a kill): the lock is stale
        await rm(file, { force: true })
      }
      throw new KeyInUseError(label, `key "${label}" in ${dir}: its lock file ${file} was taken again while a stale one was cleared; try again`)
    },

    async close (): Promise<void> {
      closed = true
    }
  }
}

function fileLock (label: string, file: string): KeyLock {
  let released: Promise<void> | undefined
  return {
    label,
    async release (): Promise<void> {
      released ??= (async () => {
        // only our own lock: a file holding another pid was taken over after ours was removed
        if (await lockHolder(file) === process.pid) await rm(file, { force: true })
      })()
      await released
    }
  }
}

/** The pid in a lock file; undefined when the file is gone or holds no pid. */
async function lockHolder (file: string): Promise<number | undefined> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  const pid = Number(text.trim())
  return Number.isInteger(pid) && pid > 0 ? pid : undefined
}

function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: it exists, under another user
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
