import type { AbortOptions, Ed25519PrivateKey } from '@libp2p/interface'

/**
 * Where a device keeps its identity keys. Keys never leave it except through an explicit
 * export. Implementations, both from `@auralink/identity/keystore` (the `exports` conditions
 * pick one): `fileKeyStore` in Node, `idbKeyStore` (IndexedDB) in browsers. All run the same compliance suite
 * (`@auralink/identity/compliance`).
 */
export interface KeyStore {
  /** The key stored under `label`, or undefined. Throws CorruptKeyError when the entry is not a key. */
  get(label: string, options?: AbortOptions): Promise<Ed25519PrivateKey | undefined>
  /** Stores `key` under `label`, replacing any key there. */
  put(label: string, key: Ed25519PrivateKey, options?: AbortOptions): Promise<void>
  /** Removes the key under `label`; true when there was one. */
  delete(label: string, options?: AbortOptions): Promise<boolean>
  /** Every label, sorted. */
  list(options?: AbortOptions): Promise<string[]>
  /** Releases the store; later calls throw InvalidStateError. Idempotent. */
  close(): Promise<void>
  /**
   * Claims the key under `label` for one user at a time (one AuraLink client), across tabs or
   * processes where the store is shared: a lock file holding the owner's pid in Node, a Web Lock in
   * browsers. Rejects with KeyInUseError while another holder has it. Optional: a store without it
   * gives no such guard.
   */
  lock?(label: string, options?: AbortOptions): Promise<KeyLock>
}

/** A claim on one key of a store (`KeyStore.lock`); held until `release()`. */
export interface KeyLock {
  readonly label: string
  /** Gives the claim up. Idempotent. */
  release(): Promise<void>
}

const LABEL = /^[A-Za-z0-9@._-]{1,64}$/

/** Key labels: 1 to 64 of A-Z a-z 0-9 @ . _ -, and not "." or "..". AuraIDs are valid labels. */
export function checkKeyLabel (label: string): string {
  if (typeof label !== 'string' || !LABEL.test(label) || label === '.' || label === '..') {
    throw new TypeError(`key label must be 1-64 of A-Z a-z 0-9 @ . _ -, got ${JSON.stringify(label)}`)
  }
  return label
}

/** Throws a TypeError naming `label` unless `key` is an Ed25519 private key (a public key has the same `type`). */
export function checkPrivateKey (label: string, key: unknown): void {
  const k = key as { type?: unknown } | null | undefined
  if (k?.type !== 'Ed25519' || !('publicKey' in k)) {
    const got = k?.type === 'Ed25519' ? 'an Ed25519 public key' : String(k?.type ?? (key === null ? 'null' : typeof key))
    throw new TypeError(`put("${label}"): key must be an Ed25519 private key, got ${got}`)
  }
}
