import { constants } from 'node:fs'
import { chmod, mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { CorruptKeyError, InvalidStateError, UnsupportedPlatformError } from './errors.js'
import { exportPrivateKey, importPrivateKey } from './keys.js'
import { checkKeyLabel, checkPrivateKey } from './keystore.js'
import type { KeyStore } from './keystore.js'
import type * as BrowserEntry from './keystore.browser.js'
import type { AbortOptions, Ed25519PrivateKey } from '@libp2p/interface'

export type { KeyStore } from './keystore.js'
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

/**
 * A key store in a folder: each key in its own file (`<label>.key`, mode 0600, libp2p's
 * protobuf encoding), written to a temporary file and renamed, so a crash never leaves half a key.
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

    async close (): Promise<void> {
      closed = true
    }
  }
}
