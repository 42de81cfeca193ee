import { generateIdentityKey } from '@auralink/identity'
import { defaultKeyStore } from '@auralink/identity/keystore'
import { DEFAULT_KEY_LABEL } from './constants.js'
import type { AuraLinkInit } from './client-init.js'
import type { Ed25519PrivateKey, KeyLock } from '@auralink/identity'
import type { AbortOptions } from '@libp2p/interface'

/** The client's identity key, and what gives up its hold on the key store when the client stops. */
export interface Identity {
  key: Ed25519PrivateKey
  release(): Promise<void>
}

/**
 * The identity key: `init.identity`; a new key when `init.keyStore` is null; else the key under
 * `keyLabel` in the store (the default store when none is given), made and saved the first time,
 * and locked until the client stops (KeyInUseError while another client holds it).
 */
export async function openIdentity (init: AuraLinkInit, options: AbortOptions): Promise<Identity> {
  const none = async (): Promise<void> => {}
  if (init.identity !== undefined) {
    if (init.identity?.type !== 'Ed25519') throw new TypeError('AuraLink.create(init): init.identity must be an Ed25519 private key')
    return { key: init.identity, release: none }
  }
  if (init.keyStore === null) return { key: await generateIdentityKey(), release: none }
  if (init.keyStore !== undefined && (typeof init.keyStore !== 'object' || typeof init.keyStore.get !== 'function' || typeof init.keyStore.put !== 'function')) {
    throw new TypeError(`AuraLink.create(init): init.keyStore must be a KeyStore (fileKeyStore, idbKeyStore) or null, got ${typeof init.keyStore}`)
  }
  const label = init.keyLabel ?? DEFAULT_KEY_LABEL
  // the default store is this client's own: it is closed when the client stops
  const owned = init.keyStore === undefined
  const store = init.keyStore ?? defaultKeyStore()
  let lock: KeyLock | undefined
  const release = async (): Promise<void> => {
    try {
      await lock?.release()
    } finally {
      if (owned) await store.close()
    }
  }
  try {
    lock = await store.lock?.(label, options)
    let key = await store.get(label, options)
    if (key === undefined) {
      key = await generateIdentityKey()
      await store.put(label, key, options)
    }
    let released: Promise<void> | undefined
    return { key, release: async () => { released ??= release(); await released } }
  } catch (err) {
    await release()
    throw err
  }
}
