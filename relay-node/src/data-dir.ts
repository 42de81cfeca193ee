import { constants } from 'node:fs'
import { access, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { generateIdentityKey } from '@auralink/identity'
import { fileKeyStore } from '@auralink/identity/keystore'
import { KEY_FILE, KEY_LABEL } from './constants.js'
import { DataDirError } from './errors.js'
import type { PrivateKey } from '@libp2p/interface'

// The relay's data dir: made (0700) and checked writable, and the relay key kept in it.

/**
 * Loads the relay's identity key from the data dir, or makes and stores one: the same 0600,
 * write-then-rename key file that @auralink/identity's file key store keeps for peers
 * (`<dataDir>/relay.key`).
 */
export async function loadOrCreateKey (dataDir: string): Promise<PrivateKey> {
  const keys = fileKeyStore({ dir: dataDir })
  const file = join(dataDir, KEY_FILE)
  let key
  try {
    key = await keys.get(KEY_LABEL)
  } catch (err) {
    throw new DataDirError(`cannot read the relay key ${file}: ${(err as Error).message}`, { cause: err })
  }
  if (key !== undefined) return key
  key = await generateIdentityKey()
  try {
    await keys.put(KEY_LABEL, key)
  } catch (err) {
    throw new DataDirError(`cannot write the relay key ${file}: ${osReason(err)}`, { cause: err })
  }
  return key
}

/** The OS's reason in words, with its code: "a part of the path is a file (ENOTDIR)". */
export function osReason (err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code
  const words: Record<string, string> = {
    ENOTDIR: 'a part of the path is a file',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'read-only file system',
    ENOSPC: 'no space left on device',
    EEXIST: 'a file is in the way'
  }
  return code !== undefined && words[code] !== undefined ? `${words[code]} (${code})` : (err as Error).message
}

/** Makes the data dir (0700) if missing and checks it is writable; DataDirError naming the OS's reason. */
export async function prepareDataDir (dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 })
    await access(dir, constants.W_OK)
  } catch (err) {
    throw new DataDirError(`cannot use data dir ${dir}: ${osReason(err)}`, { cause: err })
  }
}
